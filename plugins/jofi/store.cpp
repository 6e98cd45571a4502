// The jofi plugin's SQLite store; see store.hpp for what each call does in one transaction.
#include "store.hpp"

#include <filesystem>

#include "mail.hpp"

namespace hookd::plugins::jofi {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS participant_assessments (
  participant_id TEXT NOT NULL,
  assessment_id TEXT NOT NULL,
  status TEXT NOT NULL,
  participant_email TEXT,
  participant_name TEXT,
  assessment_name TEXT,
  score NUMERIC,
  completed_at TEXT,
  last_event_id TEXT NOT NULL,
  last_event_type TEXT NOT NULL,
  last_event_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (participant_id, assessment_id)
);
CREATE TABLE IF NOT EXISTS applied_events (
  route TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (route, event_id)
);
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY,
  route TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  participant_id TEXT NOT NULL,
  assessment_id TEXT NOT NULL,
  status TEXT NOT NULL,
  participant_email TEXT,
  participant_name TEXT,
  assessment_name TEXT,
  score NUMERIC,
  received_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  claimed_until_us INTEGER,
  UNIQUE (route, event_id)
);
)sql";

// Upsert of one event. A row that has seen a completion keeps its status against later
// non-completion events (invitation.* / started arriving late); see docs/plugins-bundled.md.
constexpr const char* kUpsert = R"sql(
INSERT INTO participant_assessments (participant_id, assessment_id, status, participant_email,
  participant_name, assessment_name, score, completed_at, last_event_id, last_event_type,
  last_event_at, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 THEN ?11 END, ?9, ?10, ?11, ?12, ?12)
ON CONFLICT (participant_id, assessment_id) DO UPDATE SET
  status = CASE WHEN completed_at IS NOT NULL AND excluded.completed_at IS NULL
                THEN status ELSE excluded.status END,
  participant_email = COALESCE(excluded.participant_email, participant_email),
  participant_name = COALESCE(excluded.participant_name, participant_name),
  assessment_name = COALESCE(excluded.assessment_name, assessment_name),
  score = COALESCE(excluded.score, score),
  completed_at = COALESCE(excluded.completed_at, completed_at),
  last_event_id = excluded.last_event_id,
  last_event_type = excluded.last_event_type,
  last_event_at = excluded.last_event_at,
  updated_at = excluded.updated_at
)sql";

constexpr const char* kInsertNotification = R"sql(
INSERT INTO notifications (route, event_id, event_type, participant_id, assessment_id, status,
  participant_email, participant_name, assessment_name, score, received_at, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
)sql";

constexpr const char* kSelectNotification = R"sql(
SELECT id, event_id, event_type, participant_id, assessment_id, status, participant_email,
  participant_name, assessment_name, CAST(score AS TEXT), received_at, created_at, sent_at,
  claimed_until_us
FROM notifications WHERE route = ?1 AND event_id = ?2
)sql";

}  // namespace

// A prepared statement, finalized on scope exit; binds and steps with errors as StoreError.
class Store::Stmt {
 public:
  Stmt(Store& store, const char* sql) : store_(store) {
    if (sqlite3_prepare_v2(store_.db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      store_.fail("prepare");
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind(int i, const std::optional<std::string>& v) {
    return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i));
  }
  Stmt& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }

  // True for a row, false when done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store_.fail("step");
  }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  bool null(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<std::string> opt_text(int col) {
    if (null(col)) return std::nullopt;
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string text(int col) { return opt_text(col).value_or(std::string()); }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) store_.fail("bind");
    return *this;
  }
  Store& store_;
  sqlite3_stmt* stmt_ = nullptr;
};

Store::Store(const std::string& path) : path_(path) {
  // Like hookd's own store: a missing data directory is created (a first start).
  if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw StoreError("cannot open " + path + ": " + ec.message());
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError("cannot open " + path + ": " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("BEGIN IMMEDIATE");
    exec(kSchema);
    exec("COMMIT");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() {
  sqlite3_close(db_);
}

void Store::fail(const std::string& what) {
  throw StoreError("database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void Store::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail("exec");
}

bool Store::apply(const Progress& p, std::int64_t now_us) {
  const std::string now = iso8601_utc(now_us);
  const std::string received = iso8601_utc(p.received_at_us);
  std::lock_guard lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    {
      Stmt insert(*this,
                  "INSERT INTO applied_events (route, event_id, event_type, applied_at) "
                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
      insert.bind(1, p.route).bind(2, p.event_id).bind(3, p.event_type).bind(4, now).step();
    }
    if (sqlite3_changes(db_) == 0) {  // applied before: nothing to change
      exec("ROLLBACK");
      return false;
    }
    Stmt upsert(*this, kUpsert);
    upsert.bind(1, p.participant_id).bind(2, p.assessment_id).bind(3, p.status);
    upsert.bind(4, p.participant_email).bind(5, p.participant_name).bind(6, p.assessment_name);
    upsert.bind(7, p.score).bind(8, std::int64_t{p.completed ? 1 : 0});
    upsert.bind(9, p.event_id).bind(10, p.event_type).bind(11, received).bind(12, now).step();
    if (p.completed) {
      Stmt note(*this, kInsertNotification);
      note.bind(1, p.route).bind(2, p.event_id).bind(3, p.event_type).bind(4, p.participant_id);
      note.bind(5, p.assessment_id).bind(6, p.status).bind(7, p.participant_email);
      note.bind(8, p.participant_name).bind(9, p.assessment_name).bind(10, p.score);
      note.bind(11, received).bind(12, now).step();
    }
    exec("COMMIT");
    return true;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Claim Store::claim(const std::string& route, const std::string& event_id, std::int64_t now_us,
                   std::int64_t lease_until_us) {
  std::lock_guard lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    Claim out;
    Stmt select(*this, kSelectNotification);
    select.bind(1, route).bind(2, event_id);
    if (!select.step()) {
      out.state = Claim::State::none;
    } else if (!select.null(12)) {
      out.state = Claim::State::sent;
    } else if (!select.null(13) && select.integer(13) > now_us) {
      out.state = Claim::State::busy;
      out.busy_until_us = select.integer(13);
    } else {
      Notification& n = out.notification;
      n.id = select.integer(0);
      n.event_id = select.text(1);
      n.event_type = select.text(2);
      n.participant_id = select.text(3);
      n.assessment_id = select.text(4);
      n.status = select.text(5);
      n.participant_email = select.opt_text(6);
      n.participant_name = select.opt_text(7);
      n.assessment_name = select.opt_text(8);
      n.score = select.opt_text(9);
      n.received_at = select.text(10);
      n.created_at = select.text(11);
      Stmt update(*this, "UPDATE notifications SET claimed_until_us = ?1 WHERE id = ?2");
      update.bind(1, lease_until_us).bind(2, n.id).step();
      out.state = Claim::State::claimed;
    }
    exec("COMMIT");
    return out;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Store::mark_sent(std::int64_t id, std::int64_t now_us) {
  std::lock_guard lock(mutex_);
  Stmt update(*this,
              "UPDATE notifications SET sent_at = ?1, attempts = attempts + 1, "
              "last_error = NULL, claimed_until_us = NULL WHERE id = ?2");
  update.bind(1, iso8601_utc(now_us)).bind(2, id).step();
}

void Store::mark_failed(std::int64_t id, const std::string& error) {
  std::lock_guard lock(mutex_);
  Stmt update(*this,
              "UPDATE notifications SET attempts = attempts + 1, last_error = ?1, "
              "claimed_until_us = NULL WHERE id = ?2");
  update.bind(1, error).bind(2, id).step();
}

}  // namespace hookd::plugins::jofi
