// AuthThrottle: failed client authentications per client id and per peer, in a bounded
// table, so that the token endpoint cannot be used to guess secrets at network speed.
#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>

#include "hookd/auth/oauth.hpp"

namespace hookd::auth {

bool AuthThrottle::expired(const Entry& e, TimePoint now) const {
  // A clock that went backwards ends the window too, rather than stretching it.
  return now >= e.start + limits_.window || now < e.start;
}

std::chrono::seconds AuthThrottle::retry_after(const std::string& key, TimePoint now) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::chrono::seconds(0);
  const Entry& e = *it->second;
  if (expired(e, now) || e.failures < limits_.max_failures) return std::chrono::seconds(0);
  auto left = e.start + limits_.window - now;
  auto secs = std::chrono::ceil<std::chrono::seconds>(left);
  return std::max(secs, std::chrono::seconds(1));
}

bool AuthThrottle::record_failure(const std::string& key, TimePoint now) {
  std::lock_guard lock(mutex_);
  while (!order_.empty() && expired(order_.front(), now)) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  auto it = index_.find(key);
  if (it != index_.end()) {
    Entry& e = *it->second;
    if (expired(e, now)) {
      e.start = now;
      e.failures = 0;
      order_.splice(order_.end(), order_, it->second);  // keep the list ordered by start
    }
    if (e.failures < limits_.max_failures) ++e.failures;
    return e.failures >= limits_.max_failures;
  }
  if (limits_.max_entries == 0) return false;
  while (index_.size() >= limits_.max_entries) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, now, 1});
  index_.emplace(key, std::prev(order_.end()));
  return 1 >= limits_.max_failures;
}

void AuthThrottle::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return;
  order_.erase(it->second);
  index_.erase(it);
}

std::size_t AuthThrottle::size() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

std::string AuthThrottle::peer_key(std::string_view address) {
  std::string text(address);
  std::array<unsigned char, 16> v6{};
  if (::inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return text;  // IPv4 or other
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(v6.data(), kMapped.data(), kMapped.size()) == 0) {
    ::inet_ntop(AF_INET, v6.data() + 12, buf, sizeof buf);
    return buf;
  }
  std::fill(v6.begin() + 8, v6.end(), 0);
  ::inet_ntop(AF_INET6, v6.data(), buf, sizeof buf);
  return std::string(buf) + "/64";
}

}  // namespace hookd::auth
