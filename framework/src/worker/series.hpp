// The metric series of one (route, handler) pair, looked up in the registry once (every
// lookup takes the registry's lock), then updated lock-free per attempt. Private to worker/.
#pragma once

#include <array>
#include <string>

#include "hookd/metrics/registry.hpp"
#include "hookd/outbox/deliveries.hpp"

namespace hookd::worker {

struct Series {
  Series(metrics::Registry& r, const std::string& route, const std::string& handler) {
    const metrics::Labels labels{{"route", route}, {"handler", handler}};
    for (auto outcome :
         {outbox::DeliveryResult::Outcome::ok, outbox::DeliveryResult::Outcome::retry,
          outbox::DeliveryResult::Outcome::fail, outbox::DeliveryResult::Outcome::timeout,
          outbox::DeliveryResult::Outcome::crashed}) {
      metrics::Labels with_outcome = labels;
      with_outcome.emplace_back("outcome", outbox::outcome_name(outcome));
      attempts[static_cast<std::size_t>(outcome)] =
          &r.counter("hookd_delivery_attempts_total", "Delivery attempts by handler and outcome",
                     with_outcome);
    }
    retries = &r.counter("hookd_retries_scheduled_total", "Failed attempts scheduled to run again",
                         labels);
    dead = &r.counter("hookd_deliveries_dead_total", "Deliveries that ended dead", labels);
    done = &r.counter("hookd_deliveries_done_total", "Deliveries that ended done", labels);
    duration = &r.histogram("hookd_handler_duration_seconds", "Time of one handler call",
                            metrics::exponential_buckets(0.0005, 2, 18), labels);
  }
  // By DeliveryResult::Outcome; `released` (no attempt made) is never counted.
  std::array<metrics::Counter*, 6> attempts{};
  metrics::Counter* retries;
  metrics::Counter* dead;
  metrics::Counter* done;
  metrics::Histogram* duration;
};

}  // namespace hookd::worker
