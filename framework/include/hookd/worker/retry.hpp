// The retry policy: what an attempt's outcome does to its delivery (done, pending again
// after a backoff, or dead), as a fenced result for the outbox writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "hookd/config/config.hpp"
#include "hookd/outbox/deliveries.hpp"

namespace hookd::worker {

// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
// ceiling = min(max_backoff, initial_backoff * multiplier^(attempt-1)); with full jitter
// uniform in [initial_backoff, ceiling] (so never sooner than initial_backoff), without
// jitter the ceiling itself. `unit` is a random number in [0, 1).
std::chrono::milliseconds backoff(const config::RetryConfig& policy, std::uint32_t attempt,
                                  double unit);

// One attempt as the worker saw it.
struct Attempt {
  std::int64_t delivery_id = 0;
  std::uint32_t attempt = 1;
  outbox::DeliveryResult::Outcome outcome = outbox::DeliveryResult::Outcome::retry;
  // The handler's own delay (retry), or when a released delivery may run again; 0: none.
  std::chrono::milliseconds retry_after{0};
  std::string message;
  std::int64_t started_at_us = 0;
  std::int64_t finished_at_us = 0;
  // crashed only: whether the crash is blamed on this delivery (it was the host's only
  // call in flight), and how many crashes were blamed on it before this attempt.
  bool count_crash = false;
  std::uint32_t crashes_before = 0;
};

// ok → done; fail → dead; retry, timeout and crashed → pending after the handler's delay
// when it gave one, else after backoff(); dead instead once `attempt` reached max_attempts,
// or for crashed once `max_crashes` crashes were blamed on the delivery (the poison event
// is quarantined until `hookd replay`); released → pending after `retry_after`, no
// attempt used.
outbox::DeliveryResult decide(const Attempt& attempt, const config::RetryConfig& policy,
                              double unit,
                              std::uint32_t max_crashes = config::WorkersConfig{}.max_crashes);

}  // namespace hookd::worker
