// Storage failures: a really full disk (tmpfs), an unusable path, a newer database. Every
// failed append answers unavailable, nothing acknowledged is lost, and the writer recovers.
#include <boost/test/unit_test.hpp>

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "hookd/outbox/schema.hpp"
#include "hookd/outbox/writer.hpp"
#include "outbox_test_util.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;
using hookd::outbox::test::append_sync;
using hookd::outbox::test::Db;
using hookd::outbox::test::eventually;
using hookd::outbox::test::make_event;

namespace {

// A small tmpfs mounted for one test (needs root / CAP_SYS_ADMIN), unmounted at the end.
class TmpfsMount {
 public:
  TmpfsMount(std::filesystem::path dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + size;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_ && ::umount(dir_.c_str()) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool resize(const std::string& size) {
    const std::string options = "size=" + size;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// 64 KiB that are not UTF-8 and contain NULs, different per event.
std::string big_body(int i) {
  std::string body(64 * 1024, '\0');
  for (std::size_t k = 0; k < body.size(); ++k) {
    body[k] = static_cast<char>((k * 131 + static_cast<std::size_t>(i) * 7) & 0xff);
  }
  return body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_failures)

BOOST_AUTO_TEST_CASE(full_disk_answers_unavailable_loses_nothing_and_recovers) {
  hookd::test::TempDir tmp;
  TmpfsMount disk(tmp.path() / "disk", "2m");
  if (!disk.mounted()) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs (" << disk.error() << "); needs root");
    return;
  }
  WriterOptions options;
  options.path = (tmp.path() / "disk" / "hookd.db").string();
  options.reopen_interval = std::chrono::milliseconds(20);
  std::map<std::string, std::string> accepted;  // id -> body
  std::vector<int> failed;
  {
    Writer writer(options);
    for (int i = 0; i < 200 && failed.size() < 3; ++i) {
      auto result = append_sync(writer, make_event("r", "e" + std::to_string(i), big_body(i)));
      if (result.status == AppendStatus::accepted) {
        accepted["e" + std::to_string(i)] = big_body(i);
      } else {
        BOOST_TEST((result.status == AppendStatus::unavailable));
        BOOST_TEST(!result.error.empty());
        if (failed.empty()) BOOST_TEST_MESSAGE("first failure: " << result.error);
        failed.push_back(i);
      }
    }
    BOOST_TEST_MESSAGE(accepted.size() << " accepted before the disk was full");
    BOOST_TEST(!accepted.empty());
    BOOST_REQUIRE(failed.size() == 3u);  // the disk did fill up

    BOOST_REQUIRE(disk.resize("64m"));
    // The senders retry what got 503: it was not stored, so it is accepted now, not a
    // duplicate. (A bounded retry covers a store that is being reopened.)
    for (int i : failed) {
      AppendResult result;
      const std::string id = "e" + std::to_string(i);
      eventually([&] {
        result = append_sync(writer, make_event("r", id, big_body(i)));
        return result.status != AppendStatus::unavailable;
      });
      BOOST_TEST((result.status == AppendStatus::accepted), id << ": " << result.error);
      if (result.status == AppendStatus::accepted) accepted[id] = big_body(i);
    }
    BOOST_TEST((append_sync(writer, make_event("r", "after")).status == AppendStatus::accepted));
    BOOST_TEST(writer.ready());
  }
  Db db(options.path);
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id != 'after'") ==
             static_cast<long long>(accepted.size()));
  for (const auto& [id, body] : accepted) {
    BOOST_TEST((db.bytes("SELECT body FROM events WHERE id = ?1", id) == body), id);
  }
  BOOST_TEST(db.text("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_CASE(starting_on_a_full_disk_answers_unavailable_until_there_is_room) {
  hookd::test::TempDir tmp;
  TmpfsMount disk(tmp.path() / "disk", "1m");
  if (!disk.mounted()) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs (" << disk.error() << "); needs root");
    return;
  }
  const auto filler = tmp.path() / "disk" / "filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string chunk(64 * 1024, 'f');
    for (int i = 0; i < 64 && out; ++i) out.write(chunk.data(), chunk.size());
  }
  WriterOptions options;
  options.path = (tmp.path() / "disk" / "data" / "hookd.db").string();
  options.reopen_interval = std::chrono::milliseconds(20);
  Writer writer(options);
  auto result = append_sync(writer, make_event("r", "e"));
  BOOST_TEST((result.status == AppendStatus::unavailable));
  BOOST_TEST_MESSAGE(result.error);
  BOOST_TEST(!writer.ready());

  std::filesystem::remove(filler);
  BOOST_TEST(eventually([&] { return writer.ready(); }));
  BOOST_TEST((append_sync(writer, make_event("r", "e")).status == AppendStatus::accepted));
}

BOOST_AUTO_TEST_CASE(unusable_path_is_not_ready_and_answers_unavailable_until_fixed) {
  hookd::test::TempDir tmp;
  const std::string blocker = tmp.write("blocker", "a file where a directory should be");
  WriterOptions options;
  options.path = blocker + "/sub/hookd.db";
  options.reopen_interval = std::chrono::milliseconds(20);
  Writer writer(options);
  BOOST_TEST(!writer.ready());
  for (int i = 0; i < 3; ++i) {
    auto result = append_sync(writer, make_event("r", "e" + std::to_string(i)));
    BOOST_TEST((result.status == AppendStatus::unavailable));
    BOOST_TEST(!result.error.empty());
    BOOST_TEST_MESSAGE(result.error);
  }
  BOOST_TEST(!writer.ready());

  // The operator fixes the path; the writer notices on its own.
  std::filesystem::remove(blocker);
  BOOST_TEST(eventually([&] { return writer.ready(); }));
  BOOST_TEST((append_sync(writer, make_event("r", "e0")).status == AppendStatus::accepted));
}

BOOST_AUTO_TEST_CASE(claims_and_prunes_fail_cleanly_while_the_store_is_unusable) {
  hookd::test::TempDir tmp;
  const std::string blocker = tmp.write("blocker", "a file where a directory should be");
  WriterOptions options;
  options.path = blocker + "/sub/hookd.db";
  options.reopen_interval = std::chrono::milliseconds(20);
  Writer writer(options);
  std::promise<ClaimResult> claimed;
  writer.claim({{{"r", "h", 4, false, 3}}, 4, 1'000'000},
               [&](ClaimResult r) { claimed.set_value(std::move(r)); });
  const ClaimResult claim = claimed.get_future().get();
  BOOST_TEST(!claim.ok);
  BOOST_TEST(claim.error.find("storage unavailable") != std::string::npos, claim.error);
  BOOST_TEST(claim.deliveries.empty());
  std::promise<std::optional<PruneResult>> pruned;
  writer.prune({0, 0, 10}, [&](std::optional<PruneResult> n) { pruned.set_value(n); });
  BOOST_TEST(!pruned.get_future().get().has_value());
  writer.complete({});  // dropped: the delivery's lease brings it back
  writer.stop();
  // After stop(), both answer at once instead of queueing.
  bool answered = false;
  writer.claim({}, [&](ClaimResult r) { answered = !r.ok && r.error == "shutting down"; });
  BOOST_TEST(answered);
}

BOOST_AUTO_TEST_CASE(directory_or_garbage_file_is_unavailable) {
  hookd::test::TempDir tmp;
  for (const std::string& path :
       {tmp.path().string(), tmp.write("garbage.db", std::string(8192, 'x')), std::string()}) {
    BOOST_TEST_CONTEXT("path '" << path << "'") {
      WriterOptions options;
      options.path = path;
      Writer writer(options);
      auto result = append_sync(writer, make_event("r", "e"));
      BOOST_TEST((result.status == AppendStatus::unavailable));
      BOOST_TEST_MESSAGE(result.error);
      BOOST_TEST(!writer.ready());
    }
  }
}

BOOST_AUTO_TEST_CASE(newer_database_is_refused_by_the_writer) {
  hookd::test::TempDir tmp;
  const std::string path = tmp.file("hookd.db");
  {
    Db db(path, false);
    migrate(db.get());
    exec(db.get(), "PRAGMA user_version = " + std::to_string(latest_schema_version() + 1));
  }
  WriterOptions options;
  options.path = path;
  Writer writer(options);
  auto result = append_sync(writer, make_event("r", "e"));
  BOOST_TEST((result.status == AppendStatus::unavailable));
  BOOST_TEST(result.error.find("newer") != std::string::npos, result.error);
  BOOST_TEST(!writer.ready());
  writer.stop();
  BOOST_TEST(Db(path).integer("PRAGMA user_version") == latest_schema_version() + 1);
}

BOOST_AUTO_TEST_SUITE_END()
