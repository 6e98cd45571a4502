// The count tables' deltas: gathered per transaction, one upsert per key at its end.
#include "counts.hpp"

#include <fmt/format.h>

namespace hookd::outbox {
namespace {

constexpr const char* kStates[] = {"pending", "running", "done", "dead"};

constexpr std::string_view kPairUpsert =
    "INSERT INTO delivery_counts (route, handler, state, n) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (route, handler, state) DO UPDATE SET n = n + excluded.n";
constexpr std::string_view kRouteUpsert =
    "INSERT INTO event_counts (route, events, unmatched) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (route) DO UPDATE SET events = events + excluded.events, "
    "unmatched = unmatched + excluded.unmatched";

void step_done(sqlite3* db, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) raise(db, sqlite3_extended_errcode(db));
}

}  // namespace

DeliveryState delivery_state(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kStates[i]) return static_cast<DeliveryState>(i);
  }
  throw StoreError(SQLITE_MISMATCH, fmt::format("unknown delivery state '{}'", name));
}

const char* state_name(DeliveryState state) {
  return kStates[static_cast<int>(state)];
}

void CountDeltas::deliveries(std::string_view route, std::string_view handler,
                             DeliveryState state, std::int64_t n) {
  // A transaction touches a few pairs: a linear search beats hashing two strings.
  for (PairCounts& p : pairs_) {
    if (p.route == route && p.handler == handler) {
      p.n[static_cast<int>(state)] += n;
      return;
    }
  }
  PairCounts& p = pairs_.emplace_back();
  p.route = route;
  p.handler = handler;
  p.n[static_cast<int>(state)] = n;
}

void CountDeltas::events(std::string_view route, std::int64_t n, std::int64_t unmatched) {
  for (RouteCounts& r : routes_) {
    if (r.route == route) {
      r.events += n;
      r.unmatched += unmatched;
      return;
    }
  }
  routes_.push_back({std::string(route), n, unmatched});
}

CountTables::CountTables(sqlite3* db)
    : db_(db), pair_upsert_(prepare(db, kPairUpsert)), route_upsert_(prepare(db, kRouteUpsert)) {}

void CountTables::write(CountDeltas& deltas) {
  for (const CountDeltas::PairCounts& p : deltas.pairs_) {
    for (int i = 0; i < 4; ++i) {
      if (p.n[i] == 0) continue;
      sqlite3_stmt* s = pair_upsert_.get();
      sqlite3_bind_text(s, 1, p.route.data(), static_cast<int>(p.route.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, 2, p.handler.data(), static_cast<int>(p.handler.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(s, 3, kStates[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 4, p.n[i]);
      step_done(db_, s);
    }
  }
  for (const CountDeltas::RouteCounts& r : deltas.routes_) {
    if (r.events == 0 && r.unmatched == 0) continue;
    sqlite3_stmt* s = route_upsert_.get();
    sqlite3_bind_text(s, 1, r.route.data(), static_cast<int>(r.route.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r.events);
    sqlite3_bind_int64(s, 3, r.unmatched);
    step_done(db_, s);
  }
  deltas.clear();
}

void CountDeltas::clear() {
  pairs_.clear();
  routes_.clear();
}

}  // namespace hookd::outbox
