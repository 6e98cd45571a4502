// Migrations 1 (events, deliveries, indexes, operator views), 2 (delivery engine), 3
// (events.seq AUTOINCREMENT), 4 (crashed attempts), 5 (count tables, the per-handler due
// index), and the migration runner.
#include "hookd/outbox/schema.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include "hookd/outbox/sqlite.hpp"

namespace hookd::outbox {
namespace {

// Times are integers (unix µs) so that comparisons and arithmetic stay exact; the views
// render them as RFC 3339 for people reading the file with sqlite3.
constexpr std::string_view kEvents = R"sql(
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  route       TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL DEFAULT '',
  test        INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1)),
  received_at INTEGER NOT NULL,
  headers     TEXT    NOT NULL,
  body        BLOB    NOT NULL,
  unmatched   INTEGER NOT NULL DEFAULT 0 CHECK (unmatched IN (0, 1)),
  UNIQUE (route, id)
) STRICT)sql";

// The state machine lives in CHECKs (River-style): a row can never be running without a
// lease, nor hold a lease in any other state.
constexpr std::string_view kDeliveries = R"sql(
CREATE TABLE deliveries (
  id           INTEGER PRIMARY KEY,
  event_seq    INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
  handler      TEXT    NOT NULL,
  state        TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'running', 'done', 'dead')),
  attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  scheduled_at INTEGER NOT NULL,
  lease_until  INTEGER,
  ordering_key TEXT,
  last_error   TEXT,
  updated_at   INTEGER NOT NULL,
  CHECK ((state = 'running') = (lease_until IS NOT NULL)),
  UNIQUE (event_seq, handler)
) STRICT)sql";

// The dispatcher's fetch: WHERE state = 'pending' AND scheduled_at <= now ORDER BY id.
constexpr std::string_view kDeliveriesDue =
    "CREATE INDEX deliveries_due ON deliveries (state, scheduled_at, id)";
// The cascade on event deletion (retention) and "deliveries of this event" lookups.
constexpr std::string_view kDeliveriesEvent =
    "CREATE INDEX deliveries_event ON deliveries (event_seq)";

// unix µs → "2026-11-28T13:34:08.123456Z" (NULL stays NULL).
#define HOOKD_RFC3339(col)              \
  "strftime('%Y-%m-%dT%H:%M:%S', " col  \
  " / 1000000, 'unixepoch') || '.' || " \
  "printf('%06d', " col " % 1000000) || 'Z'"

constexpr std::string_view kEventsView =
    "CREATE VIEW events_view AS SELECT\n"
    "  e.seq, e.route, e.id, e.type, e.test,\n"
    "  " HOOKD_RFC3339("e.received_at") " AS received_at,\n"
    "  e.unmatched, e.headers,\n"
    "  CAST(e.body AS TEXT) AS body,\n"
    "  length(e.body) AS body_bytes,\n"
    "  (SELECT group_concat(d.handler || ':' || d.state, ', ')\n"
    "     FROM deliveries d WHERE d.event_seq = e.seq) AS deliveries\n"
    "FROM events e";

constexpr std::string_view kDeliveriesView =
    "CREATE VIEW deliveries_view AS SELECT\n"
    "  d.id, e.route, e.id AS event_id, e.type AS event_type, d.event_seq, d.handler,\n"
    "  d.state, d.attempts,\n"
    "  " HOOKD_RFC3339("d.scheduled_at") " AS scheduled_at,\n"
    "  " HOOKD_RFC3339("d.lease_until") " AS lease_until,\n"
    "  d.ordering_key, d.last_error,\n"
    "  " HOOKD_RFC3339("d.updated_at") " AS updated_at\n"
    "FROM deliveries d JOIN events e ON e.seq = d.event_seq";

// Migration 2 (the delivery engine): the route on each delivery, so that a claim for one
// (route, handler) pair walks an index in id (= commit) order; the ordering-key lookup;
// and the bounded history of attempts behind `hookd events show`.
constexpr std::string_view kDeliveriesRoute =
    "ALTER TABLE deliveries ADD COLUMN route TEXT NOT NULL DEFAULT ''";
constexpr std::string_view kDeliveriesRouteFill =
    "UPDATE deliveries SET route = (SELECT e.route FROM events e WHERE e.seq = "
    "deliveries.event_seq)";
constexpr std::string_view kDeliveriesClaim =
    "CREATE INDEX deliveries_claim ON deliveries (route, handler, state, id)";
constexpr std::string_view kDeliveriesOrdered =
    "CREATE INDEX deliveries_ordered ON deliveries (route, handler, ordering_key, id) "
    "WHERE ordering_key IS NOT NULL";
constexpr std::string_view kAttempts = R"sql(
CREATE TABLE attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'retry', 'fail', 'timeout', 'lease_expired')),
  error       TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT, WITHOUT ROWID)sql";

constexpr std::string_view kAttemptsView =
    "CREATE VIEW attempts_view AS SELECT\n"
    "  a.delivery_id, d.handler, e.route, e.id AS event_id, a.attempt, a.outcome,\n"
    "  " HOOKD_RFC3339("a.started_at") " AS started_at,\n"
    "  (a.finished_at - a.started_at) / 1000 AS duration_ms, a.error\n"
    "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.seq = d.event_seq";

