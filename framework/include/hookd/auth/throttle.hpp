// Throttle: a token bucket of authentication failures per key (a route and a source
// address, an OAuth client id, ...), so that credentials cannot be guessed at network speed.
// See docs/security.md ("Brute-force throttling").
// Thread-safety: every member locks an internal mutex; one Throttle serves all I/O threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookd::auth {

class Throttle {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Limits {
    // A key may fail `burst` times in a row; then it is refused until it has earned a try
    // back: one per `refill`. burst 0 turns the throttle off.
    std::size_t burst = 10;
    std::chrono::milliseconds refill{6000};
    // Keys kept at most. To make room, refilled keys go first, then the one with the least
    // debt; a key that is blocking is never evicted, so filling the table with new keys
    // cannot unblock it. When every kept key is blocking, new keys share one overflow bucket.
    std::size_t max_entries = 100000;
  };

  explicit Throttle(Limits limits);

  // How long `key` must wait before it is heard again; zero when it is not blocked.
  std::chrono::seconds retry_after(std::string_view key, TimePoint now) const;
  // Counts one failure; true when the key is blocked from now on.
  bool record_failure(std::string_view key, TimePoint now);
  void forget(std::string_view key);
  std::size_t size() const;  // keys kept (the overflow bucket not included)
  // True when no key is kept, so nothing can be blocked: a lock-free check that spares the
  // callers building a key for every request while nobody is failing.
  bool empty() const { return kept_.load(std::memory_order_relaxed) == 0; }
  const Limits& limits() const { return limits_; }

  // The key of a peer address: IPv4 as is, IPv6 by its first `ipv6_prefix` bits (one site
  // usually holds a whole /48: server.limits.ipv6_prefix), v4-mapped IPv6 as the IPv4
  // address.
  static std::string peer_key(std::string_view address, unsigned ipv6_prefix);

 private:
  // GCRA form of the bucket: every failure moves `tat` (the theoretical time at which the
  // bucket is full again) one `refill` later; a key blocks while tat - now exceeds
  // (burst - 1) refills.
  using Tat = TimePoint;
  bool blocking(Tat tat, TimePoint now) const;
  std::chrono::seconds wait(Tat tat, TimePoint now) const;
  Tat charge(Tat tat, TimePoint now) const;
  void drop_refilled(TimePoint now);
  bool make_room(TimePoint now);  // false when every kept key is blocking

  Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Tat> tats_;
  std::multimap<Tat, std::string> by_tat_;  // the same keys, least debt first
  Tat overflow_{};                          // keys that found no room
  std::atomic<std::size_t> kept_{0};        // tats_.size(), readable without the lock
};

// What a route's failed authentications count in: shared by all routes, kept across
// reloads (server.limits.auth_throttle; docs/security.md, "Brute-force throttling").
struct RouteThrottles {
  RouteThrottles(Throttle::Limits per_source, Throttle::Limits per_credential,
                 unsigned ipv6_prefix)
      : sources(per_source), credentials(per_credential), ipv6_prefix(ipv6_prefix) {}

  Throttle sources;      // per source address (IPv6 by its prefix) and route
  Throttle credentials;  // per Basic user name, over all routes and sources: a ceiling
  unsigned ipv6_prefix;
};

}  // namespace hookd::auth
