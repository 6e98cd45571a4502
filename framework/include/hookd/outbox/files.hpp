// The store's files on disk (the database, its -wal and -shm): kept private to the user
// hookd runs as, and checked writable before the server starts on them.
// Thread-safety: plain functions on paths.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace hookd::outbox {

// A store file this process cannot read and write; what() names it with owner and mode.
class StoreAccessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database at `path` and the -wal and -shm files SQLite keeps beside it.
std::vector<std::string> store_files(const std::string& path);

// Makes the existing store files private: one that group or others may read or write is
// chmod'ed 0600 with a warning when this process owns it, and only warned about otherwise.
// (New files are private through hookd's umask 077; SQLite gives -wal and -shm the mode
// of the database.)
void restrict_store_files(const std::string& path);

// Throws StoreAccessError naming the first existing store file (or, when the database
// exists, its directory, where SQLite creates -wal and -shm) that this process cannot
// read and write: e.g. a -shm left owned by root by a CLI command run as root. A missing
// database passes (the writer creates it).
void check_store_access(const std::string& path);

}  // namespace hookd::outbox
