// When a plugin host that died may be started again: at once after the first death, then
// with a delay that doubles per further death (capped), back to "at once" after the host
// had been healthy for a while. Time is passed in, so tests do not sleep.
//
// Thread-safety: none; plugin::Host calls it under its mutex.
#pragma once

#include <chrono>
#include <cstdint>

namespace hookd::plugin {

struct RestartBackoffOptions {
  std::chrono::milliseconds first_delay{100};  // the delay after the second death in a row
  std::chrono::milliseconds max_delay{30'000};
  std::chrono::milliseconds healthy_after{10'000};  // ready this long: forget the deaths
};

class RestartBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RestartBackoff(RestartBackoffOptions options = {}) : options_(options) {}

  // A host died (or failed to start). `ready_since` is when it answered Ready (nullptr
  // when it never did). Returns the delay before the next start is allowed.
  std::chrono::milliseconds on_death(Clock::time_point now, const Clock::time_point* ready_since) {
    if (ready_since != nullptr && now - *ready_since >= options_.healthy_after) deaths_ = 0;
    ++deaths_;
    auto delay = std::chrono::milliseconds(0);
    if (deaths_ >= 2) {
      delay = options_.first_delay;
      for (std::uint32_t i = 2; i < deaths_ && delay < options_.max_delay; ++i) delay *= 2;
      if (delay > options_.max_delay) delay = options_.max_delay;
    }
    not_before_ = now + delay;
    return delay;
  }

  // Whether a start is allowed at `now`; otherwise how long until it is.
  std::chrono::milliseconds wait_at(Clock::time_point now) const {
    if (now >= not_before_) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(not_before_ - now);
  }

  std::uint32_t deaths_in_a_row() const noexcept { return deaths_; }

 private:
  RestartBackoffOptions options_;
  std::uint32_t deaths_ = 0;
  Clock::time_point not_before_{};
};

}  // namespace hookd::plugin
