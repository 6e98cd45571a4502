// SQLite RAII helpers: open, exec, prepare and error text for the outbox.
#include "hookd/outbox/sqlite.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

namespace hookd::outbox {

void ConnectionCloser::operator()(sqlite3* db) const noexcept {
  sqlite3_close_v2(db);
}

void StatementFinalizer::operator()(sqlite3_stmt* stmt) const noexcept {
  sqlite3_finalize(stmt);
}

namespace {

// The name of a primary result code, so a log line can be grepped for SQLITE_FULL.
const char* primary_name(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLite error";
  }
}

}  // namespace

std::string describe(sqlite3* db, int rc) {
  const char* str = sqlite3_errstr(rc);
  std::string out = str != nullptr ? str : "unknown error";
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    const char* msg = sqlite3_errmsg(db);
    if (msg != nullptr && out != msg) {
      out += ": ";
      out += msg;
    }
  }
  out += fmt::format(" ({} {})", primary_name(rc), rc);
  return out;
}

void raise(sqlite3* db, int rc) {
  throw StoreError(rc, describe(db, rc));
}

// Process-wide SQLite settings, made before its first use in this process (later,
// sqlite3_config() refuses with SQLITE_MISUSE and the defaults stay: slower, not wrong).
// Every page cache, also that of the ephemeral table behind each UPDATE ... RETURNING,
// starts by default with a bulk allocation of 20 pages (about 86 KB). glibc gives such a
// block back to the kernel when it is freed (madvise, with a TLB shootdown) and the next
// statement faults its pages in again: with a handler, a quarter of the writer's CPU per
// delivery result. Without the bulk allocation a cache allocates pages as it uses them.
namespace {
void configure_sqlite() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    return true;
  }();
  (void)done;
}
}  // namespace

Connection open_connection(const std::string& path, int flags) {
  configure_sqlite();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);  // closes even a half-open handle
  if (rc != SQLITE_OK) {
    int code = raw != nullptr ? sqlite3_extended_errcode(raw) : rc;
    throw StoreError(code, describe(raw, code));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) raise(db, sqlite3_extended_errcode(db));
}

Transaction::Transaction(sqlite3* db, const char* begin) : db_(db) {
  exec(db_, begin);
}

Transaction::~Transaction() {
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  exec(db_, "COMMIT");
  db_ = nullptr;
}

Statement prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) raise(db, sqlite3_extended_errcode(db));
  return stmt;
}

namespace {

// Steps `sql` once and hands the first row (or null when none) to `read`.
template <class Read>
auto query_one(sqlite3* db, const std::string& sql, Read read) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) raise(db, sqlite3_extended_errcode(db));
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) return read(stmt.get());
  if (rc != SQLITE_DONE) raise(db, sqlite3_extended_errcode(db));
  return read(nullptr);
}

}  // namespace

std::string query_text(sqlite3* db, const std::string& sql) {
  return query_one(db, sql, [](sqlite3_stmt* s) {
    if (s == nullptr) return std::string();
    const auto* text = sqlite3_column_text(s, 0);
    return text != nullptr ? std::string(reinterpret_cast<const char*>(text)) : std::string();
  });
}

long long query_int(sqlite3* db, const std::string& sql) {
  return query_one(db, sql, [](sqlite3_stmt* s) -> long long {
    return s == nullptr ? 0 : sqlite3_column_int64(s, 0);
  });
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void bind_text_static(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

std::string_view column_view(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p == nullptr ? std::string_view()
                      : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

std::string column_text(sqlite3_stmt* s, int i) { return std::string(column_view(s, i)); }

}  // namespace hookd::outbox
