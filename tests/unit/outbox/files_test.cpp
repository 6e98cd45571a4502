// The store lock (one server per store) and the store files' modes and access checks.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hookd/outbox/files.hpp"
#include "hookd/outbox/lock.hpp"
#include "temp_dir.hpp"

using namespace hookd::outbox;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 01000;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox_files)

BOOST_AUTO_TEST_CASE(a_second_lock_on_the_store_is_refused_naming_the_store_and_the_holder) {
  hookd::test::TempDir tmp;
  const std::string store = tmp.file("sub/hookd.db");
  {
    StoreLock first(store);
    BOOST_TEST(first.held());
    BOOST_TEST(first.path() == store + ".lock");
    BOOST_TEST(mode_of(first.path()) == 0600u);
    try {
      StoreLock second(store);
      BOOST_FAIL("a second lock was granted");
    } catch (const StoreLockedError& e) {
      const std::string what = e.what();
      BOOST_TEST(what.find(store) != std::string::npos, what);
      BOOST_TEST(what.find("pid " + std::to_string(::getpid())) != std::string::npos, what);
    }
  }
  StoreLock again(store);  // released with the first
  BOOST_TEST(again.held());
}

BOOST_AUTO_TEST_CASE(a_lock_file_that_cannot_be_created_is_not_fatal) {
  hookd::test::TempDir tmp;
  const std::string blocker = tmp.write("blocker", "a file where a directory should be");
  StoreLock lock(blocker + "/hookd.db");  // the store cannot be opened either: not ready
  BOOST_TEST(!lock.held());
}

BOOST_AUTO_TEST_CASE(readable_store_files_we_own_are_made_private) {
  hookd::test::TempDir tmp;
  const std::string db = tmp.write("hookd.db", "");
  tmp.write("hookd.db-wal", "");
  ::chmod(db.c_str(), 0644);
  ::chmod((db + "-wal").c_str(), 0660);
  restrict_store_files(db);
  BOOST_TEST(mode_of(db) == 0600u);
  BOOST_TEST(mode_of(db + "-wal") == 0600u);
  BOOST_TEST(mode_of(db + "-shm") == 01000u);  // not created by the check
}

BOOST_AUTO_TEST_CASE(a_missing_or_writable_store_passes_the_access_check) {
  hookd::test::TempDir tmp;
  BOOST_CHECK_NO_THROW(check_store_access(tmp.file("missing.db")));
  const std::string db = tmp.write("hookd.db", "");
  tmp.write("hookd.db-shm", "");
  BOOST_CHECK_NO_THROW(check_store_access(db));
}

// Root may write anything, so the unwritable case runs in a child that drops to nobody.
BOOST_AUTO_TEST_CASE(a_store_file_we_cannot_write_is_named_by_the_access_check) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to switch to another user");
    return;
  }
  hookd::test::TempDir tmp;
  constexpr uid_t kNobody = 65534;
  const std::string db = tmp.write("hookd.db", "");
  const std::string shm = tmp.write("hookd.db-shm", "");  // root's, 0644
  ::chmod(shm.c_str(), 0644);
  BOOST_REQUIRE(::chown(tmp.path().c_str(), kNobody, kNobody) == 0);
  BOOST_REQUIRE(::chown(db.c_str(), kNobody, kNobody) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(3);
    try {
      check_store_access(db);
      ::_exit(1);  // passed: the bug
    } catch (const StoreAccessError& e) {
      const std::string what = e.what();
      ::_exit(what.find(shm) != std::string::npos && what.find("cannot write") != std::string::npos
                  ? 0
                  : 2);
    }
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);  // 1: not refused; 2: another file named
}

// A lock file this user cannot open (left by a server run as root) must not let a second
// server in unnoticed: the start is refused, naming the file.
BOOST_AUTO_TEST_CASE(a_lock_file_we_cannot_open_refuses_the_start) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to switch to another user");
    return;
  }
  hookd::test::TempDir tmp;
  constexpr uid_t kNobody = 65534;
  const std::string db = tmp.file("hookd.db");
  const std::string lock_file = tmp.write("hookd.db.lock", "");  // root's, 0600
  ::chmod(lock_file.c_str(), 0600);
  BOOST_REQUIRE(::chown(tmp.path().c_str(), kNobody, kNobody) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(3);
    try {
      StoreLock lock(db);
      ::_exit(1);  // started without the check: the bug
    } catch (const StoreLockedError& e) {
      ::_exit(std::string(e.what()).find(lock_file) != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);  // 1: not refused; 2: the file not named
}

BOOST_AUTO_TEST_SUITE_END()
