// backup_store: sqlite3_backup_* into a temporary file, then fsync, rename, fsync dir.
#include "hookd/outbox/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/sqlite.hpp"

namespace hookd::outbox {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void raise_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) raise_errno("open " + path);
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;
  if (!ok) raise_errno("fsync " + path);
}

// The temporary file until it is renamed: removed (with the files SQLite may have left
// beside it) when the backup fails.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() {
    if (keep || path.empty()) return;
    std::error_code ec;
    fs::remove(path, ec);
    for (const char* suffix : {"-journal", "-wal", "-shm"}) fs::remove(path + suffix, ec);
  }
};

// The operator's mistakes, before anything is written.
void check_dest(sqlite3* source, const fs::path& dest, Overwrite overwrite) {
  std::error_code ec;
  const auto status = fs::status(dest, ec);
  if (fs::is_directory(status)) {
    throw QueryError(fmt::format("{} is a directory; name the backup file", dest.string()));
  }
  const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    throw QueryError(fmt::format("no directory {} for the backup", dir.string()));
  }
  if (!fs::exists(status)) return;
  const char* store = sqlite3_db_filename(source, "main");
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    if (store != nullptr && fs::equivalent(dest, std::string(store) + suffix, ec)) {
      throw QueryError(
          fmt::format("{} is the store itself; back it up to another file", dest.string()));
    }
  }
  if (overwrite == Overwrite::refuse) {
    throw QueryError(fmt::format("{} exists; pass --force to replace it", dest.string()));
  }
}

// One read transaction on `source` for the whole copy: a consistent snapshot, which the
// server's writer goes on committing beside (WAL). BUSY and LOCKED are retried.
void copy_pages(sqlite3* source, sqlite3* dest) {
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source, "main");
  if (backup == nullptr) raise(dest, sqlite3_extended_errcode(dest));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) raise(dest, rc);
}

}  // namespace

std::uintmax_t backup_store(sqlite3* source, const std::string& dest_path, Overwrite overwrite) {
  const fs::path dest(dest_path);
  check_dest(source, dest, overwrite);
  const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");

  TempFile temp;
  {
    std::string pattern = (dir / ("." + dest.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // mode 0600
    if (fd < 0) raise_errno("create a temporary file in " + dir.string());
    ::close(fd);
    temp.path = pattern;
  }
  {
    Connection copy = open_connection(temp.path, SQLITE_OPEN_READWRITE);
    copy_pages(source, copy.get());
    // The store is in WAL mode and the copy says so too; one self-contained file is what
    // a backup should be. A server started on it switches it back to WAL.
    if (query_text(copy.get(), "PRAGMA journal_mode=DELETE") != "delete") {
      throw StoreError(SQLITE_ERROR, "the copy cannot leave WAL mode");
    }
    if (const auto check = query_text(copy.get(), "PRAGMA quick_check"); check != "ok") {
      throw StoreError(SQLITE_CORRUPT, "the copy fails PRAGMA quick_check: " + check);
    }
  }
  fsync_path(temp.path, O_RDONLY);
  const std::uintmax_t size = fs::file_size(temp.path);
  if (overwrite == Overwrite::replace) {
    if (::rename(temp.path.c_str(), dest_path.c_str()) != 0) raise_errno("rename to " + dest_path);
  } else if (::renameat2(AT_FDCWD, temp.path.c_str(), AT_FDCWD, dest_path.c_str(),
                         RENAME_NOREPLACE) != 0) {
    // Created since check_dest: still not replaced.
    if (errno == EEXIST) {
      throw QueryError(fmt::format("{} exists; pass --force to replace it", dest_path));
    }
    raise_errno("rename to " + dest_path);
  }
  temp.keep = true;
  fsync_path(dir.string(), O_RDONLY | O_DIRECTORY);
  return size;
}

}  // namespace hookd::outbox
