// The jofi plugin's own SQLite file: participant → assessment → status, the event ids
// already applied, and the completion notifications with their mailing state.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace hookd::plugins::jofi {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What one JOFI event says about a participant's assessment.
struct Progress {
  std::string route;
  std::string event_id;
  std::string event_type;
  std::int64_t received_at_us = 0;
  std::string participant_id;
  std::string assessment_id;
  std::string status;
  std::optional<std::string> participant_email;
  std::optional<std::string> participant_name;
  std::optional<std::string> assessment_name;
  std::optional<std::string> score;
  bool completed = false;  // a test_taker.assessment_completed event: records a notification
};

// One row of `notifications`, as needed to mail it.
struct Notification {
  std::int64_t id = 0;
  std::string event_id;
  std::string event_type;
  std::string participant_id;
  std::string assessment_id;
  std::string status;
  std::optional<std::string> participant_email;
  std::optional<std::string> participant_name;
  std::optional<std::string> assessment_name;
  std::optional<std::string> score;
  std::string received_at;  // ISO 8601 UTC, as stored
  std::string created_at;
};

// The result of trying to claim an event's notification for sending.
struct Claim {
  enum class State { none, sent, busy, claimed } state = State::none;
  Notification notification;       // State::claimed only
  std::int64_t busy_until_us = 0;  // State::busy only: when the other attempt's claim ends
};

// One connection per Store, serialized by a mutex (handle() runs on many threads; the
// mutex is never held during network I/O). Other Stores on the same file (a config
// reload makes a new instance before the old one goes) wait on busy_timeout.
class Store {
 public:
  // Opens or creates `path` (WAL, synchronous=FULL) and creates the tables. Throws
  // StoreError.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `p` in one transaction: upserts the participant/assessment row, records the
  // event id and, for a completion, inserts its notification. Returns false (and changes
  // nothing) when the event id was applied before. Throws StoreError.
  bool apply(const Progress& p, std::int64_t now_us);

  // Claims the unsent notification recorded for (route, event_id) until `lease_until_us`,
  // so that two concurrent attempts of the same event never both mail it.
  Claim claim(const std::string& route, const std::string& event_id, std::int64_t now_us,
              std::int64_t lease_until_us);
  // After a successful send: sent_at = now, attempts + 1, claim released.
  void mark_sent(std::int64_t id, std::int64_t now_us);
  // After a failed send: attempts + 1, last_error = error, claim released.
  void mark_failed(std::int64_t id, const std::string& error);

 private:
  class Stmt;
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace hookd::plugins::jofi
