// The group-commit writer: concurrency, commit-before-callback, deliveries, round trips,
// stop() and metrics.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "db.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/outbox/headers_json.hpp"
#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::make_event;

BOOST_AUTO_TEST_SUITE(outbox_writer)

BOOST_AUTO_TEST_CASE(concurrent_appends_are_group_committed_before_their_callbacks) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 625;
  constexpr int kTotal = kThreads * kPerThread;
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("data/hookd.db");  // the parent directory is created
  Writer writer(options);
  // The first append also proves the store is open, so the reader can attach to it.
  BOOST_REQUIRE(append_sync(writer, make_event("warmup", "w")).status == AppendStatus::accepted);

  // Only the writer thread runs callbacks, so this connection is used by one thread at a time.
  Db reader(options.path);
  Statement lookup =
      prepare(reader.get(), "SELECT count(*) FROM events WHERE route = ?1 AND id = ?2");

  std::mutex mutex;
  std::condition_variable all_done;
  int remaining = kTotal;
  std::atomic<int> not_accepted{0};
  std::atomic<int> not_visible{0};
  auto worker = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto route = "route-" + std::to_string(t % 4);
      auto id = "t" + std::to_string(t) + "-" + std::to_string(i);
      writer.append(make_event(route, id), [&, route, id](AppendResult result) {
        if (result.status != AppendStatus::accepted) ++not_accepted;
        sqlite3_stmt* s = lookup.get();
        sqlite3_bind_text(s, 1, route.data(), static_cast<int>(route.size()), SQLITE_STATIC);
        sqlite3_bind_text(s, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int(s, 0) != 1) {
          ++not_visible;
        }
        sqlite3_reset(s);
        std::lock_guard lock(mutex);
        if (--remaining == 0) all_done.notify_one();
      });
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return remaining == 0; });
  }

  BOOST_TEST(not_accepted.load() == 0);
  BOOST_TEST(not_visible.load() == 0);
  const auto stats = writer.stats();
  BOOST_TEST_MESSAGE("10,000 appends from 16 threads: " << stats.batches - 1 << " batches");
  BOOST_TEST(stats.events == kTotal + 1u);
  BOOST_TEST(stats.batches < static_cast<std::uint64_t>(kTotal));
  BOOST_TEST(reader.integer("SELECT count(*) FROM events WHERE route != 'warmup'") == kTotal);
  BOOST_TEST(reader.integer("SELECT count(*) FROM deliveries") == kTotal + 1);
}

BOOST_AUTO_TEST_CASE(deliveries_are_created_pending_or_the_event_is_unmatched) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.max_wait = std::chrono::microseconds(0);
  Writer writer(options);
  auto two = make_event("r", "two", "{}",
                        {{"log", ""}, {"jofi", "participant-7"}, {"log", "ignored: listed twice"}});
  BOOST_TEST((append_sync(writer, two).status == AppendStatus::accepted));
  BOOST_TEST(
      (append_sync(writer, make_event("r", "none", "{}", {})).status == AppendStatus::accepted));
  writer.stop();

  Db db(options.path);
  BOOST_TEST(db.integer("SELECT unmatched FROM events WHERE id = 'two'") == 0);
  BOOST_TEST(db.integer("SELECT unmatched FROM events WHERE id = 'none'") == 1);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries d JOIN events e ON e.seq = d.event_seq "
                        "WHERE e.id = 'none'") == 0);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 2);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempts = 0 "
                        "AND lease_until IS NULL AND last_error IS NULL "
                        "AND scheduled_at > 0 AND updated_at = scheduled_at") == 2);
  BOOST_TEST(db.integer("SELECT ordering_key IS NULL FROM deliveries WHERE handler = 'log'") == 1);
  BOOST_TEST(db.text("SELECT ordering_key FROM deliveries WHERE handler = 'jofi'") ==
             "participant-7");
}

