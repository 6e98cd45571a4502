// The CLI's queries on the outbox (events list/show, stats) and replay: short transactions
// on a connection of its own, next to the server's single writer.
#include "hookd/outbox/queries.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "hookd/outbox/headers_json.hpp"
#include "hookd/outbox/schema.hpp"
#include "counts.hpp"
#include "pragmas.hpp"

namespace hookd::outbox {
namespace {

void bind_optional(sqlite3_stmt* s, int index, const std::optional<std::string>& value) {
  if (value) {
    bind_text(s, index, *value);
  } else {
    sqlite3_bind_null(s, index);
  }
}

// Steps `s`; true for a row, false when done, StoreError otherwise.
bool step(sqlite3* db, sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(db, sqlite3_extended_errcode(db));
}

void check_state(const std::string& state) {
  static const char* const kStates[] = {"pending", "running", "done", "dead"};
  if (std::find(std::begin(kStates), std::end(kStates), state) == std::end(kStates)) {
    throw QueryError(
        fmt::format("unknown delivery state '{}': expected pending, running, done or dead", state));
  }
}

// Seq values per read transaction of `events list`.
constexpr std::int64_t kListWindow = 20000;

constexpr const char* kEventColumns =
    "SELECT seq, route, id, type, test, received_at, unmatched FROM events e ";

EventSummary read_summary(sqlite3_stmt* s) {
  EventSummary e;
  e.seq = sqlite3_column_int64(s, 0);
  e.route = column_text(s, 1);
  e.id = column_text(s, 2);
  e.type = column_text(s, 3);
  e.test = sqlite3_column_int(s, 4) != 0;
  e.received_at_us = sqlite3_column_int64(s, 5);
  e.unmatched = sqlite3_column_int(s, 6) != 0;
  return e;
}

std::vector<DeliveryInfo> deliveries_of(sqlite3* db, sqlite3_stmt* s, std::int64_t seq) {
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, seq);
  std::vector<DeliveryInfo> out;
  while (step(db, s)) {
    DeliveryInfo d;
    d.handler = column_text(s, 0);
    d.state = column_text(s, 1);
    d.attempts = sqlite3_column_int64(s, 2);
    if (sqlite3_column_type(s, 3) != SQLITE_NULL) d.last_error = column_text(s, 3);
    d.scheduled_at_us = sqlite3_column_int64(s, 4);
    d.updated_at_us = sqlite3_column_int64(s, 5);
    d.id = sqlite3_column_int64(s, 6);
    out.push_back(std::move(d));
  }
  return out;
}

Statement prepare_deliveries(sqlite3* db) {
  return prepare(db,
                 "SELECT handler, state, attempts, last_error, scheduled_at, updated_at, id "
                 "FROM deliveries WHERE event_seq = ?1 ORDER BY id");
}

void read_history(sqlite3* db, DeliveryInfo& d) {
  Statement s = prepare(db,
                        "SELECT attempt, outcome, started_at, finished_at - started_at, error "
                        "FROM attempts WHERE delivery_id = ?1 ORDER BY attempt");
  sqlite3_bind_int64(s.get(), 1, d.id);
  while (step(db, s.get())) {
    AttemptInfo a;
    a.attempt = sqlite3_column_int64(s.get(), 0);
    a.outcome = column_text(s.get(), 1);
    a.started_at_us = sqlite3_column_int64(s.get(), 2);
    a.duration_us = sqlite3_column_int64(s.get(), 3);
    if (sqlite3_column_type(s.get(), 4) != SQLITE_NULL) a.error = column_text(s.get(), 4);
    d.history.push_back(std::move(a));
  }
}

// The seq of event `id` (on `route` when given); QueryError when unknown or ambiguous.
std::int64_t resolve(sqlite3* db, const std::string& id, const std::optional<std::string>& route) {
  Statement s =
      prepare(db,
              "SELECT seq, route FROM events WHERE id = ?1 AND (?2 IS NULL OR route = ?2) "
              "ORDER BY route");
  bind_text(s.get(), 1, id);
  bind_optional(s.get(), 2, route);
  std::vector<std::pair<std::int64_t, std::string>> found;
  while (step(db, s.get()))
    found.emplace_back(sqlite3_column_int64(s.get(), 0), column_text(s.get(), 1));
  if (found.empty()) {
    throw QueryError(route ? fmt::format("no event '{}' on route '{}'", id, *route)
                           : fmt::format("no event '{}'", id));
  }
  if (found.size() > 1) {
    std::string routes;
    for (const auto& [seq, r] : found) routes += (routes.empty() ? "" : ", ") + r;
    throw QueryError(fmt::format(
        "event id '{}' exists on several routes ({}): say which with --route", id, routes));
  }
  return found.front().first;
}

}  // namespace

