// The writer's side of the database: the one writing connection, its prepared statements,
// and the transaction that commits a batch of appends. Used only by the writer thread.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "hookd/outbox/event.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::outbox {

class Checkpointer;

class Store {
 public:
  // Creates the parent directory and the file when missing, configures the connection
  // (WAL, synchronous, foreign keys, busy timeout, no automatic checkpoint), migrates,
  // prepares the statements and starts the checkpointer. Throws StoreError / SchemaError
  // / std::filesystem::filesystem_error.
  explicit Store(const WriterOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Commits `events` in one transaction; on return `statuses[i]` is accepted or duplicate
  // for events[i] and the transaction is committed. On failure rolls back and throws
  // StoreError: nothing of the batch is stored.
  void commit(std::span<const NewEvent* const> events, std::vector<AppendStatus>& statuses);

  // Whether the connection should be thrown away and reopened after a failure with this
  // code (I/O errors, a file replaced or removed underneath us, corruption), rather than
  // simply retried with the next batch (a full disk, a busy lock).
  static bool needs_reopen(int code);
  // True when a failed batch could not even be rolled back: the connection is unusable.
  bool broken() const { return broken_; }

 private:
  void insert_one(const NewEvent& event, std::int64_t now_us, AppendStatus& status);
  void run(sqlite3_stmt* stmt);  // steps to SQLITE_DONE and resets; throws StoreError
  void rollback() noexcept;
  void catch_up() noexcept;
  // sqlite3_wal_hook: runs on the writer thread after each commit; `self` is the Store.
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);

  Connection db_;
  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement insert_event_;
  Statement insert_delivery_;
  std::unique_ptr<Checkpointer> checkpointer_;
  bool broken_ = false;
  int wal_pages_ = 0;    // WAL size after the last commit
  int catch_up_at_ = 0;  // run catch_up() before the next batch once wal_pages_ reaches this
};

}  // namespace hookd::outbox
