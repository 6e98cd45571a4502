// The read side of the outbox for the operator CLI (events list/show, stats) and replay,
// the one write the CLI makes. All of it works while the server runs on the same file.
// Thread-safety: the functions use only the connection they are given (one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hookd/outbox/event.hpp"
#include "hookd/outbox/sqlite.hpp"

struct sqlite3;

namespace hookd::outbox {

// A mistake of the operator (unknown or ambiguous event id, bad filter, no store file):
// the CLI answers it with exit code 1. SQLite failures stay StoreError (exit 2).
class QueryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Opens the store at `path` for the CLI without ever creating or migrating it: throws
// QueryError "no store at PATH: has the server run?" when the file is missing, SchemaError
// when its schema is not the one this build knows, StoreError otherwise. Read-only
// connections use SQLITE_OPEN_READONLY. busy_timeout is set so that a short write lock of
// the server's writer is waited for, not reported. The caller owns the connection.
Connection open_store(const std::string& path, bool writable);

// One attempt of a delivery, from the bounded history (the latest kAttemptHistory).
struct AttemptInfo {
  std::int64_t attempt = 0;
  std::string outcome;  // ok, retry, fail, timeout, lease_expired
  std::int64_t started_at_us = 0;
  std::int64_t duration_us = 0;
  std::optional<std::string> error;
};

struct DeliveryInfo {
  std::int64_t id = 0;
  std::string handler;
  std::string state;  // pending, running, done, dead
  std::int64_t attempts = 0;
  std::optional<std::string> last_error;
  std::int64_t scheduled_at_us = 0;
  std::int64_t updated_at_us = 0;
  std::vector<AttemptInfo> history;  // get_event() only, oldest first
};

struct EventSummary {
  std::int64_t seq = 0;
  std::string route;
  std::string id;
  std::string type;
  bool test = false;
  bool unmatched = false;  // no handler's types matched: no deliveries
  std::int64_t received_at_us = 0;
  std::vector<DeliveryInfo> deliveries;  // in creation order
};

struct EventDetail : EventSummary {
  std::vector<Header> headers;  // as stored (already redacted)
  std::string body;             // the bytes exactly as received
};

struct EventFilter {
  std::optional<std::string> route;
  std::optional<std::string> state;  // events having at least one delivery in this state
  std::optional<std::string> type;   // exact, or `prefix.*`
  std::int64_t limit = 50;           // 0: no limit
};

// Newest first (by commit order). Throws QueryError for an unknown state name.
std::vector<EventSummary> list_events(sqlite3* db, const EventFilter& filter);

// One event by id. An id is unique only within a route: when it exists on several routes
// and `route` is not given, throws QueryError naming them (use --route). Unknown: QueryError.
EventDetail get_event(sqlite3* db, const std::string& id, const std::optional<std::string>& route);

struct RouteStats {
  std::int64_t pending = 0;
  std::int64_t running = 0;
  std::int64_t done = 0;
  std::int64_t dead = 0;
  std::int64_t unmatched = 0;  // events that matched no handler
  std::int64_t events = 0;     // events stored
};

struct StoreStats {
  std::map<std::string, RouteStats> routes;  // routes that have events
  // now − received_at of the event of the oldest pending delivery (how long the oldest
  // unfinished work has waited since it arrived, retries included); nullopt: none pending.
  std::optional<double> oldest_pending_age_seconds;
};

StoreStats stats(sqlite3* db, std::int64_t now_us);

// What the queue gauges read every few seconds: deliveries by state over all routes and
// the oldest pending age. Cheaper than stats(): an index-only count on deliveries_due, no
// scan of events and no join except for the pending ones.
struct QueueStats {
  std::int64_t pending = 0, running = 0, done = 0, dead = 0;
  std::optional<double> oldest_pending_age_seconds;
};
QueueStats queue_stats(sqlite3* db, std::int64_t now_us);

struct ReplayRequest {
  std::vector<std::string> ids;      // event ids; their dead and done deliveries
  bool dead_only = false;            // instead of ids: every dead delivery ...
  std::optional<std::string> route;  // ... of this route (all routes when absent);
                                     // with ids: the route the ids belong to
  // Deliveries (dead_only) or events (ids) per write transaction: each holds the server's
  // writer off for milliseconds, however many deliveries move.
  std::size_t per_transaction = 500;
};

// Puts deliveries back to `pending`, due now, with `attempts` reset to 0 so the retry
// policy starts over; `last_error` is kept for reference until the next attempt. For ids
// only `dead` and `done` deliveries move (pending and running ones are left alone); with
// dead_only only `dead` ones, each at most once (in id order, so a delivery that dies again
// meanwhile is not replayed twice). Short BEGIN IMMEDIATE transactions of at most
// `per_transaction` fenced updates each. Returns how many deliveries moved. Throws
// QueryError for an unknown or ambiguous id, before anything changed.
std::size_t replay(sqlite3* db, const ReplayRequest& request, std::int64_t now_us);

// unix µs → "2026-11-28T13:34:08.123456Z".
std::string rfc3339_us(std::int64_t unix_us);

}  // namespace hookd::outbox
