// Changes to the count tables (delivery_counts, event_counts), gathered over a transaction
// and written at its end with one upsert per (route, handler) and per route: the queue
// gauges and `hookd stats` read the tables instead of counting millions of rows. Kept by
// hookd's own writers (the server's writer, `hookd replay`) rather than by triggers, which
// cost about 15,000 instructions per row change (a sub-program per row), a third more per
// append. Not thread-safe: one per connection.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/outbox/sqlite.hpp"

namespace hookd::outbox {

enum class DeliveryState { pending, running, done, dead };
DeliveryState delivery_state(std::string_view name);  // throws StoreError for another name
const char* state_name(DeliveryState state);

// What a transaction changed in the counts (a value: copied before a savepoint and put
// back when the part rolls back).
class CountDeltas {
 public:
  void deliveries(std::string_view route, std::string_view handler, DeliveryState state,
                  std::int64_t n);
  void moved(std::string_view route, std::string_view handler, DeliveryState from,
             DeliveryState to, std::int64_t n = 1) {
    deliveries(route, handler, from, -n);
    deliveries(route, handler, to, n);
  }
  void events(std::string_view route, std::int64_t n, std::int64_t unmatched);
  void clear();

 private:
  friend class CountTables;
  struct PairCounts {
    std::string route, handler;
    std::array<std::int64_t, 4> n{};  // by DeliveryState
  };
  struct RouteCounts {
    std::string route;
    std::int64_t events = 0, unmatched = 0;
  };
  std::vector<PairCounts> pairs_;
  std::vector<RouteCounts> routes_;
};

// The upserts into one connection's count tables.
class CountTables {
 public:
  explicit CountTables(sqlite3* db);
  // Writes `deltas` (inside the caller's transaction) and clears them. Throws StoreError.
  void write(CountDeltas& deltas);

 private:
  sqlite3* db_;
  Statement pair_upsert_, route_upsert_;
};

}  // namespace hookd::outbox
