// Thin RAII over the SQLite C API shared by the outbox code: owned handles, errors that
// carry the SQLite result code, and one-line helpers for exec/prepare/step.
// Thread-safety: a Connection and its Statements belong to one thread at a time.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace hookd::outbox {

// A failed SQLite call. code() is the (extended) SQLite result code; what() is the
// library's message, never request data.
class StoreError : public std::runtime_error {
 public:
  StoreError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct ConnectionCloser {
  void operator()(sqlite3* db) const noexcept;  // sqlite3_close_v2
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept;  // sqlite3_finalize
};

// Owning handles: the Connection must outlive its Statements.
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Opens `path` with SQLITE_OPEN_* `flags` (extended result codes on). Throws StoreError.
Connection open_connection(const std::string& path, int flags);

// Runs one or more statements that return no rows of interest. Throws StoreError.
void exec(sqlite3* db, const std::string& sql);

// Runs a statement that returns one row and gives its first column as text ("" when no
// row), e.g. "PRAGMA journal_mode=WAL". Throws StoreError.
std::string query_text(sqlite3* db, const std::string& sql);
long long query_int(sqlite3* db, const std::string& sql);

// Prepares one statement meant to be kept and reused. Throws StoreError.
Statement prepare(sqlite3* db, std::string_view sql);

// Binds text parameter `i` (1-based). bind_text copies `v` (SQLITE_TRANSIENT);
// bind_text_static does not (SQLITE_STATIC): `v` must outlive the statement's next step.
void bind_text(sqlite3_stmt* s, int i, std::string_view v);
void bind_text_static(sqlite3_stmt* s, int i, std::string_view v);

// Column `i` of the current row as text ("" for NULL). column_view is valid until the
// statement is stepped again or reset: for values only looked at.
std::string column_text(sqlite3_stmt* s, int i);
std::string_view column_view(sqlite3_stmt* s, int i);

// "database or disk is full (SQLITE_FULL): <errmsg>" for result code `rc` on `db`
// (`db` may be null). Contains no bound parameter values.
std::string describe(sqlite3* db, int rc);

// Throws StoreError(rc, describe(db, rc)).
[[noreturn]] void raise(sqlite3* db, int rc);

// A transaction begun by the constructor (`begin`: "BEGIN", "BEGIN IMMEDIATE") and rolled
// back on destruction unless commit() ran. Not thread-safe (nor is the connection).
class Transaction {
 public:
  explicit Transaction(sqlite3* db, const char* begin = "BEGIN IMMEDIATE");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
};

}  // namespace hookd::outbox
