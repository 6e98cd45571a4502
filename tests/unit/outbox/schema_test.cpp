// Schema and migrations: fresh database, idempotent reopen, constraints, newer versions.
#include <boost/test/unit_test.hpp>

#include "hookd/outbox/schema.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::Db;

namespace {

// Expects `sql` to fail with an extended result code whose primary part is `primary`.
int failure_code(sqlite3* db, const std::string& sql) {
  try {
    exec(db, sql);
  } catch (const StoreError& e) {
    return e.code();
  }
  return SQLITE_OK;
}

const char* kEvent =
    "INSERT INTO events (seq, route, id, received_at, headers, body) "
    "VALUES (1, 'r', 'e1', 0, '[]', x'00')";

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_schema)

BOOST_AUTO_TEST_CASE(fresh_database_gets_the_latest_version_and_the_tables) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  BOOST_TEST(schema_version(db.get()) == 0);
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == 7);
  BOOST_TEST(latest_schema_version() == 7);
  for (const char* name : {"events", "deliveries", "deliveries_due", "events_view",
                           "deliveries_view", "deliveries_claim", "deliveries_ordered",
                           "attempts", "attempts_view", "delivery_counts", "event_counts"}) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(db.integer(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") +
                            name + "'") == 1);
    }
  }
  // STRICT tables (sqlite_schema keeps the CREATE text).
  BOOST_TEST(db.text("SELECT sql FROM sqlite_schema WHERE name = 'events'").find("STRICT") !=
             std::string::npos);
  BOOST_CHECK_NO_THROW(check_schema(db.get()));
}

BOOST_AUTO_TEST_CASE(reopening_is_a_no_op) {
  hookd::test::TempDir tmp;
  {
    Db db(tmp.file("s.db"), false);
    migrate(db.get());
    exec(db.get(), kEvent);
  }
  Db db(tmp.file("s.db"), false);
  const auto objects = db.integer("SELECT count(*) FROM sqlite_schema");
  migrate(db.get());
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.integer("SELECT count(*) FROM sqlite_schema") == objects);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 1);
}

BOOST_AUTO_TEST_CASE(migration_3_makes_seq_autoincrement_and_keeps_every_row) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  exec(db.get(), "PRAGMA foreign_keys = ON");  // as the writer's connection has it
  for (int v = 0; v < 2; ++v) {
    for (std::string_view step : migrations()[v].steps) exec(db.get(), std::string(step));
  }
  exec(db.get(), "PRAGMA user_version = 2");
  exec(db.get(), kEvent);
  exec(db.get(),
       "INSERT INTO events (seq, route, id, received_at, headers, body) "
       "VALUES (7, 'r', 'e7', 0, '[]', x'01')");
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, scheduled_at, updated_at, route) "
       "VALUES (7, 'log', 0, 0, 'r')");
  exec(db.get(),
       "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, outcome) "
       "VALUES (1, 1, 0, 0, 'ok')");
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.integer("PRAGMA foreign_keys") == 1);  // restored
  // Nothing cascaded away with the old table.
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 2);
  BOOST_TEST(db.integer("SELECT event_seq FROM deliveries") == 7);
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 1);
  BOOST_TEST(db.text("SELECT deliveries FROM events_view WHERE id = 'e7'") == "log:pending");
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts_view") == 1);
  BOOST_TEST(db.text("SELECT sql FROM sqlite_schema WHERE name = 'events'").find("AUTOINCREMENT") !=
             std::string::npos);
  BOOST_TEST(db.text("PRAGMA foreign_key_check").empty());
  BOOST_TEST(db.text("PRAGMA integrity_check") == "ok");
  // The newest event goes; its seq is not handed out again.
  exec(db.get(), "DELETE FROM events WHERE seq = 7");
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 0);  // the cascade is back on
  exec(
      db.get(),
      "INSERT INTO events (route, id, received_at, headers, body) VALUES ('r', 'n', 0, '[]', x'')");
  BOOST_TEST(db.integer("SELECT seq FROM events WHERE id = 'n'") == 8);
}