Connection open_store(const std::string& path, bool writable) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw QueryError(fmt::format("no store at {}: has the server run?", path));
  }
  Connection db = open_connection(path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  check_schema(db.get());
  return db;
}

std::vector<EventSummary> list_events(sqlite3* db, const EventFilter& filter) {
  if (filter.state) check_state(*filter.state);
  if (filter.limit < 0) throw QueryError("--limit must not be negative");
  std::optional<std::string> type_prefix;  // "invitation." for "invitation.*"
  if (filter.type && filter.type->size() >= 2 && filter.type->ends_with(".*")) {
    type_prefix = filter.type->substr(0, filter.type->size() - 1);
  }
  // Newest first, in windows of seq values, each read in a transaction of its own (one
  // snapshot for a window's events and their deliveries): a filter that matches little
  // would otherwise walk the whole table in one read transaction, and the server's WAL
  // cannot restart while a reader holds one.
  std::int64_t lowest = 0, upper = 0;  // [lowest, upper): the seqs as the walk starts
  {
    Transaction tx(db, "BEGIN");
    Statement bounds = prepare(db, "SELECT min(seq), max(seq) FROM events");
    if (step(db, bounds.get()) && sqlite3_column_type(bounds.get(), 0) != SQLITE_NULL) {
      lowest = sqlite3_column_int64(bounds.get(), 0);
      upper = sqlite3_column_int64(bounds.get(), 1) + 1;
    }
    tx.commit();
  }
  Statement s = prepare(
      db,
      std::string(kEventColumns) +
          "WHERE seq >= ?6 AND seq < ?7 AND (?1 IS NULL OR route = ?1) "
          "AND (?2 IS NULL OR type = ?2 OR (?3 IS NOT NULL AND substr(type, 1, length(?3)) = ?3)) "
          "AND (?4 IS NULL OR EXISTS (SELECT 1 FROM deliveries d "
          "WHERE d.event_seq = e.seq AND d.state = ?4)) "
          "ORDER BY seq DESC LIMIT ?5");
  Statement d = prepare_deliveries(db);
  std::vector<EventSummary> out;
  const auto wanted = static_cast<std::size_t>(filter.limit);
  while (upper > lowest && (wanted == 0 || out.size() < wanted)) {
    const std::int64_t lower = std::max(lowest, upper - kListWindow);
    Transaction tx(db, "BEGIN");
    sqlite3_reset(s.get());
    bind_optional(s.get(), 1, filter.route);
    bind_optional(s.get(), 2, filter.type);
    bind_optional(s.get(), 3, type_prefix);
    bind_optional(s.get(), 4, filter.state);
    sqlite3_bind_int64(s.get(), 5,
                       wanted == 0 ? -1 : static_cast<std::int64_t>(wanted - out.size()));
    sqlite3_bind_int64(s.get(), 6, lower);
    sqlite3_bind_int64(s.get(), 7, upper);
    const std::size_t first = out.size();
    while (step(db, s.get())) out.push_back(read_summary(s.get()));
    for (std::size_t i = first; i < out.size(); ++i) {
      out[i].deliveries = deliveries_of(db, d.get(), out[i].seq);
    }
    tx.commit();
    upper = lower;
  }
  return out;
}

