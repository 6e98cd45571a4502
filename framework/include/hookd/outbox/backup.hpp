// `hookd backup`: an online, consistent copy of the store, written atomically, while the
// server runs. The copy comes from one read transaction (a WAL snapshot), so the server's
// writer is never blocked and the store lock is not taken.
// Thread-safety: uses only the connection it is given (one thread at a time).
#pragma once

#include <cstdint>
#include <string>

struct sqlite3;

namespace hookd::outbox {

enum class Overwrite { refuse, replace };

// Copies the database open on `source` (a read-only connection, e.g. from open_store) to
// `dest`: a private temporary file (mode 0600) in dest's directory, filled through SQLite's
// online backup API, set to rollback-journal mode (one self-contained file), checked with
// PRAGMA quick_check, fsync'ed, renamed to `dest` and the directory fsync'ed. An existing
// `dest` is replaced only with Overwrite::replace. Returns the size of the copy in bytes.
// Throws QueryError for the operator's mistakes (dest exists, is a directory, is the store
// itself, its directory is missing), StoreError or std::system_error otherwise; the
// temporary file is removed on every failure.
std::uintmax_t backup_store(sqlite3* source, const std::string& dest, Overwrite overwrite);

}  // namespace hookd::outbox