BOOST_AUTO_TEST_CASE(migration_4_adds_crashed_attempts_and_crash_counts) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  exec(db.get(), "PRAGMA foreign_keys = ON");
  for (int v = 0; v < 3; ++v) {
    for (std::string_view step : migrations()[v].steps) exec(db.get(), std::string(step));
  }
  exec(db.get(), "PRAGMA user_version = 3");
  exec(db.get(), kEvent);
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, scheduled_at, updated_at, route) "
       "VALUES (1, 'log', 0, 0, 'r')");
  exec(db.get(),
       "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, outcome, error) "
       "VALUES (1, 1, 5, 9, 'lease_expired', 'x')");
  BOOST_CHECK_THROW(exec(db.get(),
                         "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, "
                         "outcome) VALUES (1, 2, 0, 0, 'crashed')"),
                    StoreError);  // version 3 does not know the outcome
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.integer("PRAGMA foreign_keys") == 1);
  BOOST_TEST(db.text("SELECT outcome || ':' || error || ':' || started_at FROM attempts") ==
             "lease_expired:x:5");
  BOOST_TEST(db.integer("SELECT crashes FROM deliveries") == 0);
  exec(db.get(),
       "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, outcome) "
       "VALUES (1, 2, 0, 0, 'crashed')");
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts_view") == 2);
  exec(db.get(), "DELETE FROM deliveries");
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 0);  // the cascade holds
  BOOST_TEST(db.text("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_CASE(migration_2_fills_the_route_of_existing_deliveries) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  for (std::string_view step : migrations()[0].steps) exec(db.get(), std::string(step));
  exec(db.get(), "PRAGMA user_version = 1");
  exec(db.get(), kEvent);
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, scheduled_at, updated_at) VALUES (1, 'log', 0, "
       "0)");
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.text("SELECT route FROM deliveries") == "r");
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 0);
}

BOOST_AUTO_TEST_CASE(constraints_guard_the_state_machine) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  migrate(db.get());
  exec(db.get(), "PRAGMA foreign_keys = ON");
  exec(db.get(), kEvent);
  const std::string delivery =
      "INSERT INTO deliveries (event_seq, handler, state, scheduled_at, lease_until, updated_at) "
      "VALUES ";
  BOOST_TEST(failure_code(db.get(), delivery + "(1, 'h', 'bogus', 0, NULL, 0)") ==
             SQLITE_CONSTRAINT_CHECK);
  // running iff leased
  BOOST_TEST(failure_code(db.get(), delivery + "(1, 'h', 'running', 0, NULL, 0)") ==
             SQLITE_CONSTRAINT_CHECK);
  BOOST_TEST(failure_code(db.get(), delivery + "(1, 'h', 'pending', 0, 5, 0)") ==
             SQLITE_CONSTRAINT_CHECK);
  BOOST_TEST(failure_code(db.get(), delivery + "(1, 'h', 'running', 0, 5, 0)") == SQLITE_OK);
  // one delivery per (event, handler); the event must exist
  BOOST_TEST(failure_code(db.get(), delivery + "(1, 'h', 'pending', 0, NULL, 0)") ==
             SQLITE_CONSTRAINT_UNIQUE);
  BOOST_TEST(failure_code(db.get(), delivery + "(99, 'h', 'pending', 0, NULL, 0)") ==
             SQLITE_CONSTRAINT_FOREIGNKEY);
  // STRICT: no text in an integer column; (route, id) unique; test is a boolean
  BOOST_TEST(failure_code(db.get(),
                          "INSERT INTO events (route, id, received_at, headers, body) "
                          "VALUES ('r', 'e2', 'yesterday', '[]', x'')") ==
             SQLITE_CONSTRAINT_DATATYPE);
  BOOST_TEST(failure_code(db.get(),
                          "INSERT INTO events (route, id, received_at, headers, body) "
                          "VALUES ('r', 'e1', 0, '[]', x'')") == SQLITE_CONSTRAINT_UNIQUE);
  BOOST_TEST(failure_code(db.get(),
                          "INSERT INTO events (route, id, test, received_at, headers, body) "
                          "VALUES ('r', 'e3', 2, 0, '[]', x'')") == SQLITE_CONSTRAINT_CHECK);
  // retention deletes events; their deliveries go with them
  exec(db.get(), "DELETE FROM events WHERE seq = 1");
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 0);
}

BOOST_AUTO_TEST_CASE(newer_database_is_refused_with_a_clear_error) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  migrate(db.get());
  exec(db.get(), "PRAGMA user_version = 99");
  try {
    migrate(db.get());
    BOOST_FAIL("migrate accepted a newer database");
  } catch (const SchemaError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find("99") != std::string::npos);
    BOOST_TEST(what.find("newer") != std::string::npos);
  }
  BOOST_CHECK_THROW(check_schema(db.get()), SchemaError);
  BOOST_TEST(schema_version(db.get()) == 99);  // untouched
}

BOOST_AUTO_TEST_CASE(old_database_is_refused_by_readers) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  BOOST_CHECK_THROW(check_schema(db.get()), SchemaError);
}