// Migration 3: `seq` is a cursor (commit order, `hookd events list`, the admin API's
// paging), so it must never be handed out twice; a plain rowid reuses the largest one after
// retention deleted the newest events. SQLite cannot add AUTOINCREMENT to a table: the table
// is rebuilt (SQLite's 12-step procedure; the views go and come back around it, since a
// rename checks them, and foreign keys are off meanwhile, so that dropping the old table
// does not cascade into deliveries). The copy keeps every seq; sqlite_sequence starts at
// the largest.
constexpr std::string_view kEventsAutoincrement = R"sql(
CREATE TABLE events_autoincrement (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  route       TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL DEFAULT '',
  test        INTEGER NOT NULL DEFAULT 0 CHECK (test IN (0, 1)),
  received_at INTEGER NOT NULL,
  headers     TEXT    NOT NULL,
  body        BLOB    NOT NULL,
  unmatched   INTEGER NOT NULL DEFAULT 0 CHECK (unmatched IN (0, 1)),
  UNIQUE (route, id)
) STRICT)sql";
constexpr std::string_view kEventsCopy =
    "INSERT INTO events_autoincrement (seq, route, id, type, test, received_at, headers, body, "
    "unmatched) SELECT seq, route, id, type, test, received_at, headers, body, unmatched FROM "
    "events ORDER BY seq";

// Migration 4 (plugin isolation): an attempt may end `crashed` (the plugin host died during
// the call), and a delivery counts the crashes blamed on it, so that a poison event goes
// dead after workers.max_crashes instead of taking its host down for good. A CHECK cannot
// be altered in SQLite: `attempts` is rebuilt (no table refers to it).
constexpr std::string_view kAttemptsCrashed = R"sql(
CREATE TABLE attempts_crashed (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome     TEXT    NOT NULL
              CHECK (outcome IN ('ok', 'retry', 'fail', 'timeout', 'lease_expired', 'crashed')),
  error       TEXT,
  PRIMARY KEY (delivery_id, attempt)
) STRICT, WITHOUT ROWID)sql";
constexpr std::string_view kAttemptsCopy =
    "INSERT INTO attempts_crashed (delivery_id, attempt, started_at, finished_at, outcome, "
    "error) SELECT delivery_id, attempt, started_at, finished_at, outcome, error FROM attempts";
constexpr std::string_view kDeliveriesCrashes =
    "ALTER TABLE deliveries ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0";

// Migration 5 (gauges and `hookd stats` that cost the same at 10 million events as at ten):
// count tables, filled here and kept by hookd's writers (outbox/counts.hpp) in the same
// transaction as each change. A count(*) over the tables instead took seconds at millions
// of rows and held a read transaction that kept the WAL from restarting meanwhile. Rows at
// zero stay: there are as many as routes x handlers x states.
constexpr std::string_view kDeliveryCounts = R"sql(
CREATE TABLE delivery_counts (
  route   TEXT    NOT NULL,
  handler TEXT    NOT NULL,
  state   TEXT    NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (route, handler, state)
) STRICT, WITHOUT ROWID)sql";
constexpr std::string_view kDeliveryCountsFill =
    "INSERT INTO delivery_counts (route, handler, state, n) "
    "SELECT route, handler, state, count(*) FROM deliveries GROUP BY route, handler, state";
// A claim walks the due deliveries of one pair in the order they fell due and stops at
// the first one not due yet: with (route, handler, state, id) it stepped over every
// pending delivery retrying later (all of them while a handler is down) on each claim.
// deliveries_due (state, scheduled_at, id) answered "when is the next one due" for all
// pairs at once; per pair the new index answers it. deliveries_event (event_seq) is the
// prefix of UNIQUE (event_seq, handler), which serves the same lookups and cascades.
constexpr std::string_view kDeliveriesPairDue =
    "CREATE INDEX deliveries_due ON deliveries (route, handler, state, scheduled_at, id)";
// Version 6: the two state indexes leave out what no query looks for, so that a delivery
// that ends done leaves them instead of moving inside them, and they stay the size of the
// unfinished work however many done deliveries the store keeps (writer CPU per delivery
// about -15%). deliveries_due holds the pending ones (the claim's walk and the next due
// time); deliveries_claim the unfinished and dead ones (rescue of running leases, the
// oldest pending delivery, replay of dead ones): an OR of equalities, which a query's
// `state = 'X'` term implies for SQLite's planner (a `state <> 'done'` would not).
constexpr std::string_view kDeliveriesPendingDue =
    "CREATE INDEX deliveries_due ON deliveries (route, handler, scheduled_at, id) "
    "WHERE state = 'pending'";
constexpr std::string_view kDeliveriesUnfinished =
    "CREATE INDEX deliveries_claim ON deliveries (route, handler, state, id) "
    "WHERE state = 'pending' OR state = 'running' OR state = 'dead'";
