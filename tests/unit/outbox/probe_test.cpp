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
  auto appended =
      std::async(std::launch::async, [&] { return append_sync(writer, make_event("r", "e1")); });
  std::this_thread::sleep_for(milliseconds(200));  // the batch is in COMMIT's wait by now
  writer.probe([&] { ++answered; });
  std::this_thread::sleep_for(milliseconds(500));
  BOOST_TEST(answered.load() == 1);
  BOOST_REQUIRE(sqlite3_exec(other.get(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST((appended.get().status == AppendStatus::accepted));
  BOOST_TEST(eventually([&] { return answered.load() == 2; }));

  writer.stop();
  writer.probe([&] { ++answered; });  // dropped: a stopped writer makes no progress
  std::this_thread::sleep_for(milliseconds(50));
  BOOST_TEST(answered.load() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