BOOST_AUTO_TEST_CASE(headers_and_body_bytes_round_trip_exactly) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  const std::string body("\x00{\"a\":1}\xff\xfe\xc3\x28 end\x00", 15);
  auto event = make_event("r", "bytes", body);
  event.type = "";
  event.test = true;
  event.received_at_us = 1'700'000'000'654'321;
  event.headers = {{"Content-Type", "application/json"},
                   {"X-Dup", "1"},
                   {"x-dup", "2"},
                   {"X-Empty", ""},
                   {"X-Unicode", "gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \"quoted\" \\ \t"},
                   {"Authorization", "[redacted]"}};
  BOOST_TEST((append_sync(writer, event).status == AppendStatus::accepted));
  BOOST_TEST((append_sync(writer, make_event("r", "empty", "")).status == AppendStatus::accepted));
  writer.stop();

  Db db(options.path);
  BOOST_TEST(db.bytes("SELECT body FROM events WHERE id = ?1", "bytes") == body);
  BOOST_TEST(db.text("SELECT typeof(body) FROM events WHERE id = 'bytes'") == "blob");
  BOOST_TEST(db.bytes("SELECT body FROM events WHERE id = ?1", "empty") == "");
  BOOST_TEST(db.text("SELECT typeof(body) FROM events WHERE id = 'empty'") == "blob");
  auto headers = headers_from_json(db.bytes("SELECT headers FROM events WHERE id = ?1", "bytes"));
  BOOST_REQUIRE(headers.size() == event.headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    BOOST_TEST(headers[i].name == event.headers[i].name);
    BOOST_TEST(headers[i].value == event.headers[i].value);
  }
  BOOST_TEST(db.integer("SELECT json_valid(headers) FROM events WHERE id = 'bytes'") == 1);
  BOOST_TEST(db.text("SELECT json_extract(headers, '$[0][1]') FROM events WHERE id = 'bytes'") ==
             "application/json");
  BOOST_TEST(db.integer("SELECT test FROM events WHERE id = 'bytes'") == 1);
  BOOST_TEST(db.text("SELECT type FROM events WHERE id = 'bytes'") == "");
  BOOST_TEST(db.integer("SELECT received_at FROM events WHERE id = 'bytes'") ==
             1'700'000'000'654'321);
}

BOOST_AUTO_TEST_CASE(stop_commits_what_is_queued_then_refuses) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.max_wait = std::chrono::hours(1);  // only stop() closes the batch
  Writer writer(options);
  std::atomic<int> accepted{0};
  std::atomic<int> called{0};
  for (int i = 0; i < 10; ++i) {
    writer.append(make_event("r", "q" + std::to_string(i)), [&](AppendResult r) {
      if (r.status == AppendStatus::accepted) ++accepted;
      ++called;
    });
  }
  writer.stop();
  BOOST_TEST(called.load() == 10);
  BOOST_TEST(accepted.load() == 10);
  BOOST_TEST(!writer.ready());

  bool answered = false;
  AppendResult late;
  writer.append(make_event("r", "late"), [&](AppendResult r) {
    late = std::move(r);
    answered = true;
  });
  BOOST_TEST(answered);  // at once, on this thread
  BOOST_TEST((late.status == AppendStatus::unavailable));
  BOOST_TEST(!late.error.empty());
  writer.stop();  // idempotent

  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 10);
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id = 'late'") == 0);
}