EventDetail get_event(sqlite3* db, const std::string& id, const std::optional<std::string>& route) {
  Transaction tx(db, "BEGIN");
  std::int64_t seq = resolve(db, id, route);
  Statement s = prepare(db,
                        "SELECT seq, route, id, type, test, received_at, unmatched, headers, body "
                        "FROM events WHERE seq = ?1");
  sqlite3_bind_int64(s.get(), 1, seq);
  if (!step(db, s.get())) throw QueryError(fmt::format("no event '{}'", id));
  EventDetail e;
  static_cast<EventSummary&>(e) = read_summary(s.get());
  try {
    e.headers = headers_from_json(column_text(s.get(), 7));
  } catch (const std::invalid_argument&) {
    e.headers = {};  // hand-edited file: show the event without its headers
  }
  const void* body = sqlite3_column_blob(s.get(), 8);
  if (body != nullptr) {
    e.body.assign(static_cast<const char*>(body),
                  static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 8)));
  }
  Statement d = prepare_deliveries(db);
  e.deliveries = deliveries_of(db, d.get(), seq);
  for (DeliveryInfo& delivery : e.deliveries) read_history(db, delivery);
  tx.commit();
  return e;
}

namespace {

// One "state, count(*)" row into a RouteStats or QueueStats.
template <class Counts>
void set_state_count(Counts& into, const std::string& state, std::int64_t n) {
  if (state == "pending") into.pending = n;
  if (state == "running") into.running = n;
  if (state == "done") into.done = n;
  if (state == "dead") into.dead = n;
}

// now − received_at of the event of the oldest pending delivery; nullopt: none pending.
// O(pairs x log n): per (route, handler) with pending deliveries (from the counts), the
// smallest pending id is the first entry of deliveries_claim for it; ids are commit order.
std::optional<double> oldest_pending_age(sqlite3* db, std::int64_t now_us) {
  Statement oldest = prepare(
      db,
      "SELECT min(e.received_at) FROM delivery_counts c "
      "JOIN deliveries d ON d.id = (SELECT min(p.id) FROM deliveries p INDEXED BY deliveries_claim "
      "  WHERE p.route = c.route AND p.handler = c.handler AND p.state = 'pending') "
      "JOIN events e ON e.seq = d.event_seq WHERE c.state = 'pending' AND c.n > 0");
  if (!step(db, oldest.get()) || sqlite3_column_type(oldest.get(), 0) == SQLITE_NULL) {
    return std::nullopt;
  }
  std::int64_t received = sqlite3_column_int64(oldest.get(), 0);
  return static_cast<double>(std::max<std::int64_t>(0, now_us - received)) / 1e6;
}

}  // namespace

StoreStats stats(sqlite3* db, std::int64_t now_us) {
  StoreStats out;
  Transaction tx(db, "BEGIN");
  Statement events =
      prepare(db, "SELECT route, events, unmatched FROM event_counts WHERE events > 0");
  while (step(db, events.get())) {
    auto& r = out.routes[column_text(events.get(), 0)];
    r.events = sqlite3_column_int64(events.get(), 1);
    r.unmatched = sqlite3_column_int64(events.get(), 2);
  }
  Statement states = prepare(
      db, "SELECT route, state, sum(n) FROM delivery_counts WHERE n > 0 GROUP BY route, state");
  while (step(db, states.get())) {
    set_state_count(out.routes[column_text(states.get(), 0)], column_text(states.get(), 1),
                    sqlite3_column_int64(states.get(), 2));
  }
  out.oldest_pending_age_seconds = oldest_pending_age(db, now_us);
  tx.commit();
  return out;
}

