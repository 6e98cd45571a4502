// WAL checkpointing off the commit path: the background checkpointer folds the WAL into the
// database file, and under continuous writes the WAL file stays bounded.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>

#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::eventually;
using hookd::outbox::test::make_event;

namespace {

constexpr std::uintmax_t kBody = 64 * 1024;  // 16+ pages per event

std::uintmax_t size_of(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_checkpoint)

BOOST_AUTO_TEST_CASE(background_checkpointer_copies_the_wal_into_the_database) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  Writer writer(options);
  // ~2000 WAL pages: past the checkpointer's threshold (1000), below the point where the
  // writer would catch up itself (4000), so only the background thread writes the file.
  constexpr int kEvents = 120;
  for (int i = 0; i < kEvents; ++i) {
    BOOST_REQUIRE(
        (append_sync(writer, make_event("r", std::to_string(i), std::string(kBody, 'x'))).status ==
         AppendStatus::accepted));
  }
  BOOST_TEST(eventually([&] { return size_of(options.path) >= kEvents * kBody; }),
             "database file: " << size_of(options.path) << " bytes");
}

BOOST_AUTO_TEST_CASE(wal_stays_bounded_under_continuous_writes) {
  hookd::test::TempDir tmp;
  WriterOptions options;
  options.path = tmp.file("hookd.db");
  options.fsync_each_commit = false;
  options.max_events = 8;        // keep one transaction small next to the bound checked below
  constexpr int kEvents = 1500;  // ~96 MiB of bodies
  std::atomic<std::uintmax_t> largest_wal{0};
  {
    Writer writer(options);
    std::atomic<int> left{kEvents};
    for (int i = 0; i < kEvents; ++i) {
      writer.append(make_event("r", std::to_string(i), std::string(kBody, 'y')), [&](AppendResult) {
        // On the writer thread, between two batches.
        auto wal = size_of(options.path + "-wal");
        if (wal > largest_wal) largest_wal = wal;
        --left;
      });
    }
    writer.stop();
    BOOST_TEST(left.load() == 0);
  }
  BOOST_TEST_MESSAGE("largest WAL: " << largest_wal.load() / 1024 << " KiB for "
                                     << kEvents * kBody / 1024 << " KiB of bodies");
  // The writer catches up at 4000 pages (16 MiB); one batch of 8 events adds 0.5 MiB.
  BOOST_TEST(largest_wal.load() < 24u * 1024 * 1024);
  BOOST_TEST(!std::filesystem::exists(options.path + "-wal"));  // removed on a clean close
}

BOOST_AUTO_TEST_SUITE_END()
