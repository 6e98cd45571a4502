// The retry policy: exponential backoff with jitter and the outcome → state decision.
#include "hookd/worker/retry.hpp"

#include <algorithm>
#include <cmath>

namespace hookd::worker {

std::chrono::milliseconds backoff(const config::RetryConfig& policy, std::uint32_t attempt,
                                  double unit) {
  const double initial = static_cast<double>(policy.initial_backoff.count());
  const double cap =
      static_cast<double>(std::max(policy.max_backoff, policy.initial_backoff).count());
  const double exponent = static_cast<double>(std::max<std::uint32_t>(attempt, 1) - 1);
  // pow overflows to inf for large attempts, which min() then caps.
  const double ceiling = std::min(cap, initial * std::pow(policy.multiplier, exponent));
  double wait = ceiling;
  if (policy.jitter == config::RetryConfig::Jitter::full) {
    wait = initial + std::clamp(unit, 0.0, 1.0) * (ceiling - initial);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(wait)));
}

outbox::DeliveryResult decide(const Attempt& a, const config::RetryConfig& policy, double unit,
                              std::uint32_t max_crashes) {
  using Outcome = outbox::DeliveryResult::Outcome;
  using State = outbox::DeliveryResult::State;
  outbox::DeliveryResult r;
  r.id = a.delivery_id;
  r.attempt = a.attempt;
  r.outcome = a.outcome;
  r.started_at_us = a.started_at_us;
  r.finished_at_us = a.finished_at_us;
  r.error = a.message;
  switch (a.outcome) {
    case Outcome::ok:
      r.state = State::done;  // the plugin's message, if any, goes to the attempt history
      return r;
    case Outcome::fail:
      r.state = State::dead;
      if (r.error.empty()) r.error = "the handler failed the delivery";
      return r;
    case Outcome::released:
      r.state = State::pending;
      r.scheduled_at_us = a.finished_at_us + std::chrono::microseconds(a.retry_after).count();
      return r;
    case Outcome::crashed:
      r.count_crash = a.count_crash;
      if (r.error.empty()) r.error = "the plugin host died during the call";
      if (a.count_crash && a.crashes_before + 1 >= max_crashes) {
        r.state = State::dead;
        r.error = "quarantined: the plugin host died " + std::to_string(a.crashes_before + 1) +
                  " times while running this delivery alone (workers.max_crashes); last: " +
                  r.error;
        return r;
      }
      break;
    case Outcome::retry:
    case Outcome::timeout:
      break;
  }
  if (r.error.empty()) r.error = "the handler asked for a retry";
  if (a.attempt >= policy.max_attempts) {
    r.state = State::dead;
    r.error = "gave up after " + std::to_string(a.attempt) + " attempts: " + r.error;
    return r;
  }
  const auto wait = a.retry_after.count() > 0 ? a.retry_after : backoff(policy, a.attempt, unit);
  r.state = State::pending;
  r.scheduled_at_us = a.finished_at_us + std::chrono::microseconds(wait).count();
  return r;
}

}  // namespace hookd::worker
