// Db: a thin read-only sqlite3 wrapper for test assertions.
#include "db.hpp"

#include <stdexcept>

namespace hookd::test {

Db::Db(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
}

Db::~Db() { sqlite3_close(db_); }

sqlite3_stmt* Db::prepare(const std::string& sql, const std::vector<std::string>& args) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error("prepare failed: " + std::string(sqlite3_errmsg(db_)) + ": " + sql);
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    sqlite3_bind_text(stmt, static_cast<int>(i + 1), args[i].data(),
                      static_cast<int>(args[i].size()), SQLITE_TRANSIENT);
  }
  return stmt;
}

std::int64_t Db::integer(const std::string& sql, const std::vector<std::string>& args) {
  sqlite3_stmt* stmt = prepare(sql, args);
  std::int64_t v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  return v;
}

std::optional<std::string> Db::text(const std::string& sql, const std::vector<std::string>& args) {
  sqlite3_stmt* stmt = prepare(sql, args);
  std::optional<std::string> v;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    const void* p = sqlite3_column_blob(stmt, 0);
    int n = sqlite3_column_bytes(stmt, 0);
    v = std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
  }
  sqlite3_finalize(stmt);
  return v;
}

std::vector<std::string> Db::column(const std::string& sql, const std::vector<std::string>& args) {
  sqlite3_stmt* stmt = prepare(sql, args);
  std::vector<std::string> out;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* p = sqlite3_column_text(stmt, 0);
    out.emplace_back(p ? reinterpret_cast<const char*>(p) : "");
  }
  sqlite3_finalize(stmt);
  return out;
}

std::int64_t count_mismatches(const std::string& path) {
  Db db(path);
  const std::string actual =
      "SELECT route, handler, state, count(*) FROM deliveries GROUP BY route, handler, state";
  const std::string kept = "SELECT route, handler, state, n FROM delivery_counts WHERE n <> 0";
  return db.integer("SELECT (SELECT count(*) FROM (" + actual + " EXCEPT " + kept +
                    ")) + (SELECT count(*) FROM (" + kept + " EXCEPT " + actual + "))");
}

std::string delivery_state(const std::string& path, const std::string& event_id) {
  Db db(path);
  return db
      .text(
          "SELECT d.state FROM deliveries d JOIN events e ON e.seq = d.event_seq "
          "WHERE e.id = ?",
          {event_id})
      .value_or("(none)");
}

}  // namespace hookd::test
