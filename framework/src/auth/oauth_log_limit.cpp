// LogLimiter: keeps the token endpoint's failure warnings to about one line per second,
// with the count of those left out, however fast a guesser sends.
#include <utility>

#include "oauth_internal.hpp"

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
