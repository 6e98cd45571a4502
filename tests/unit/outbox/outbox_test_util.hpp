// Helpers for the outbox suites: building events, appending synchronously, and reading the
// database through a separate connection as an operator (or the CLI) would.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "hookd/outbox/event.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::outbox::test {

inline NewEvent make_event(std::string route, std::string id, std::string body = "{}",
                           std::vector<NewDelivery> deliveries = {{"log", ""}}) {
  NewEvent e;
  e.route = std::move(route);
  e.id = std::move(id);
  e.type = "thing.happened";
  e.received_at_us = 1764336848123456;
  e.headers = {{"Content-Type", "application/json"}};
  e.body = std::move(body);
  e.deliveries = std::move(deliveries);
  return e;
}

// Appends and waits for the callback.
inline AppendResult append_sync(Writer& writer, NewEvent event) {
  std::promise<AppendResult> promise;
  auto future = promise.get_future();
  writer.append(std::move(event), [&promise](AppendResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

// Polls `condition` up to `limit` (a generous bound for a background retry, not a timing
// assertion). Returns the last value.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A read (or write, for schema tests) connection of the test's own.
class Db {
 public:
  explicit Db(const std::string& path, bool read_only = true)
      : db_(open_connection(
            path, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) {
    sqlite3_busy_timeout(db_.get(), 5000);
  }
  sqlite3* get() const { return db_.get(); }
  long long integer(const std::string& sql) const { return query_int(db_.get(), sql); }
  std::string text(const std::string& sql) const { return query_text(db_.get(), sql); }

  // The first column of the first row as raw bytes (a blob), with `param` bound to ?1.
  std::string bytes(const std::string& sql, const std::string& param) const {
    Statement stmt = prepare(db_.get(), sql);
    sqlite3_bind_text(stmt.get(), 1, param.data(), static_cast<int>(param.size()),
                      SQLITE_TRANSIENT);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) return "<no row>";
    const void* p = sqlite3_column_blob(stmt.get(), 0);
    int n = sqlite3_column_bytes(stmt.get(), 0);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }

 private:
  Connection db_;
};

}  // namespace hookd::outbox::test