BOOST_AUTO_TEST_CASE(metrics_count_batches_and_outcomes) {
  hookd::test::TempDir tmp;
  hookd::metrics::Registry registry;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  {
    Writer writer(options, &registry);
    BOOST_TEST((append_sync(writer, make_event("r", "a")).status == AppendStatus::accepted));
    BOOST_TEST((append_sync(writer, make_event("r", "a")).status == AppendStatus::duplicate));
    writer.stop();
    append_sync(writer, make_event("r", "b"));
  }
  auto counter = [&](const char* status) {
    return registry.counter("hookd_events_appended_total", "", {{"status", status}}).value();
  };
  BOOST_TEST(counter("accepted") == 1u);
  BOOST_TEST(counter("duplicate") == 1u);
  BOOST_TEST(counter("unavailable") == 1u);
  const std::string text = registry.expose();
  BOOST_TEST(text.find("hookd_commit_batch_size_count 2") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_duration_seconds_count 2") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_failures_total 0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_throwing_callback_does_not_stop_the_writer) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  writer.append(make_event("r", "a"), [](AppendResult) { throw std::runtime_error("oops"); });
  BOOST_TEST((append_sync(writer, make_event("r", "b")).status == AppendStatus::accepted));
}

// Claims at append: what the claimer grants is written running (attempt 1, leased) in the
// append's transaction and handed over from memory after the COMMIT; the rest is pending
// and wakes the engine; every reservation is answered, also when the transaction fails.
BOOST_AUTO_TEST_CASE(deliveries_a_claimer_takes_are_written_running_and_handed_over) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.max_wait = std::chrono::microseconds(0);
  hookd::metrics::Registry registry;
  Writer writer(options, &registry);
  constexpr std::int64_t kLease = 5'000'000;
  std::mutex mutex;
  std::vector<std::vector<AppendGrant>> asked;
  std::vector<ClaimResult> answers;
  writer.claim_at_append({[&](std::vector<AppendGrant>& grants) {
                            std::lock_guard lock(mutex);
                            asked.push_back(grants);
                            for (AppendGrant& g : grants) {
                              g.count = g.handler == "log" ? std::min<std::size_t>(g.count, 1) : 0;
                            }
                            return kLease;
                          },
                          [&](ClaimResult result) {
                            std::lock_guard lock(mutex);
                            answers.push_back(std::move(result));
                          }});
  std::atomic<int> wakes{0};
  writer.on_new_deliveries([&] { ++wakes; });
  auto answered = [&](std::size_t n) {
    return hookd::outbox::test::eventually([&] {
      std::lock_guard lock(mutex);
      return answers.size() == n;
    });
  };

  auto a = make_event("r", "a", std::string("body \x00 a", 8),
                      {{"log", ""}, {"jofi", "k"}, {"log", "listed twice"}});
  a.headers = {{"X-One", "1"}, {"x-two", "two"}};
  BOOST_TEST((append_sync(writer, a).status == AppendStatus::accepted));
  BOOST_REQUIRE(answered(1));
  {
    std::lock_guard lock(mutex);
    BOOST_REQUIRE(asked.size() == 1u);
    BOOST_REQUIRE(asked[0].size() == 2u);  // per pair, in the order they come
    BOOST_TEST(asked[0][0].route == "r");
    BOOST_TEST(asked[0][0].handler == "log");
    BOOST_TEST(asked[0][0].count == 2u);
    BOOST_TEST(asked[0][1].handler == "jofi");
    BOOST_TEST(asked[0][1].count == 1u);
    const ClaimResult& r = answers[0];
    BOOST_TEST(r.ok);
    BOOST_TEST(r.claimed_at_us > 0);
    BOOST_REQUIRE(r.deliveries.size() == 1u);
    const ClaimedDelivery& d = r.deliveries[0];
    BOOST_TEST(d.route == "r");
    BOOST_TEST(d.handler == "log");
    BOOST_TEST(d.attempt == 1u);
    BOOST_TEST(d.crashes == 0u);
    BOOST_TEST(d.event_id == "a");
    BOOST_TEST(d.type == a.type);
    BOOST_TEST(d.received_at_us == a.received_at_us);
    BOOST_TEST(d.body == a.body);
    BOOST_REQUIRE(d.headers.size() == 2u);
    BOOST_TEST(d.headers[1].name == "x-two");
    BOOST_TEST(d.headers[1].value == "two");
  }
  BOOST_TEST(wakes.load() == 1);  // jofi's delivery is pending

  // All claimed: nothing pending, no wake. A duplicate claims nothing; an event without
  // handlers asks nothing.
  BOOST_TEST((append_sync(writer, make_event("r", "b")).status == AppendStatus::accepted));
  BOOST_REQUIRE(answered(2));
  BOOST_TEST((append_sync(writer, make_event("r", "b")).status == AppendStatus::duplicate));
  BOOST_REQUIRE(answered(3));
  BOOST_TEST((append_sync(writer, make_event("r", "none", "{}", {})).status ==
              AppendStatus::accepted));
  BOOST_TEST(wakes.load() == 1);
  {
    std::lock_guard lock(mutex);
    BOOST_TEST(asked.size() == 3u);
    BOOST_TEST(answers[1].deliveries.size() == 1u);
    BOOST_TEST(answers[2].ok);
    BOOST_TEST(answers[2].deliveries.empty());
  }

  // A transaction that fails answers its reservation with a failure.
  exec(Db(options.path, false).get(),
       "CREATE TRIGGER no_boom BEFORE INSERT ON events WHEN NEW.id = 'boom' "
       "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
  BOOST_TEST((append_sync(writer, make_event("r", "boom")).status == AppendStatus::unavailable));
  BOOST_REQUIRE(answered(4));
  {
    std::lock_guard lock(mutex);
    BOOST_TEST(asked.size() == 4u);
    BOOST_TEST(!answers[3].ok);
    BOOST_TEST(answers[3].error.find("boom refused") != std::string::npos);
    BOOST_TEST(answers[3].deliveries.empty());
  }
  BOOST_TEST(writer.stats().claimed_at_append == 2u);

  // What was left pending is claimed by a claim; the metric tells the two apart.
  std::promise<ClaimResult> claimed;
  ClaimRequest request;
  request.specs.push_back({"r", "jofi", 10});
  request.total_limit = 10;
  request.lease_us = kLease;
  writer.claim(request, [&](ClaimResult r) { claimed.set_value(std::move(r)); });
  BOOST_TEST(claimed.get_future().get().deliveries.size() == 1u);
  auto claimed_at = [&](const char* at) {
    return registry.counter("hookd_deliveries_claimed_total", "", {{"at", at}}).value();
  };
  BOOST_TEST(claimed_at("append") == 2u);
  BOOST_TEST(claimed_at("claim") == 1u);
  BOOST_TEST(writer.stats().claims == 1u);
  writer.stop();

  Db db(options.path);
  const std::string of = " FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ";
  BOOST_TEST(db.integer("SELECT count(*)" + of +
                        "d.state = 'running' AND d.attempts = 1 AND d.handler = 'log' "
                        "AND d.lease_until = d.updated_at + 5000000 "
                        "AND d.scheduled_at = d.updated_at AND e.id IN ('a', 'b')") == 2);
  BOOST_TEST(db.integer("SELECT d.id" + of + "e.id = 'a' AND d.handler = 'log'") ==
             answers[0].deliveries[0].id);
  BOOST_TEST(db.integer("SELECT count(*)" + of +
                        "d.state = 'running' AND d.attempts = 1 AND d.handler = 'jofi' "
                        "AND d.ordering_key = 'k'") == 1);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 3);
  BOOST_TEST(hookd::test::count_mismatches(options.path) == 0);  // the counts moved with the rows
}

