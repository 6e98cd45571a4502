// StoreLock: flock on "<store>.lock" with the holder's pid inside.
#include "hookd/outbox/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace hookd::outbox {
namespace {

// The pid the holder wrote, or "unknown" (caught between its open and its write).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

std::string StoreLock::lock_path(const std::string& store_path) {
  return store_path + ".lock";
}

StoreLock::StoreLock(const std::string& store_path) : path_(lock_path(store_path)) {
  const std::filesystem::path file(path_);
  if (file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);  // 0700 under hookd's umask
  }
  // O_CLOEXEC: a child of a plugin (exec) must not inherit, and so keep, the lock.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd_ < 0) {
    const int err = errno;
    // A full or read-only disk, or a path no store can be at: start anyway (the contract:
    // answer 503 until there is room), without the check; nobody can use such a store.
    // Anything else (a lock file left to another user) would let a second server in
    // unnoticed: refuse.
    if (err != ENOSPC && err != EROFS && err != EDQUOT && err != ENOTDIR && err != ENOENT) {
      throw StoreLockedError(fmt::format(
          "cannot open the store lock file {} ({}): without it a second hookd serve could use "
          "the store; fix its owner or mode",
          path_, std::strerror(err)));
    }
    spdlog::warn(
        "cannot create the store lock file {} ({}): starting without the check that no other "
        "hookd serve uses this store",
        path_, std::strerror(err));
    return;
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      const std::string pid = holder_pid(fd_);
      ::close(fd_);
      fd_ = -1;
      throw StoreLockedError(fmt::format(
          "the store {} is in use by another hookd serve (pid {}, lock file {}): one server "
          "per store; stop that one first, or give this one another storage.path",
          store_path, pid, path_));
    }
    ::close(fd_);
    fd_ = -1;
    throw StoreLockedError(fmt::format(
        "cannot lock {} ({}): a file system without locks (a network share?) cannot keep two "
        "servers off one store, and SQLite's own locking is unreliable there too; put the "
        "store on a local file system",
        path_, std::strerror(err)));
  }
  // Best effort: the pid only serves the message of a second server.
  const std::string pid = fmt::format("{}\n", ::getpid());
  [[maybe_unused]] const bool written =
      ::ftruncate(fd_, 0) == 0 &&
      ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hookd::outbox
