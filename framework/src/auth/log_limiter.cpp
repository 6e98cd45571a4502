// LogLimiter: one line per interval, the rest counted.
#include <utility>

#include "hookd/auth/log_limiter.hpp"

namespace hookd::auth {

std::optional<std::size_t> LogLimiter::admit(TimePoint now) {
  std::lock_guard lock(mutex_);
  // A clock that went backwards opens the next interval at once rather than never.
  if (last_ && now >= *last_ && now < *last_ + interval_) {
    ++suppressed_;
    return std::nullopt;
  }
  last_ = now;
  return std::exchange(suppressed_, 0);
}

}  // namespace hookd::auth
