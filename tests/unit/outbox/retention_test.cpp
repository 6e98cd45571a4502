// Retention: done and dead events past their age go (with deliveries and attempts), in
// steps that each look at a bounded window of the table, with rests between them; events
// with unfinished work and young events stay; a step is a transaction without appends.
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

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

std::optional<PruneResult> prune_sync(Writer& writer, PruneRequest request) {
  std::promise<std::optional<PruneResult>> done;
  writer.prune(request, [&](std::optional<PruneResult> n) { done.set_value(n); });
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
  BOOST_TEST(prune_sync(writer, {unix_now_us(), unix_now_us(), 100}).value().deleted == 3u);
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
  BOOST_TEST(prune_sync(writer, request).value().deleted == 3u);
  BOOST_TEST(db.text("SELECT group_concat(id, ',') FROM (SELECT id FROM events ORDER BY id)") ==
             "new-done,old-dead,old-pending,old-running");
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 4);  // cascaded
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 4);
  BOOST_TEST(prune_sync(writer, request).value().deleted == 0u);
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

// Between steps the thread rests in proportion to the step (capped), and stop() ends a rest
// at once: a pass that would rest an hour after its first step has deleted that step's
// events and no more, and the Retention still stops.
BOOST_AUTO_TEST_CASE(steps_rest_in_proportion_and_stop_ends_a_rest) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  RetentionOptions o;
  BOOST_TEST(o.rest > 0.0);  // on by default
  o.rest = 3.0;
  o.max_rest = milliseconds(1000);
  BOOST_TEST(rest_after(microseconds(10'000), o).count() == 30'000);
  BOOST_TEST(rest_after(microseconds(2'000'000), o).count() == 1'000'000);  // capped
  o.rest = 0.0;
  BOOST_TEST(rest_after(microseconds(10'000), o).count() == 0);

  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  Db db(options.path, false);
  for (int i = 0; i < 9; ++i) add(writer, db, "e" + std::to_string(i), 10, "done");
  RetentionOptions r;
  r.step = 4;
  r.rest = 1e9;
  r.max_rest = std::chrono::hours(1);
  Retention retention(writer, r);
  BOOST_TEST(eventually([&] { return db.integer("SELECT count(*) FROM events") == 5; }));
  retention.stop();  // returns: the rest is cut short
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 5);
}

// A step looks at `limit` events after `after_seq` and no further, whatever they hold: an
// old dead event that must stay does not make a step walk on, and the pass ends at the
// first window that reaches events younger than both cutoffs.
BOOST_AUTO_TEST_CASE(a_step_looks_at_a_bounded_window_and_says_where_the_pass_goes_on) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  Db db(options.path, false);
  add(writer, db, "kept-dead", 10, "dead");     // past done's age, not dead's: stays
  add(writer, db, "kept-pending", 40, "pending");
  add(writer, db, "done-1", 10, "done");
  add(writer, db, "done-2", 10, "");
  add(writer, db, "young", 0, "done");
  const long long first = db.integer("SELECT min(seq) FROM events");

  PruneRequest request;
  request.done_before_us = unix_now_us() - 7 * kDay;
  request.dead_before_us = unix_now_us() - 30 * kDay;
  request.limit = 2;
  request.after_seq = first - 1;
  PruneResult step = prune_sync(writer, request).value();
  BOOST_TEST(step.deleted == 0u);  // the window holds only the two that stay
  BOOST_TEST(step.last_seq == first + 1);
  BOOST_TEST(!step.finished);
  request.after_seq = step.last_seq;
  step = prune_sync(writer, request).value();
  BOOST_TEST(step.deleted == 2u);
  BOOST_TEST(step.last_seq == first + 3);
  BOOST_TEST(!step.finished);
  request.after_seq = step.last_seq;
  step = prune_sync(writer, request).value();
  BOOST_TEST(step.deleted == 0u);
  BOOST_TEST(step.finished);  // "young" is younger than both cutoffs
  BOOST_TEST(db.text("SELECT group_concat(id, ',') FROM (SELECT id FROM events ORDER BY seq)") ==
             "kept-dead,kept-pending,young");
  request.after_seq = first + 10;  // past the end
  step = prune_sync(writer, request).value();
  BOOST_TEST(step.finished);
  BOOST_TEST(step.last_seq == first + 10);
}

// Appends queued while a retention step is queued commit in a transaction of their own:
// the step neither holds them back until its deletes are done nor takes them down with it.
BOOST_AUTO_TEST_CASE(a_retention_step_is_a_transaction_without_appends) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  options.max_events = 2;  // the two appends close a batch only together
  options.max_wait = std::chrono::seconds(60);
  Writer writer(options);
  std::promise<void> open;
  writer.when_open([&] { open.set_value(); });
  open.get_future().get();
  {
    Db db(options.path, false);
    exec(db.get(),
         "CREATE TRIGGER no_prune BEFORE DELETE ON events "
         "BEGIN SELECT RAISE(ABORT, 'prune refused'); END");
  }
  const auto batches_before = writer.stats().batches;
  std::promise<AppendResult> first, second;
  std::promise<std::optional<PruneResult>> pruned;
  NewEvent old = make_event("r", "first", "{}", {});
  old.received_at_us = unix_now_us() - 10 * kDay;
  writer.append(std::move(old), [&](AppendResult r) { first.set_value(r); });
  writer.prune({unix_now_us(), unix_now_us(), 10},
               [&](std::optional<PruneResult> r) { pruned.set_value(r); });
  writer.append(make_event("r", "second", "{}", {}),
                [&](AppendResult r) { second.set_value(r); });
  BOOST_TEST((first.get_future().get().status == AppendStatus::accepted));
  BOOST_TEST((second.get_future().get().status == AppendStatus::accepted));
  // The step ran before the appends' commit (an empty window) or after it (refused by the
  // trigger): either way in a transaction of its own, and the appends were accepted.
  const std::optional<PruneResult> step = pruned.get_future().get();
  BOOST_TEST(writer.stats().batches - batches_before == 2u);
  if (step) BOOST_TEST(step->deleted == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