constexpr std::string_view kEventCounts = R"sql(
CREATE TABLE event_counts (
  route     TEXT    PRIMARY KEY,
  events    INTEGER NOT NULL,
  unmatched INTEGER NOT NULL
) STRICT, WITHOUT ROWID)sql";
constexpr std::string_view kEventCountsFill =
    "INSERT INTO event_counts (route, events, unmatched) "
    "SELECT route, count(*), sum(unmatched) FROM events GROUP BY route";

// Migration 7: which attempt's call has begun (the engine says so lazily, in the writer's
// next transaction): a running row with started < attempts was claimed but never ran, so a
// restart gives it back without counting the attempt (docs/storage.md, "Recovery").
constexpr std::string_view kDeliveriesStarted =
    "ALTER TABLE deliveries ADD COLUMN started INTEGER NOT NULL DEFAULT 0";

#undef HOOKD_RFC3339

// Turns foreign key enforcement off for a migration that rebuilds a table, and back to
// what it was afterwards.
class ForeignKeysOff {
 public:
  ForeignKeysOff(sqlite3* db, bool off) : db_(db) {
    if (off && query_int(db, "PRAGMA foreign_keys") != 0) {
      exec(db, "PRAGMA foreign_keys = OFF");
      restore_ = true;
    }
  }
  ~ForeignKeysOff() {
    if (!restore_) return;
    try {
      exec(db_, "PRAGMA foreign_keys = ON");
    } catch (const StoreError&) {  // the connection is failing anyway; the caller sees that
    }
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  sqlite3* db_;
  bool restore_ = false;
};

std::string newer_message(int found) {
  return fmt::format(
      "the database has schema version {} but this hookd knows only up to {}: it was "
      "written by a newer hookd; upgrade hookd (refusing to open it)",
      found, latest_schema_version());
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, {kEvents, kDeliveries, kDeliveriesDue, kDeliveriesEvent, kEventsView, kDeliveriesView}},
      {2,
       {kDeliveriesRoute, kDeliveriesRouteFill, kDeliveriesClaim, kDeliveriesOrdered, kAttempts,
        kAttemptsView}},
      {3,
       {"DROP VIEW attempts_view", "DROP VIEW deliveries_view", "DROP VIEW events_view",
        kEventsAutoincrement, kEventsCopy, "DROP TABLE events",
        "ALTER TABLE events_autoincrement RENAME TO events", kEventsView, kDeliveriesView,
        kAttemptsView},
       true},
      {4,
       {"DROP VIEW attempts_view", kAttemptsCrashed, kAttemptsCopy, "DROP TABLE attempts",
        "ALTER TABLE attempts_crashed RENAME TO attempts", kAttemptsView, kDeliveriesCrashes},
       true},
      {5,
       {"DROP INDEX deliveries_event", "DROP INDEX deliveries_due", kDeliveriesPairDue,
        kDeliveryCounts, kDeliveryCountsFill, kEventCounts, kEventCountsFill}},
      {6,
       {"DROP INDEX deliveries_due", kDeliveriesPendingDue, "DROP INDEX deliveries_claim",
        kDeliveriesUnfinished}},
      {7, {kDeliveriesStarted}},
  };
  return list;
}

void recount(sqlite3* db) {
  exec(db, "DELETE FROM delivery_counts");
  exec(db, std::string(kDeliveryCountsFill));
  exec(db, "DELETE FROM event_counts");
  exec(db, std::string(kEventCountsFill));
}

int latest_schema_version() {
  return migrations().back().version;
}

int schema_version(sqlite3* db) {
  return static_cast<int>(query_int(db, "PRAGMA user_version"));
}

void migrate(sqlite3* db) {
  // Fast path without a write lock: the common case is an up-to-date file.
  int found = schema_version(db);
  if (found > latest_schema_version()) throw SchemaError(newer_message(found));
  if (found == latest_schema_version()) return;
  for (const Migration& m : migrations()) {
    // Outside the transaction: the pragma is a no-op inside one.
    ForeignKeysOff keys_off(db, m.rebuilds_tables);
    // Check the version inside the write transaction: another process may have migrated
    // between our read and our BEGIN.
    Transaction tx(db);
    int current = schema_version(db);
    if (current > latest_schema_version()) throw SchemaError(newer_message(current));
    if (current >= m.version) continue;  // ~Transaction rolls back the empty transaction
    if (current != m.version - 1) {
      throw SchemaError(
          fmt::format("schema version {} has no migration to {}", current, m.version));
    }
    for (std::string_view step : m.steps) exec(db, std::string(step));
    if (m.rebuilds_tables && !query_text(db, "PRAGMA foreign_key_check").empty()) {
      throw SchemaError(fmt::format("migration {} would break a foreign key", m.version));
    }
    exec(db, fmt::format("PRAGMA user_version = {}", m.version));
    tx.commit();
  }
}

void check_schema(sqlite3* db) {
  int current = schema_version(db);
  if (current > latest_schema_version()) throw SchemaError(newer_message(current));
  if (current < latest_schema_version()) {
    throw SchemaError(
        fmt::format("the database has schema version {}, expected {}: start `hookd serve` once to "
                    "migrate it",
                    current, latest_schema_version()));
  }
}

}  // namespace hookd::outbox