// A claim hands every delivery its event: the event is read once for the neighbouring
// deliveries of its handlers, and each gets its own copy.
BOOST_AUTO_TEST_CASE(a_claim_gives_each_handler_its_event) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  const std::vector<NewDelivery> three = {{"a", ""}, {"b", ""}, {"c", ""}};
  for (const char* id : {"one", "two"}) {
    auto event = make_event("r", id, std::string("body of ") + id, three);
    event.headers = {{"X-Id", id}};
    BOOST_REQUIRE((append_sync(writer, event).status == AppendStatus::accepted));
  }
  std::promise<ClaimResult> claimed;
  ClaimRequest request;
  for (const char* h : {"c", "a", "b"}) request.specs.push_back({"r", h, 10});
  request.total_limit = 30;
  request.lease_us = 1'000'000;
  writer.claim(request, [&](ClaimResult r) { claimed.set_value(std::move(r)); });
  const ClaimResult result = claimed.get_future().get();
  BOOST_REQUIRE(result.ok);
  BOOST_REQUIRE(result.deliveries.size() == 6u);
  for (std::size_t i = 0; i < result.deliveries.size(); ++i) {
    const ClaimedDelivery& d = result.deliveries[i];
    const std::string id = i < 3 ? "one" : "two";  // in id (commit) order
    BOOST_TEST_CONTEXT(i) {
      BOOST_TEST(d.handler == std::string(1, static_cast<char>('a' + i % 3)));
      BOOST_TEST(d.event_id == id);
      BOOST_TEST(d.body == "body of " + id);
      BOOST_REQUIRE(d.headers.size() == 1u);
      BOOST_TEST(d.headers[0].value == id);
      BOOST_TEST(d.attempt == 1u);
      BOOST_TEST(d.event_seq == result.deliveries[i < 3 ? 0 : 3].event_seq);
    }
  }
  BOOST_TEST(result.deliveries[0].event_seq != result.deliveries[3].event_seq);
}

// A claimer whose reserve throws claims nothing in that batch, still gets its answer (so
// that it can let go of what it reserved before throwing), and the appends commit pending.
BOOST_AUTO_TEST_CASE(a_throwing_reserve_is_answered_and_the_appends_commit_pending) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  std::promise<ClaimResult> answer;
  writer.claim_at_append({[](std::vector<AppendGrant>&) -> std::int64_t {
                            throw std::runtime_error("reserve broke");
                          },
                          [&](ClaimResult r) { answer.set_value(std::move(r)); }});
  auto answered = answer.get_future();
  BOOST_TEST((append_sync(writer, make_event("r", "a")).status == AppendStatus::accepted));
  // A generous bound for the writer thread's next step, not a timing assertion.
  BOOST_REQUIRE((answered.wait_for(std::chrono::seconds(30)) == std::future_status::ready));
  const ClaimResult r = answered.get();
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.deliveries.empty());
  writer.stop();
  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries WHERE state = 'pending'") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
