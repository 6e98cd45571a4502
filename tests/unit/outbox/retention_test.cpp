// Retention: done and dead events past their age go (with deliveries and attempts), in
// steps; events with unfinished work and young events stay.
#include <boost/test/unit_test.hpp>

#include <future>

#include "hookd/outbox/retention.hpp"
#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::eventually;
using hookd::outbox::test::make_event;

namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000 * 1000;

// An event received `age_days` ago whose one delivery ends in `state` ("" = no handler).
void add(Writer& writer, Db& db, const std::string& id, int age_days, const std::string& state) {
  NewEvent e = make_event("r", id, "{}", {});
  e.received_at_us = unix_now_us() - age_days * kDay;
  if (!state.empty()) e.deliveries.push_back({"h", {}});
  BOOST_REQUIRE((append_sync(writer, std::move(e)).status == AppendStatus::accepted));
  if (!state.empty()) {
    exec(db.get(), "UPDATE deliveries SET state = '" + state + "'" +
                       (state == "running" ? ", lease_until = 1" : "") +
                       " WHERE event_seq = (SELECT seq FROM events WHERE id = '" + id + "')");
  }
}

std::optional<std::size_t> prune_sync(Writer& writer, PruneRequest request) {
  std::promise<std::optional<std::size_t>> done;
  writer.prune(request, [&](std::optional<std::size_t> n) { done.set_value(n); });
  return done.get_future().get();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_retention)

// seq is a cursor: once retention has emptied the table, a new event must not get a seq
// that an earlier one had.
BOOST_AUTO_TEST_CASE(seq_keeps_growing_after_retention_emptied_the_table) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  Db db(options.path, false);
  for (const char* id : {"a", "b", "c"}) add(writer, db, id, 10, "done");
  const long long last = db.integer("SELECT max(seq) FROM events");
  BOOST_TEST(prune_sync(writer, {unix_now_us(), unix_now_us(), 100}).value() == 3u);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 0);
  add(writer, db, "d", 0, "");
  BOOST_TEST(db.integer("SELECT seq FROM events WHERE id = 'd'") > last);
}

BOOST_AUTO_TEST_CASE(prune_deletes_only_finished_events_past_their_age) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  Db db(options.path, false);
  add(writer, db, "old-done", 10, "done");
  add(writer, db, "old-unmatched", 10, "");
  add(writer, db, "old-dead", 10, "dead");
  add(writer, db, "older-dead", 40, "dead");
  add(writer, db, "old-pending", 40, "pending");
  add(writer, db, "old-running", 40, "running");
  add(writer, db, "new-done", 1, "done");
  exec(db.get(),
       "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, outcome) "
       "SELECT id, 1, 0, 0, 'ok' FROM deliveries");

  PruneRequest request;
  request.done_before_us = unix_now_us() - 7 * kDay;
  request.dead_before_us = unix_now_us() - 30 * kDay;
  BOOST_TEST(prune_sync(writer, request).value() == 3u);
  BOOST_TEST(db.text("SELECT group_concat(id, ',') FROM (SELECT id FROM events ORDER BY id)") ==
             "new-done,old-dead,old-pending,old-running");
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 4);  // cascaded
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 4);
  BOOST_TEST(prune_sync(writer, request).value() == 0u);
}

BOOST_AUTO_TEST_CASE(retention_thread_works_in_steps_until_nothing_is_left) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  Db db(options.path, false);
  for (int i = 0; i < 25; ++i) add(writer, db, "e" + std::to_string(i), 10, "done");
  add(writer, db, "young", 0, "done");
  RetentionOptions r;
  r.step = 4;  // 25 events: 7 transactions in one pass
  Retention retention(writer, r);
  BOOST_TEST(eventually([&] { return db.integer("SELECT count(*) FROM events") == 1; }));
  retention.stop();
  BOOST_TEST(db.text("SELECT id FROM events") == "young");
}

BOOST_AUTO_TEST_SUITE_END()
