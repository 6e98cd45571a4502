// Throttle: the failure token buckets (GCRA), their bounded table and the peer keys.
#include "hookd/auth/throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace hookd::auth {

Throttle::Throttle(Limits limits) : limits_(limits) {
  if (limits_.refill.count() <= 0) limits_.burst = 0;  // no refill: nothing to measure against
}

bool Throttle::blocking(Tat tat, TimePoint now) const {
  if (limits_.burst == 0) return false;
  return tat - now > limits_.refill * static_cast<long>(limits_.burst - 1);
}

std::chrono::seconds Throttle::wait(Tat tat, TimePoint now) const {
  if (!blocking(tat, now)) return std::chrono::seconds(0);
  // A clock that went backwards must not stretch the wait beyond one refill.
  const auto debt = std::min<std::chrono::system_clock::duration>(
      tat - now, limits_.refill * static_cast<long>(limits_.burst));
  const auto left = debt - limits_.refill * static_cast<long>(limits_.burst - 1);
  return std::max(std::chrono::ceil<std::chrono::seconds>(left), std::chrono::seconds(1));
}

Throttle::Tat Throttle::charge(Tat tat, TimePoint now) const {
  const Tat next = std::max(tat, now) + limits_.refill;
  return std::min(next, now + limits_.refill * static_cast<long>(limits_.burst));
}

std::chrono::seconds Throttle::retry_after(std::string_view key, TimePoint now) const {
  if (limits_.burst == 0) return std::chrono::seconds(0);
  std::lock_guard lock(mutex_);
  if (auto it = tats_.find(std::string(key)); it != tats_.end()) return wait(it->second, now);
  // An unknown key is charged to the overflow bucket while no key could be evicted for it.
  const bool full = tats_.size() >= limits_.max_entries &&
                    (by_tat_.empty() || blocking(by_tat_.begin()->first, now));
  return full ? wait(overflow_, now) : std::chrono::seconds(0);
}

void Throttle::drop_refilled(TimePoint now) {
  while (!by_tat_.empty() && by_tat_.begin()->first <= now) {
    tats_.erase(by_tat_.begin()->second);
    by_tat_.erase(by_tat_.begin());
  }
  kept_.store(tats_.size(), std::memory_order_relaxed);
}

bool Throttle::make_room(TimePoint now) {
  while (tats_.size() >= limits_.max_entries) {
    if (by_tat_.empty() || blocking(by_tat_.begin()->first, now)) return false;
    tats_.erase(by_tat_.begin()->second);
    by_tat_.erase(by_tat_.begin());
  }
  return true;
}

bool Throttle::record_failure(std::string_view key, TimePoint now) {
  if (limits_.burst == 0) return false;
  std::lock_guard lock(mutex_);
  drop_refilled(now);
  std::string name(key);
  auto it = tats_.find(name);
  if (it == tats_.end()) {
    if (limits_.max_entries == 0 || !make_room(now)) {
      kept_.store(tats_.size(), std::memory_order_relaxed);
      overflow_ = charge(overflow_, now);
      return blocking(overflow_, now);
    }
    it = tats_.emplace(name, now).first;
  } else {
    auto range = by_tat_.equal_range(it->second);
    for (auto i = range.first; i != range.second; ++i) {
      if (i->second == name) {
        by_tat_.erase(i);
        break;
      }
    }
  }
  it->second = charge(it->second, now);
  by_tat_.emplace(it->second, std::move(name));
  kept_.store(tats_.size(), std::memory_order_relaxed);
  return blocking(it->second, now);
}

void Throttle::forget(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = tats_.find(std::string(key));
  if (it == tats_.end()) return;
  auto range = by_tat_.equal_range(it->second);
  for (auto i = range.first; i != range.second; ++i) {
    if (i->second == it->first) {
      by_tat_.erase(i);
      break;
    }
  }
  tats_.erase(it);
  kept_.store(tats_.size(), std::memory_order_relaxed);
}

std::size_t Throttle::size() const {
  std::lock_guard lock(mutex_);
  return tats_.size();
}

std::string Throttle::peer_key(std::string_view address, unsigned ipv6_prefix) {
  std::string text(address);
  std::array<unsigned char, 16> v6{};
  if (::inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return text;  // IPv4 or other
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(v6.data(), kMapped.data(), kMapped.size()) == 0) {
    ::inet_ntop(AF_INET, v6.data() + 12, buf, sizeof buf);
    return buf;
  }
  const unsigned bits = std::min(ipv6_prefix, 128u);
  for (unsigned i = 0; i < 16; ++i) {
    if (i * 8 >= bits) {
      v6[i] = 0;
    } else if (i * 8 + 8 > bits) {
      v6[i] = static_cast<unsigned char>(v6[i] & (0xFFu << (8 - (bits - i * 8))));
    }
  }
  ::inet_ntop(AF_INET6, v6.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(bits);
}

}  // namespace hookd::auth
