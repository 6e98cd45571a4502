// What must not turn appends into 503: a claim, a result or a retention step that fails in
// the same batch (a hand-edited row, a failing statement), and a write lock another
// process holds for longer than a CLI's busy timeout. Also /readyz's reason while appends
// fail.
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::make_event;

namespace {

// A writer whose batches close only at two appends: what a test queues between them is
// committed in the same transaction as both.
WriterOptions two_per_batch(const std::string& path) {
  WriterOptions options;
  options.path = path;
  options.fsync_each_commit = false;
  options.max_events = 2;
  options.max_wait = std::chrono::seconds(60);
  return options;
}

ClaimRequest claim_all() {
  ClaimRequest request;
  request.specs = {{"r", "log", 100, false, 5}};
  request.total_limit = 100;
  request.lease_us = 60'000'000;
  return request;
}

// Queues `between` after one append and before a second one, and waits for all of it.
struct Batch {
  std::promise<AppendResult> first, second;
  void run(Writer& writer, const std::function<void()>& between) {
    writer.append(make_event("r", "first"), [this](AppendResult r) { first.set_value(r); });
    between();
    writer.append(make_event("r", "second"), [this](AppendResult r) { second.set_value(r); });
  }
  bool both_accepted() {
    const AppendResult a = first.get_future().get();
    const AppendResult b = second.get_future().get();
    BOOST_TEST_MESSAGE("appends: " << a.error << " / " << b.error);
    return a.status == AppendStatus::accepted && b.status == AppendStatus::accepted;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_isolation)

BOOST_AUTO_TEST_CASE(a_corrupted_headers_row_neither_fails_appends_nor_every_later_claim) {
  hookd::test::TempDir tmp;
  const std::string path = tmp.file("hookd.db");
  {
    Writer writer(WriterOptions{path});
    BOOST_REQUIRE((append_sync(writer, make_event("r", "bad")).status == AppendStatus::accepted));
  }
  {
    Db db(path, false);
    exec(db.get(), "UPDATE events SET headers = 'not json' WHERE id = 'bad'");
  }
  Writer writer(two_per_batch(path));
  std::promise<ClaimResult> claimed;
  Batch batch;
  batch.run(writer, [&] {
    writer.claim(claim_all(), [&](ClaimResult r) { claimed.set_value(std::move(r)); });
  });
  BOOST_TEST(batch.both_accepted());
  const ClaimResult claim = claimed.get_future().get();
  BOOST_TEST(claim.ok, claim.error);
  std::vector<std::string> ids;
  for (const auto& d : claim.deliveries) ids.push_back(d.event_id);
  BOOST_TEST((ids == std::vector<std::string>{"first", "second"}));
  writer.stop();

  Db db(path);
  const std::string where =
      " FROM deliveries WHERE event_seq = (SELECT seq FROM events WHERE id = 'bad')";
  BOOST_TEST(db.text("SELECT state" + where) == "dead");
  BOOST_TEST(db.integer("SELECT attempts" + where) == 0);  // it never ran
  BOOST_TEST(db.text("SELECT last_error" + where).find("cannot be read") != std::string::npos,
             db.text("SELECT last_error" + where));
}

BOOST_AUTO_TEST_CASE(a_failing_claim_result_or_prune_is_rolled_back_alone) {
  hookd::test::TempDir tmp;
  const std::string path = tmp.file("hookd.db");
  {
    Writer writer(WriterOptions{path});
    for (const char* id : {"ok", "poisoned"}) {
      BOOST_REQUIRE((append_sync(writer, make_event("r", id)).status == AppendStatus::accepted));
    }
  }
  std::int64_t ok_id = 0;
  std::int64_t poisoned_id = 0;
  {
    Db db(path, false);
    exec(db.get(), "UPDATE deliveries SET state = 'running', attempts = 1, lease_until = 1");
    ok_id = db.integer(
        "SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = 'ok'");
    poisoned_id = db.integer(
        "SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq "
        "WHERE e.id = 'poisoned'");
    // Statements that fail inside the writer's transaction, as a bad row or a bug would.
    exec(db.get(),
         "CREATE TRIGGER no_result BEFORE UPDATE OF state ON deliveries "
         "WHEN NEW.state = 'done' AND OLD.id = " +
             std::to_string(poisoned_id) + " BEGIN SELECT RAISE(ABORT, 'result refused'); END");
    exec(db.get(),
         "CREATE TRIGGER no_claim BEFORE UPDATE OF state ON deliveries "
         "WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'claim refused'); END");
    exec(db.get(),
         "CREATE TRIGGER no_prune BEFORE DELETE ON events "
         "BEGIN SELECT RAISE(ABORT, 'prune refused'); END");
  }
  Writer writer(two_per_batch(path));
  std::promise<ClaimResult> claimed;
  std::promise<std::optional<PruneResult>> pruned;
  Batch batch;
  batch.run(writer, [&] {
    for (std::int64_t id : {ok_id, poisoned_id}) {
      DeliveryResult result;
      result.id = id;
      result.route = "r";
      result.handler = "log";
      result.attempt = 1;
      result.state = DeliveryResult::State::done;
      result.outcome = DeliveryResult::Outcome::ok;
      writer.complete(result);
    }
    writer.claim(claim_all(), [&](ClaimResult r) { claimed.set_value(std::move(r)); });
    writer.prune({unix_now_us(), unix_now_us(), 10},
                 [&](std::optional<PruneResult> n) { pruned.set_value(n); });
  });
  BOOST_TEST(batch.both_accepted());
  const ClaimResult claim = claimed.get_future().get();
  BOOST_TEST(!claim.ok);
  BOOST_TEST(claim.error.find("claim refused") != std::string::npos, claim.error);
  BOOST_TEST(!pruned.get_future().get().has_value());
  writer.stop();

  Db db(path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 4);
  BOOST_TEST(db.text("SELECT state FROM deliveries WHERE id = " + std::to_string(ok_id)) == "done");
  BOOST_TEST(db.text("SELECT state FROM deliveries WHERE id = " + std::to_string(poisoned_id)) ==
             "running");  // dropped: its lease brings it back
}

BOOST_AUTO_TEST_CASE(a_write_lock_held_longer_than_the_cli_busy_timeout_does_not_fail_appends) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  BOOST_REQUIRE((append_sync(writer, make_event("r", "warmup")).status == AppendStatus::accepted));
  // Another process (a hookd replay of old, an open sqlite3 shell) holds the write lock for
  // 6 s: more than the 5 s busy timeout the writer used to give up after.
  Db other(options.path, false);
  exec(other.get(), "BEGIN IMMEDIATE");
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::seconds(6));
    exec(other.get(), "COMMIT");
  });
  const AppendResult result = append_sync(writer, make_event("r", "during"));
  holder.join();
  BOOST_TEST((result.status == AppendStatus::accepted), result.error);
}

BOOST_AUTO_TEST_CASE(readiness_says_why_while_appends_fail_and_recovers) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  BOOST_REQUIRE((append_sync(writer, make_event("r", "e0")).status == AppendStatus::accepted));
  BOOST_TEST(writer.ready());
  BOOST_TEST(writer.unavailable_reason().empty());
  Db db(options.path, false);
  exec(db.get(),
       "CREATE TRIGGER full BEFORE INSERT ON events "
       "BEGIN SELECT RAISE(ABORT, 'no room'); END");
  BOOST_TEST((append_sync(writer, make_event("r", "e1")).status == AppendStatus::unavailable));
  BOOST_TEST(!writer.ready());
  BOOST_TEST(writer.unavailable_reason().find("no room") != std::string::npos,
             writer.unavailable_reason());
  exec(db.get(), "DROP TRIGGER full");
  BOOST_TEST((append_sync(writer, make_event("r", "e1")).status == AppendStatus::accepted));
  BOOST_TEST(writer.ready(), writer.unavailable_reason());
}

BOOST_AUTO_TEST_SUITE_END()
