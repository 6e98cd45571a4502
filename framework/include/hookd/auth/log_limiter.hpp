// LogLimiter: at most one log line per interval for one kind of event (a refused request,
// a failed client authentication), with the count of the lines left out, however fast a
// sender fails. Thread-safe (a mutex per admit(): it is asked on the failure paths only).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

namespace hookd::auth {

class LogLimiter {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  explicit LogLimiter(std::chrono::milliseconds interval) : interval_(interval) {}
  // Whether to write a line now: the number of lines suppressed since the last one
  // written, or nullopt to leave this one out.
  std::optional<std::size_t> admit(TimePoint now);

 private:
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::optional<TimePoint> last_;
  std::size_t suppressed_ = 0;
};

}  // namespace hookd::auth
