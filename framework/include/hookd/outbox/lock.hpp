// The store lock: one `hookd serve` per store. The server holds an exclusive flock on
// `<storage.path>.lock` (which holds its pid, for the message a second server prints) for
// as long as it runs; the CLI commands never take it and work beside a running server.
// Thread-safety: a StoreLock is a plain owner of one descriptor; use it from one thread.
#pragma once

#include <stdexcept>
#include <string>

namespace hookd::outbox {

// Another process holds the lock (what() names the store, the lock file and its pid), or
// the lock cannot be taken for another reason than a full or read-only disk.
class StoreLockedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StoreLock {
 public:
  // The lock file of the store at `store_path`: "<store_path>.lock".
  static std::string lock_path(const std::string& store_path);

  // Creates the lock file (mode 0600, its directory 0700 when missing), takes the lock
  // without waiting and writes our pid into it. Throws StoreLockedError when another
  // process holds it. When the file cannot be created at all (a full disk, an unusable
  // path: the store cannot be opened either, and the server starts not ready as it does
  // for those), logs a warning and holds nothing: held() is false.
  explicit StoreLock(const std::string& store_path);
  ~StoreLock();  // closes the descriptor, which releases the lock; the file stays
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  const std::string& path() const { return path_; }
  bool held() const { return fd_ >= 0; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace hookd::outbox
