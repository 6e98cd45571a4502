// The CLI's read side and replay: a store written by the real Writer, delivery states set
// by direct SQL as the worker would, then list filters, show, stats and replay.
#include <boost/test/unit_test.hpp>

#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/schema.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::make_event;

namespace {

constexpr std::int64_t kT0 = 1764336848123456;  // 2025-11-28T13:34:08.123456Z

// Three events on two routes (r1: a with handlers log+mail, b with log; r2: c unmatched,
// test route), then a's mail dead after 3 attempts and b's log done.
struct Store {
  hookd::test::TempDir tmp;
  std::string path = tmp.file("hookd.db");

  Store() {
    Writer writer(WriterOptions{path});
    auto a = make_event("r1", "a", "{\"n\":1}", {{"log", ""}, {"mail", ""}});
    a.type = "x.created";
    a.received_at_us = kT0;
    auto b = make_event("r1", "b", "{}", {{"log", ""}});
    b.type = "y.deleted";
    b.received_at_us = kT0 + 1000000;
    auto c = make_event("r2", "c", "{}", {});
    c.type = "x.updated";
    c.test = true;
    c.received_at_us = kT0 + 2000000;
    for (auto* e : {&a, &b, &c}) {
      BOOST_REQUIRE(append_sync(writer, *e).status == AppendStatus::accepted);
    }
    writer.stop();
    sql("UPDATE deliveries SET state = 'dead', attempts = 3, last_error = 'boom' "
        "WHERE handler = 'mail'");
    sql("UPDATE deliveries SET state = 'done', attempts = 1 WHERE event_seq = "
        "(SELECT seq FROM events WHERE id = 'b')");
  }
  // Plain SQL, as the worker would change the rows.
  void sql(const std::string& statement) {
    Db db(path, false);
    exec(db.get(), statement);
    recount(db.get());  // what the worker's writer would have counted
  }
  long long integer(const std::string& query) { return Db(path).integer(query); }
  Connection read() { return open_store(path, false); }
  Connection write() { return open_store(path, true); }
};

std::vector<std::string> ids(const std::vector<EventSummary>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_queries)

BOOST_AUTO_TEST_CASE(list_is_newest_first_with_deliveries) {
  Store store;
  auto db = store.read();
  auto all = list_events(db.get(), {});
  BOOST_TEST(ids(all) == (std::vector<std::string>{"c", "b", "a"}),
             boost::test_tools::per_element());
  const auto& a = all[2];
  BOOST_TEST(a.route == "r1");
  BOOST_TEST(a.type == "x.created");
  BOOST_TEST(a.received_at_us == kT0);
  BOOST_TEST(!a.test);
  BOOST_REQUIRE(a.deliveries.size() == 2u);
  BOOST_TEST(a.deliveries[0].handler == "log");
  BOOST_TEST(a.deliveries[0].state == "pending");
  BOOST_TEST(!a.deliveries[0].last_error.has_value());
  BOOST_TEST(a.deliveries[1].handler == "mail");
  BOOST_TEST(a.deliveries[1].state == "dead");
  BOOST_TEST(a.deliveries[1].attempts == 3);
  BOOST_TEST(*a.deliveries[1].last_error == "boom");
  BOOST_TEST(all[0].test);
  BOOST_TEST(all[0].unmatched);
  BOOST_TEST(all[0].deliveries.empty());
}

BOOST_AUTO_TEST_CASE(list_filters_by_route_state_type_and_limit) {
  Store store;
  auto db = store.read();
  auto list = [&](EventFilter f) { return ids(list_events(db.get(), f)); };
  using V = std::vector<std::string>;
  BOOST_TEST(list({"r1", {}, {}, 50}) == (V{"b", "a"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, "dead", {}, 50}) == (V{"a"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, "pending", {}, 50}) == (V{"a"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, "done", {}, 50}) == (V{"b"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, "running", {}, 50}).empty());
  BOOST_TEST(list({{}, {}, "x.*", 50}) == (V{"c", "a"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, {}, "y.deleted", 50}) == (V{"b"}), boost::test_tools::per_element());
  BOOST_TEST(list({"r2", {}, "y.deleted", 50}).empty());
  BOOST_TEST(list({{}, {}, {}, 1}) == (V{"c"}), boost::test_tools::per_element());
  BOOST_TEST(list({{}, {}, {}, 0}).size() == 3u);
  BOOST_CHECK_THROW(list({{}, "sleeping", {}, 50}), QueryError);
}

// `events list` reads in windows of seq values, each a short read transaction: events far
// apart (after retention, or many events between two matches) are all found, newest first,
// and the limit counts across windows.
BOOST_AUTO_TEST_CASE(list_walks_windows_across_a_wide_range_of_seqs) {
  Store store;
  for (long long seq : {100000LL, 250000LL}) {
    store.sql("INSERT INTO events (seq, route, id, type, received_at, headers, body) VALUES (" +
              std::to_string(seq) + ", 'r1', 'far" + std::to_string(seq) +
              "', 'z.far', 0, '[]', x'')");
  }
  auto db = store.read();
  using V = std::vector<std::string>;
  BOOST_TEST(ids(list_events(db.get(), {})) == (V{"far250000", "far100000", "c", "b", "a"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids(list_events(db.get(), {{}, {}, {}, 2})) == (V{"far250000", "far100000"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids(list_events(db.get(), {{}, "dead", {}, 50})) == (V{"a"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids(list_events(db.get(), {{}, {}, "z.far", 1})) == (V{"far250000"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(show_returns_headers_body_and_needs_a_route_for_shared_ids) {
  Store store;
  {
    Writer writer(WriterOptions{store.path});
    auto other = make_event("r2", "a", std::string("\xff\x00\x01", 3), {});
    other.headers = {{"X-One", "1"}, {"Authorization", "[redacted]"}};
    BOOST_REQUIRE(append_sync(writer, other).status == AppendStatus::accepted);
  }
  auto db = store.read();
  try {
    get_event(db.get(), "a", std::nullopt);
    BOOST_FAIL("an id on two routes needs --route");
  } catch (const QueryError& e) {
    std::string what = e.what();
    BOOST_TEST(what.find("--route") != std::string::npos, what);
    BOOST_TEST(what.find("r1, r2") != std::string::npos, what);
  }
  auto a = get_event(db.get(), "a", std::string("r1"));
  BOOST_TEST(a.body == "{\"n\":1}");
  BOOST_REQUIRE(a.headers.size() == 1u);
  BOOST_TEST(a.headers[0].name == "Content-Type");
  BOOST_TEST(a.deliveries.size() == 2u);
  auto binary = get_event(db.get(), "a", std::string("r2"));
  BOOST_TEST(binary.body == std::string("\xff\x00\x01", 3));
  BOOST_TEST(binary.headers.size() == 2u);
  BOOST_TEST(binary.headers[1].value == "[redacted]");
  BOOST_TEST(get_event(db.get(), "b", std::nullopt).route == "r1");
  BOOST_CHECK_THROW(get_event(db.get(), "nope", std::nullopt), QueryError);
  BOOST_CHECK_THROW(get_event(db.get(), "b", std::string("r2")), QueryError);
}

BOOST_AUTO_TEST_CASE(stats_counts_per_route_and_state_and_the_oldest_pending_age) {
  Store store;
  auto db = store.read();
  auto s = stats(db.get(), kT0 + 5000000);
  BOOST_REQUIRE(s.routes.size() == 2u);
  const auto& r1 = s.routes.at("r1");
  BOOST_TEST(r1.events == 2);
  BOOST_TEST(r1.pending == 1);
  BOOST_TEST(r1.running == 0);
  BOOST_TEST(r1.done == 1);
  BOOST_TEST(r1.dead == 1);
  BOOST_TEST(r1.unmatched == 0);
  const auto& r2 = s.routes.at("r2");
  BOOST_TEST(r2.events == 1);
  BOOST_TEST(r2.unmatched == 1);
  BOOST_TEST(r2.pending + r2.running + r2.done + r2.dead == 0);
  BOOST_REQUIRE(s.oldest_pending_age_seconds.has_value());
  BOOST_TEST(*s.oldest_pending_age_seconds == 5.0, boost::test_tools::tolerance(1e-9));

  auto q = queue_stats(db.get(), kT0 + 5000000);  // the gauges' totals agree
  BOOST_TEST(q.pending == 1);
  BOOST_TEST(q.running == 0);
  BOOST_TEST(q.done == 1);
  BOOST_TEST(q.dead == 1);
  BOOST_TEST(*q.oldest_pending_age_seconds == 5.0, boost::test_tools::tolerance(1e-9));

  store.sql("UPDATE deliveries SET state = 'done' WHERE state = 'pending'");
  BOOST_TEST(!stats(db.get(), kT0).oldest_pending_age_seconds.has_value());
  BOOST_TEST(!queue_stats(db.get(), kT0).oldest_pending_age_seconds.has_value());
  BOOST_TEST(queue_stats(db.get(), kT0).done == 2);
}

BOOST_AUTO_TEST_CASE(replay_by_id_moves_dead_and_done_and_resets_attempts) {
  Store store;
  auto db = store.write();
  BOOST_TEST(replay(db.get(), {{"a", "b"}, false, {}}, kT0 + 9000000) == 2u);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'pending'") == 3);
  BOOST_TEST(store.integer("SELECT attempts FROM deliveries WHERE handler = 'mail'") == 0);
  BOOST_TEST(Db(store.path).text("SELECT last_error FROM deliveries WHERE handler = 'mail'") ==
             "boom");
  BOOST_TEST(store.integer("SELECT scheduled_at FROM deliveries WHERE handler = 'mail'") ==
             kT0 + 9000000);
  // Nothing dead or done is left: a second replay moves nothing.
  BOOST_TEST(replay(db.get(), {{"a", "b"}, false, {}}, kT0) == 0u);
}

BOOST_AUTO_TEST_CASE(replay_leaves_pending_and_running_alone) {
  Store store;
  store.sql(
      "UPDATE deliveries SET state = 'running', attempts = 2, lease_until = 1 "
      "WHERE handler = 'log' AND event_seq = (SELECT seq FROM events WHERE id = 'a')");
  auto db = store.write();
  BOOST_TEST(replay(db.get(), {{"a"}, false, {}}, kT0) == 1u);  // only mail (dead)
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'running' "
                           "AND attempts = 2 AND lease_until = 1") == 1);
  // --dead never touches done ones either.
  BOOST_TEST(replay(db.get(), {{}, true, {}}, kT0) == 0u);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'done'") == 1);
}

BOOST_AUTO_TEST_CASE(replay_dead_by_route) {
  Store store;
  auto db = store.write();
  BOOST_TEST(replay(db.get(), {{}, true, std::string("r2")}, kT0) == 0u);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'dead'") == 1);
  BOOST_TEST(replay(db.get(), {{}, true, std::string("r1")}, kT0) == 1u);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'dead'") == 0);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'done'") == 1);
}

// A replay of many deliveries holds the server's writer off for one short transaction at
// a time, not for the whole of it.
BOOST_AUTO_TEST_CASE(replay_of_many_commits_in_bounded_transactions) {
  hookd::test::TempDir tmp;
  const std::string path = tmp.file("hookd.db");
  {
    Writer writer(WriterOptions{path});
    for (int i = 0; i < 25; ++i) {
      BOOST_REQUIRE(append_sync(writer, make_event("r", "e" + std::to_string(i))).status ==
                    AppendStatus::accepted);
    }
  }
  {
    Db db(path, false);
    exec(db.get(), "UPDATE deliveries SET state = 'dead', attempts = 5");
  }
  auto db = open_store(path, true);
  int commits = 0;
  sqlite3_commit_hook(
      db.get(),
      [](void* n) {
        ++*static_cast<int*>(n);
        return 0;
      },
      &commits);
  ReplayRequest request;
  request.dead_only = true;
  request.per_transaction = 10;
  BOOST_TEST(replay(db.get(), request, kT0) == 25u);
  BOOST_TEST(commits == 3);  // 10 + 10 + 5
  BOOST_TEST(Db(path).integer("SELECT count(*) FROM deliveries WHERE state = 'pending'") == 25);

  // By id too: 25 events, 10 per transaction.
  exec(db.get(), "UPDATE deliveries SET state = 'dead'");
  commits = 0;
  ReplayRequest by_id;
  for (int i = 0; i < 25; ++i) by_id.ids.push_back("e" + std::to_string(i));
  by_id.per_transaction = 10;
  BOOST_TEST(replay(db.get(), by_id, kT0) == 25u);
  BOOST_TEST(commits == 3);  // (the read transaction resolving the ids writes nothing)
}

BOOST_AUTO_TEST_CASE(replay_with_an_unknown_id_changes_nothing) {
  Store store;
  auto db = store.write();
  BOOST_CHECK_THROW(replay(db.get(), {{"a", "nope"}, false, {}}, kT0), QueryError);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'dead'") == 1);
  BOOST_CHECK_THROW(replay(db.get(), {{"a"}, false, std::string("r2")}, kT0), QueryError);
}

BOOST_AUTO_TEST_CASE(open_store_refuses_a_missing_file_and_reads_read_only) {
  hookd::test::TempDir tmp;
  std::string missing = tmp.file("nope.db");
  try {
    open_store(missing, false);
    BOOST_FAIL("a missing store must be refused");
  } catch (const QueryError& e) {
    BOOST_TEST(std::string(e.what()) == "no store at " + missing + ": has the server run?");
  }
  BOOST_CHECK_THROW(open_store(missing, true), QueryError);
  BOOST_TEST(!std::filesystem::exists(missing));

  Store store;
  auto db = store.read();
  BOOST_CHECK_THROW(replay(db.get(), {{}, true, {}}, kT0), StoreError);
  BOOST_TEST(store.integer("SELECT count(*) FROM deliveries WHERE state = 'dead'") == 1);
}

BOOST_AUTO_TEST_CASE(open_store_does_not_migrate_an_empty_file) {
  hookd::test::TempDir tmp;
  std::string path = tmp.file("empty.db");
  { Db db(path, false); }
  BOOST_CHECK_THROW(open_store(path, true), SchemaError);
  BOOST_TEST(Db(path).integer("PRAGMA user_version") == 0);
}

BOOST_AUTO_TEST_CASE(rfc3339_has_microseconds) {
  BOOST_TEST(rfc3339_us(kT0) == "2025-11-28T13:34:08.123456Z");
  BOOST_TEST(rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
}

BOOST_AUTO_TEST_SUITE_END()
