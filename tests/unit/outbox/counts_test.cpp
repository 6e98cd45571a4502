// The count tables against count(*) over the tables after every kind of change hookd makes:
// appends (with duplicates and unmatched events), claims, results of each outcome, a lease
// rescue, an unreadable event set dead, retention, replay by id and of dead deliveries,
// and a part of a batch that rolls back to its savepoint.
#include <boost/test/unit_test.hpp>

#include <future>

#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::make_event;

namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000 * 1000;

// The counts as kept, and as count(*) finds them (pairs and states with none left out).
std::string kept(Db& db) {
  return db.text(
      "SELECT group_concat(x, ';') FROM (SELECT route || ',' || handler || ',' || state || '=' "
      "|| n AS x FROM delivery_counts WHERE n <> 0 ORDER BY 1)") +
         " | " +
         db.text("SELECT group_concat(x, ';') FROM (SELECT route || '=' || events || ',' || "
                 "unmatched AS x FROM event_counts WHERE events <> 0 OR unmatched <> 0 ORDER BY 1)");
}
std::string counted(Db& db) {
  return db.text(
      "SELECT group_concat(x, ';') FROM (SELECT route || ',' || handler || ',' || state || '=' "
      "|| count(*) AS x FROM deliveries GROUP BY route, handler, state ORDER BY 1)") +
         " | " +
         db.text("SELECT group_concat(x, ';') FROM (SELECT route || '=' || count(*) || ',' || "
                 "sum(unmatched) AS x FROM events GROUP BY route ORDER BY 1)");
}

ClaimResult claim_sync(Writer& writer, const std::string& handler, std::size_t n,
                       std::int64_t lease_us = 60'000'000) {
  std::promise<ClaimResult> p;
  writer.claim({{{"r", handler, n, false, 2}}, n, lease_us},
               [&](ClaimResult r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// Waits until what was queued before has committed (a prune rides in its own transaction
// after the queued results).
void flush(Writer& writer) {
  std::promise<void> p;
  writer.prune({0, 0, 1, 1LL << 62}, [&](std::optional<PruneResult>) { p.set_value(); });
  p.get_future().get();
}

DeliveryResult result(const ClaimedDelivery& d, DeliveryResult::State state,
                      DeliveryResult::Outcome outcome) {
  DeliveryResult r;
  r.id = d.id;
  r.route = d.route;
  r.handler = d.handler;
  r.attempt = d.attempt;
  r.state = state;
  r.outcome = outcome;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_counts)

BOOST_AUTO_TEST_CASE(the_counts_follow_every_change_hookd_makes) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  for (int i = 0; i < 6; ++i) {
    NewEvent e = make_event("r", "e" + std::to_string(i), "{}", {{"a", ""}, {"b", ""}});
    e.received_at_us = unix_now_us() - 10 * kDay;
    BOOST_REQUIRE((append_sync(writer, e).status == AppendStatus::accepted));
  }
  BOOST_REQUIRE((append_sync(writer, make_event("r", "e0", "{}", {{"a", ""}})).status ==
                 AppendStatus::duplicate));
  BOOST_REQUIRE((append_sync(writer, make_event("other", "u", "{}", {})).status ==
                 AppendStatus::accepted));
  Db db(options.path);
  BOOST_TEST(kept(db) == counted(db));
  BOOST_TEST(kept(db) == "r,a,pending=6;r,b,pending=6 | other=1,1;r=6,0");

  // Claims, then each kind of result; one claimed delivery's lease runs out.
  ClaimResult a = claim_sync(writer, "a", 6);
  BOOST_REQUIRE(a.deliveries.size() == 6u);
  using S = DeliveryResult::State;
  using O = DeliveryResult::Outcome;
  writer.complete(result(a.deliveries[0], S::done, O::ok));
  writer.complete(result(a.deliveries[1], S::done, O::ok));
  writer.complete(result(a.deliveries[2], S::dead, O::fail));
  writer.complete(result(a.deliveries[3], S::pending, O::retry));
  writer.complete(result(a.deliveries[4], S::pending, O::released));
  writer.complete(result(a.deliveries[4], S::done, O::ok));  // fenced out: counts nothing
  flush(writer);
  BOOST_TEST(kept(db) == counted(db));
  ClaimResult b = claim_sync(writer, "b", 2, 0);  // leases that are over at once
  BOOST_REQUIRE(b.deliveries.size() == 2u);
  claim_sync(writer, "b", 0);  // rescues them (back to pending: attempts are left)
  BOOST_TEST(kept(db) == counted(db));
  BOOST_TEST(db.integer("SELECT n FROM delivery_counts WHERE handler = 'b' AND state = "
                        "'pending'") == 6);

  // An unreadable event: its claimed delivery is set dead without running.
  {
    Db w(options.path, false);
    exec(w.get(), "UPDATE events SET headers = 'not json' WHERE id = 'e5'");
  }
  ClaimResult c = claim_sync(writer, "b", 6);
  BOOST_TEST(c.deliveries.size() == 5u);
  for (const ClaimedDelivery& d : c.deliveries) writer.complete(result(d, S::done, O::ok));
  flush(writer);
  BOOST_TEST(kept(db) == counted(db));
  BOOST_TEST(db.integer("SELECT n FROM delivery_counts WHERE handler = 'b' AND state = 'dead'") ==
             1);

  // Replay by id (dead and done alike) and of every dead delivery.
  {
    Connection w = open_store(options.path, true);
    BOOST_TEST(replay(w.get(), {{"e0"}, false, {}}, unix_now_us()) == 2u);
    BOOST_TEST(replay(w.get(), {{}, true, {}}, unix_now_us()) == 2u);
  }
  BOOST_TEST(kept(db) == counted(db));

  // Retention deletes e1 (every delivery done) with its deliveries, and the unmatched "u"
  // (make_event's received_at is a year ago).
  PruneRequest prune;
  prune.done_before_us = prune.dead_before_us = unix_now_us() - kDay;
  prune.limit = 100;
  std::promise<std::optional<PruneResult>> pruned;
  writer.prune(prune, [&](std::optional<PruneResult> r) { pruned.set_value(r); });
  BOOST_TEST(pruned.get_future().get().value().deleted == 2u);
  BOOST_TEST(kept(db) == counted(db));
  BOOST_TEST(db.integer("SELECT events FROM event_counts WHERE route = 'r'") == 5);
}

// A part of a batch that fails is rolled back to its savepoint, and so is what it counted.
BOOST_AUTO_TEST_CASE(a_claim_rolled_back_to_its_savepoint_counts_nothing) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE((append_sync(writer, make_event("r", "e" + std::to_string(i), "{}",
                                                  {{"a", ""}})).status == AppendStatus::accepted));
  }
  {
    Db w(options.path, false);
    // The claim moves the first rows to running, then the newest one is refused.
    exec(w.get(),
         "CREATE TRIGGER refuse AFTER UPDATE OF state ON deliveries WHEN new.state = 'running' "
         "AND new.event_seq = (SELECT max(seq) FROM events) BEGIN "
         "SELECT RAISE(ABORT, 'refused'); END");
  }
  ClaimResult r = claim_sync(writer, "a", 3);
  BOOST_TEST(!r.ok);
  flush(writer);
  Db db(options.path);
  BOOST_TEST(kept(db) == counted(db));
  BOOST_TEST(kept(db) == "r,a,pending=3 | r=3,0");
}

BOOST_AUTO_TEST_SUITE_END()
