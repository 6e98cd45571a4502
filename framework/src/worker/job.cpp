// One attempt of a claimed delivery: the plugin's view of the event, the call, the outcome.
#include "job.hpp"

#include <chrono>
#include <exception>
#include <vector>

namespace hookd::worker {
Attempt run_attempt(const outbox::ClaimedDelivery& d, const plugin::Instance& instance) {
  using Outcome = outbox::DeliveryResult::Outcome;
  std::vector<plugin::Header> headers;
  headers.reserve(d.headers.size());
  for (const auto& h : d.headers) headers.push_back({h.name, h.value});
  plugin::Event event{d.event_id, d.route, d.type, d.received_at_us, d.attempt, headers, d.body};

  Attempt a;
  a.delivery_id = d.id;
  a.attempt = d.attempt;
  a.started_at_us = outbox::unix_now_us();
  try {
    // The loader turns anything the plugin does into a Result; this guards the host side.
    plugin::Result r = instance.handle(event);
    a.message = std::move(r.message);
    a.retry_after = r.retry_after;
    switch (r.outcome) {
      case plugin::Outcome::ok:
        a.outcome = Outcome::ok;
        break;
      case plugin::Outcome::fail:
        a.outcome = Outcome::fail;
        break;
      case plugin::Outcome::retry:
        a.outcome = Outcome::retry;
        break;
    }
  } catch (const std::exception& e) {
    a.outcome = Outcome::retry;
    a.message = std::string("the handler call failed: ") + e.what();
  } catch (...) {
    a.outcome = Outcome::retry;
    a.message = "the handler call failed with an unknown exception";
  }
  a.finished_at_us = outbox::unix_now_us();
  return a;
}

}  // namespace hookd::worker