QueueStats queue_stats(sqlite3* db, std::int64_t now_us) {
  QueueStats out;
  Transaction tx(db, "BEGIN");
  Statement states = prepare(db, "SELECT state, sum(n) FROM delivery_counts GROUP BY state");
  while (step(db, states.get())) {
    set_state_count(out, column_text(states.get(), 0), sqlite3_column_int64(states.get(), 1));
  }
  out.oldest_pending_age_seconds = oldest_pending_age(db, now_us);
  tx.commit();
  return out;
}

std::size_t replay(sqlite3* db, const ReplayRequest& request, std::int64_t now_us) {
  const std::size_t per_transaction = std::max<std::size_t>(request.per_transaction, 1);
  constexpr const char* kSet =
      "UPDATE deliveries SET state = 'pending', attempts = 0, crashes = 0, "
      "scheduled_at = ?1, lease_until = NULL, updated_at = ?1 ";
  std::size_t moved = 0;
  // The count tables change with the states, in the same transactions (counts.hpp).
  CountTables tables(db);
  CountDeltas counts;
  if (request.dead_only) {
    Statement s = prepare(db, std::string(kSet) +
                                  "WHERE id IN (SELECT id FROM deliveries WHERE state = 'dead' "
                                  "AND id > ?2 AND (?3 IS NULL OR event_seq IN "
                                  "(SELECT seq FROM events WHERE route = ?3)) "
                                  "ORDER BY id LIMIT ?4) RETURNING id, route, handler");
    std::int64_t after = 0;  // ids are positive
    for (;;) {
      Transaction tx(db, "BEGIN IMMEDIATE");
      sqlite3_reset(s.get());
      sqlite3_bind_int64(s.get(), 1, now_us);
      sqlite3_bind_int64(s.get(), 2, after);
      bind_optional(s.get(), 3, request.route);
      sqlite3_bind_int64(s.get(), 4, static_cast<std::int64_t>(per_transaction));
      std::size_t n = 0;
      while (step(db, s.get())) {
        after = std::max<std::int64_t>(after, sqlite3_column_int64(s.get(), 0));
        counts.moved(column_text(s.get(), 1), column_text(s.get(), 2), DeliveryState::dead,
                     DeliveryState::pending);
        ++n;
      }
      tables.write(counts);
      tx.commit();
      moved += n;
      if (n < per_transaction) break;
    }
    return moved;
  }
  // Every id is resolved first (an unknown one changes nothing); the fence makes the later
  // updates safe against what changed in between: a pending or running delivery belongs
  // to the dispatcher, not to us, and a deleted event updates nothing.
  std::vector<std::int64_t> seqs;
  {
    Transaction read(db, "BEGIN");
    for (const auto& id : request.ids) seqs.push_back(resolve(db, id, request.route));
    read.commit();
  }
  // One statement per state moved from, so that the counts know what each row was.
  Statement s = prepare(db, std::string(kSet) +
                                "WHERE event_seq = ?2 AND state = ?3 RETURNING route, handler");
  for (std::size_t first = 0; first < seqs.size(); first += per_transaction) {
    Transaction tx(db, "BEGIN IMMEDIATE");
    for (std::size_t i = first; i < std::min(seqs.size(), first + per_transaction); ++i) {
      for (DeliveryState from : {DeliveryState::dead, DeliveryState::done}) {
        sqlite3_reset(s.get());
        sqlite3_bind_int64(s.get(), 1, now_us);
        sqlite3_bind_int64(s.get(), 2, seqs[i]);
        sqlite3_bind_text(s.get(), 3, state_name(from), -1, SQLITE_STATIC);
        while (step(db, s.get())) {
          counts.moved(column_text(s.get(), 0), column_text(s.get(), 1), from,
                       DeliveryState::pending);
          ++moved;
        }
      }
    }
    tables.write(counts);
    tx.commit();
  }
  return moved;
}

std::string rfc3339_us(std::int64_t unix_us) {
  std::int64_t secs = unix_us / 1000000;
  std::int64_t micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

}  // namespace hookd::outbox