BOOST_AUTO_TEST_CASE(views_render_times_and_text) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  migrate(db.get());
  exec(db.get(),
       "INSERT INTO events (seq, route, id, received_at, headers, body) "
       "VALUES (1, 'r', 'e1', 1764336848123456, '[]', CAST('{\"a\":1}' AS BLOB))");
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, scheduled_at, updated_at) "
       "VALUES (1, 'log', 1764336848000001, 1764336848000001)");
  BOOST_TEST(db.text("SELECT received_at FROM events_view") == "2025-11-28T13:34:08.123456Z");
  BOOST_TEST(db.text("SELECT body FROM events_view") == "{\"a\":1}");
  BOOST_TEST(db.integer("SELECT body_bytes FROM events_view") == 7);
  BOOST_TEST(db.text("SELECT deliveries FROM events_view") == "log:pending");
  BOOST_TEST(db.text("SELECT scheduled_at FROM deliveries_view") == "2025-11-28T13:34:08.000001Z");
  BOOST_TEST(db.integer("SELECT lease_until IS NULL FROM deliveries_view") == 1);
  BOOST_TEST(db.text("SELECT event_id FROM deliveries_view") == "e1");
}

BOOST_AUTO_TEST_SUITE_END()

// Migration 5 counts what is there into the count tables (hookd's writers keep them from
// then on: counts_test.cpp) and replaces the due index (replaced again by migration 6).
BOOST_AUTO_TEST_CASE(migration_5_counts_what_is_there) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  exec(db.get(), "PRAGMA foreign_keys = ON");
  for (int v = 0; v < 4; ++v) {
    for (std::string_view step : migrations()[v].steps) exec(db.get(), std::string(step));
  }
  exec(db.get(), "PRAGMA user_version = 4");
  exec(db.get(), kEvent);
  exec(db.get(),
       "INSERT INTO events (seq, route, id, received_at, headers, body, unmatched) "
       "VALUES (2, 'r2', 'e2', 0, '[]', x'', 1)");
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, state, scheduled_at, updated_at, route) "
       "VALUES (1, 'log', 'done', 0, 0, 'r'), (1, 'mail', 'pending', 0, 0, 'r')");
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_event'") == 0);
  BOOST_TEST(db.text("SELECT group_concat(route || ',' || handler || ',' || state || ',' || n, ';') "
                     "FROM (SELECT * FROM delivery_counts ORDER BY 1, 2, 3)") ==
             "r,log,done,1;r,mail,pending,1");
  BOOST_TEST(db.text("SELECT group_concat(route || ',' || events || ',' || unmatched, ';') "
                     "FROM (SELECT * FROM event_counts ORDER BY 1)") == "r,1,0;r2,1,1");
  BOOST_TEST(db.text("PRAGMA integrity_check") == "ok");
}

// Migration 6 leaves done deliveries out of the two state indexes: deliveries_due holds the
// pending ones, deliveries_claim all but the done ones; the queries that walk them still
// can (a partial index the planner could not prove usable would fail INDEXED BY).
BOOST_AUTO_TEST_CASE(migration_6_keeps_done_deliveries_out_of_the_state_indexes) {
  hookd::test::TempDir tmp;
  Db db(tmp.file("s.db"), false);
  exec(db.get(), "PRAGMA foreign_keys = ON");
  for (int v = 0; v < 5; ++v) {
    for (std::string_view step : migrations()[v].steps) exec(db.get(), std::string(step));
  }
  exec(db.get(), "PRAGMA user_version = 5");
  exec(db.get(), kEvent);
  exec(db.get(),
       "INSERT INTO deliveries (event_seq, handler, state, attempts, scheduled_at, lease_until, "
       "updated_at, route) VALUES (1, 'a', 'done', 1, 0, NULL, 0, 'r'), "
       "(1, 'b', 'pending', 0, 0, NULL, 0, 'r'), (1, 'c', 'running', 1, 0, 9, 0, 'r'), "
       "(1, 'd', 'dead', 1, 0, NULL, 0, 'r')");
  migrate(db.get());
  BOOST_TEST(schema_version(db.get()) == latest_schema_version());
  BOOST_TEST(db.integer("SELECT count(*) FROM pragma_index_list('deliveries') "
                        "WHERE name IN ('deliveries_due', 'deliveries_claim') AND partial") == 2);
  BOOST_TEST(db.text("SELECT group_concat(handler) FROM deliveries INDEXED BY deliveries_due "
                     "WHERE route = 'r' AND handler > '' AND state = 'pending'") == "b");
  // Done deliveries are not in it: a query for them cannot use it.
  BOOST_TEST(failure_code(db.get(), "SELECT count(*) FROM deliveries INDEXED BY deliveries_claim "
                                    "WHERE route = 'r' AND handler = 'a' AND state = 'done'") !=
             SQLITE_OK);
  for (const char* state : {"pending", "running", "dead"}) {
    BOOST_TEST_CONTEXT(state) {
      BOOST_TEST(db.integer(std::string("SELECT count(*) FROM deliveries INDEXED BY "
                                        "deliveries_claim WHERE route = 'r' AND handler > '' "
                                        "AND state = '") +
                            state + "'") == 1);
    }
  }
  BOOST_TEST(db.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_due' AND "
                        "sql LIKE '%WHERE state = ''pending''%'") == 1);
  BOOST_TEST(db.text("PRAGMA integrity_check") == "ok");
}
