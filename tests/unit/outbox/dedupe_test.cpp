// Deduplication on (route, id): across batches, across routes, inside one batch.
#include <boost/test/unit_test.hpp>

#include <future>

#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::make_event;

BOOST_AUTO_TEST_SUITE(outbox_dedupe)

BOOST_AUTO_TEST_CASE(same_route_and_id_twice_is_a_duplicate) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  BOOST_TEST(
      (append_sync(writer, make_event("r", "evt_1", "first")).status == AppendStatus::accepted));
  BOOST_TEST(
      (append_sync(writer, make_event("r", "evt_1", "second")).status == AppendStatus::duplicate));
  writer.stop();
  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 1);
  BOOST_TEST(db.bytes("SELECT body FROM events WHERE id = ?1", "evt_1") == "first");
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 1);  // nothing queued again
}

BOOST_AUTO_TEST_CASE(same_id_on_two_routes_is_two_events) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  Writer writer(options);
  BOOST_TEST((append_sync(writer, make_event("live", "evt_1")).status == AppendStatus::accepted));
  BOOST_TEST((append_sync(writer, make_event("test", "evt_1")).status == AppendStatus::accepted));
  writer.stop();
  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id = 'evt_1'") == 2);
}

BOOST_AUTO_TEST_CASE(duplicate_inside_one_batch) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.max_events = 3;                    // the batch closes at three appends ...
  options.max_wait = std::chrono::hours(1);  // ... and not before
  Writer writer(options);
  std::promise<AppendResult> first, second, other;
  writer.append(make_event("r", "x"), [&](AppendResult r) { first.set_value(r); });
  writer.append(make_event("r", "x"), [&](AppendResult r) { second.set_value(r); });
  writer.append(make_event("r", "y"), [&](AppendResult r) { other.set_value(r); });
  BOOST_TEST((first.get_future().get().status == AppendStatus::accepted));
  BOOST_TEST((second.get_future().get().status == AppendStatus::duplicate));
  BOOST_TEST((other.get_future().get().status == AppendStatus::accepted));
  BOOST_TEST(writer.stats().batches == 1u);
  writer.stop();
  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 2);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries") == 2);
}

BOOST_AUTO_TEST_SUITE_END()
