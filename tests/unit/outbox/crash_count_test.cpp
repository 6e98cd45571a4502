// A `crashed` attempt through the writer: stored in the attempt history, counted on the
// delivery only when blamed on it, handed back with the next claim, reset by a replay.
#include <boost/test/unit_test.hpp>

#include "hookd/outbox/queries.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using namespace hookd::outbox::test;

namespace {

ClaimResult claim_sync(Writer& writer) {
  std::promise<ClaimResult> claimed;
  writer.claim({{{"r", "log", 4, false, 10}}, 4, 60'000'000},
               [&](ClaimResult r) { claimed.set_value(std::move(r)); });
  return claimed.get_future().get();
}

// Writes a result and waits until its batch committed (a claim rides in the same queue).
void complete_sync(Writer& writer, const DeliveryResult& result) {
  writer.complete(result);
  std::promise<void> done;
  writer.prune({0, 0, 1}, [&](std::optional<PruneResult>) { done.set_value(); });
  done.get_future().get();
}

DeliveryResult crashed(const ClaimedDelivery& d, bool blamed) {
  DeliveryResult r;
  r.id = d.id;
  r.route = d.route;
  r.handler = d.handler;
  r.attempt = d.attempt;
  r.state = DeliveryResult::State::pending;
  r.outcome = DeliveryResult::Outcome::crashed;
  r.scheduled_at_us = 0;  // due again at once
  r.error = "plugin host for 'log' died: SIGSEGV";
  r.count_crash = blamed;
  r.started_at_us = 1;
  r.finished_at_us = 2;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_crash_count)

BOOST_AUTO_TEST_CASE(crashes_are_counted_when_blamed_and_reset_by_replay) {
  hookd::test::TempDir tmp;
  const std::string path = tmp.file("hookd.db");
  Writer writer(WriterOptions{path});
  BOOST_REQUIRE((append_sync(writer, make_event("r", "poison")).status == AppendStatus::accepted));

  ClaimResult first = claim_sync(writer);
  BOOST_REQUIRE(first.ok);
  BOOST_REQUIRE(first.deliveries.size() == 1u);
  BOOST_TEST(first.deliveries[0].crashes == 0u);
  complete_sync(writer, crashed(first.deliveries[0], true));

  ClaimResult second = claim_sync(writer);
  BOOST_REQUIRE(second.deliveries.size() == 1u);
  BOOST_TEST(second.deliveries[0].crashes == 1u);
  BOOST_TEST(second.deliveries[0].attempt == 2u);
  complete_sync(writer, crashed(second.deliveries[0], false));  // a suspect: not counted

  ClaimResult third = claim_sync(writer);
  BOOST_REQUIRE(third.deliveries.size() == 1u);
  BOOST_TEST(third.deliveries[0].crashes == 1u);
  DeliveryResult dead = crashed(third.deliveries[0], true);
  dead.state = DeliveryResult::State::dead;
  complete_sync(writer, dead);
  writer.stop();

  {
    Db db(path);
    BOOST_TEST(db.integer("SELECT crashes FROM deliveries") == 2);
    BOOST_TEST(db.text("SELECT state FROM deliveries") == "dead");
    BOOST_TEST(db.text("SELECT group_concat(outcome) FROM (SELECT outcome FROM attempts "
                       "ORDER BY attempt)") == "crashed,crashed,crashed");
  }
  Db rw(path, false);
  ReplayRequest replay_dead;
  replay_dead.dead_only = true;
  BOOST_TEST(replay(rw.get(), replay_dead, unix_now_us()) == 1u);
  BOOST_TEST(rw.integer("SELECT crashes FROM deliveries") == 0);
  BOOST_TEST(rw.integer("SELECT attempts FROM deliveries") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
