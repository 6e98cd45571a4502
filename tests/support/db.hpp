// Read-only access to a hookd store for assertions in tests.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hookd::test {

class Db {
 public:
  explicit Db(const std::string& path);  // read-only; throws when it cannot open
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // First column of the first row as integer / text, with `?` bound to `args` in order.
  std::int64_t integer(const std::string& sql, const std::vector<std::string>& args = {});
  std::optional<std::string> text(const std::string& sql, const std::vector<std::string>& args = {});
  // First column of every row as text.
  std::vector<std::string> column(const std::string& sql,
                                  const std::vector<std::string>& args = {});

 private:
  sqlite3_stmt* prepare(const std::string& sql, const std::vector<std::string>& args);
  sqlite3* db_ = nullptr;
};

// The state of the (one) delivery of event `event_id` in the store at `path`, or "(none)".
std::string delivery_state(const std::string& path, const std::string& event_id);

// Rows in which the count tables (kept by hookd's writers) and a count of the deliveries
// themselves differ, in the store at `path`; 0 when they agree.
std::int64_t count_mismatches(const std::string& path);

}  // namespace hookd::test
