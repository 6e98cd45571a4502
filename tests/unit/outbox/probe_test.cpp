// Writer::probe and when_open, what serve's watchdog and READY=1 rely on: a probe is
// answered by an idle writer and not while a transaction waits for another connection's
// write lock; when_open runs once the store is open.
#include <sqlite3.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::eventually;
using hookd::outbox::test::make_event;
using std::chrono::milliseconds;

BOOST_AUTO_TEST_SUITE(writer_probe)

BOOST_AUTO_TEST_CASE(probes_are_answered_between_transactions_only) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  std::atomic<bool> open{false};
  writer.when_open([&] { open = true; });
  BOOST_TEST(eventually([&] { return open.load(); }));
  std::atomic<int> answered{0};
  writer.probe([&] { ++answered; });
  BOOST_TEST(eventually([&] { return answered.load() == 1; }));

  // Another connection holds the write lock: the writer's next transaction waits in the
  // busy handler, and a probe queued meanwhile stays unanswered until the lock goes.
  Db other(options.path, false);
  BOOST_REQUIRE(sqlite3_exec(other.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
  // The claimer's reserve runs on the writer thread once the batch is taken, right before
  // its transaction (it claims nothing): a probe queued after that is not the batch's.
  std::promise<void> taken;
  std::atomic<bool> taken_once{false};
  writer.claim_at_append({[&](std::vector<AppendGrant>& grants) -> std::int64_t {
                            for (AppendGrant& g : grants) g.count = 0;
                            if (!taken_once.exchange(true)) taken.set_value();
                            return 0;
                          },
                          [](ClaimResult) {}});
  // The append's callback runs on the writer thread after its COMMIT, before the writer's
  // next turn: what it sees of the probe is what the transaction let through.
  std::promise<AppendResult> appended;
  std::atomic<int> answered_at_commit{-1};
  writer.append(make_event("r", "e1"), [&](AppendResult r) {
    answered_at_commit = answered.load();
    appended.set_value(std::move(r));
  });
  // Not REQUIRE, here and below: the writer's callbacks refer to this scope's promises.
  BOOST_TEST((taken.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready));
  writer.probe([&] { ++answered; });
  // Not a timing dependency: the checks below hold whenever the lock goes. Held a moment
  // longer, it only makes the writer wait in the busy handler, the case this test is about.
  std::this_thread::sleep_for(milliseconds(200));
  BOOST_TEST(sqlite3_exec(other.get(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST((appended.get_future().get().status == AppendStatus::accepted));
  BOOST_TEST(answered_at_commit.load() == 1);  // the probe waited for the transaction
  BOOST_TEST(eventually([&] { return answered.load() == 2; }));

  writer.stop();
  // Dropped: a stopped writer makes no progress. stop() joined its thread, so nothing can
  // answer the probe later either.
  writer.probe([&] { ++answered; });
  BOOST_TEST(answered.load() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
