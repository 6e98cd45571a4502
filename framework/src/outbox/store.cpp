// The writing connection: setup, statements, and the one-transaction-per-batch commit.
#include "store.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "checkpointer.hpp"
#include "hookd/outbox/files.hpp"
#include "hookd/outbox/headers_json.hpp"
#include "hookd/outbox/schema.hpp"
#include "pragmas.hpp"

namespace hookd::outbox {
namespace {

// Also checkpoint on a timer, so that a quiet server's WAL is folded in soon after a burst.
constexpr std::chrono::milliseconds kCheckpointInterval{5000};

// A duplicate (route, id) is not an error: DO NOTHING and sqlite3_changes() == 0 say so.
constexpr std::string_view kInsertEvent =
    "INSERT INTO events (route, id, type, test, received_at, headers, body, unmatched) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (route, id) DO NOTHING";

// A handler listed twice for one event gets one delivery, instead of failing the batch.
// Pending, or claimed at append: running, attempt 1, leased until ?7.
constexpr std::string_view kInsertDelivery =
    "INSERT INTO deliveries (event_seq, handler, scheduled_at, ordering_key, updated_at, route, "
    "state, attempts, lease_until) VALUES (?1, ?2, ?3, ?4, ?3, ?5, "
    "CASE WHEN ?6 THEN 'running' ELSE 'pending' END, ?6, ?7) "
    "ON CONFLICT (event_seq, handler) DO NOTHING";

}  // namespace

Store::Store(const WriterOptions& options) {
  if (options.path.empty()) throw StoreError(SQLITE_CANTOPEN, "storage path is empty");
  std::filesystem::path file(options.path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  // Before SQLite opens (and creates -wal and -shm with the database's mode).
  restrict_store_files(options.path);
  check_store_access(options.path);

  db_ = open_connection(options.path,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  sqlite3* db = db_.get();
  sqlite3_busy_timeout(db, kWriterBusyTimeoutMs);
  std::string mode = query_text(db, "PRAGMA journal_mode = WAL");
  if (mode != "wal") {
    throw StoreError(
        SQLITE_ERROR,
        fmt::format("cannot put the database in WAL mode (journal_mode is '{}')", mode));
  }
  exec(db, options.fsync_each_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  exec(db, "PRAGMA foreign_keys = ON");
  exec(db, kJournalSizeLimitPragma);
  // Must precede sqlite3_wal_hook: wal_autocheckpoint is itself implemented as a WAL hook
  // and would replace ours.
  exec(db, "PRAGMA wal_autocheckpoint = 0");
  migrate(db);

  begin_ = prepare(db, "BEGIN IMMEDIATE");
  commit_ = prepare(db, "COMMIT");
  rollback_ = prepare(db, "ROLLBACK");
  savepoint_ = prepare(db, "SAVEPOINT part");
  release_ = prepare(db, "RELEASE part");
  rollback_to_ = prepare(db, "ROLLBACK TO part");
  insert_event_ = prepare(db, kInsertEvent);
  insert_delivery_ = prepare(db, kInsertDelivery);
  prepare_delivery_statements();
  count_tables_ = std::make_unique<CountTables>(db);

  checkpointer_ =
      std::make_unique<Checkpointer>(options.path, kCheckpointInterval, options.fsync_each_commit);
  catch_up_at_ = Checkpointer::kCatchUpPages;
  sqlite3_wal_hook(db, &Store::on_wal_commit, this);
}

Store::~Store() {
  // The checkpointer goes first, the statements before the connection (member order).
  // Closing the last connection checkpoints and removes the WAL.
  sqlite3_wal_hook(db_.get(), nullptr, nullptr);
  checkpointer_.reset();
}

bool Store::needs_reopen(int code) {
  switch (code & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
      return true;
    default:
      return code == SQLITE_READONLY_DBMOVED;
  }
}

void Store::commit(const Work& work, Done& done) {
  done.statuses.assign(work.events.size(), AppendStatus::unavailable);
  done.claims.clear();
  done.pruned.clear();
  done.prune_error.clear();
  done.new_deliveries = false;
  done.append_claims.clear();
  done.now_us = 0;
  done.given_back = 0;
  if (wal_pages_ >= catch_up_at_) catch_up();
  try {
    run(begin_.get());
    // After BEGIN, which may have waited for another process's write lock: a lease starts
    // when the claim is made, not before.
    const std::int64_t now = unix_now_us();
    done.now_us = now;
    std::vector<std::size_t> left;
    left.reserve(work.grants.size());
    for (const AppendGrant& grant : work.grants) left.push_back(grant.count);
    for (std::size_t i = 0; i < work.events.size(); ++i) insert_one(work, i, now, left, done);
    // Nothing below may fail the appends: each part has a savepoint of its own.
    done.given_back = give_back_leases(work.failed_leases, now);
    if (done.given_back > 0) done.new_deliveries = true;  // pending again: the engine claims them
    apply_starts(work.starts);
    apply_results(work.results, now);
    for (const ClaimRequest* request : work.claims) {
      ClaimResult result;
      std::string error = isolated([&] { result = claim(*request, now); });
      if (!error.empty()) {
        result = ClaimResult{};
        result.error = "claim failed: " + error;
      }
      done.claims.push_back(std::move(result));
    }
    for (const PruneRequest* request : work.prunes) {
      PruneResult pruned;
      std::string error = isolated([&] { pruned = prune(*request); });
      if (error.empty()) {
        done.pruned.emplace_back(pruned);
      } else {
        done.pruned.emplace_back();
        done.prune_error = error;
      }
    }
    count_tables_->write(counts_);
    run(commit_.get());
  } catch (...) {
    counts_.clear();
    rollback();
    done.statuses.assign(work.events.size(), AppendStatus::unavailable);
    done.claims.clear();
    done.pruned.clear();
    done.new_deliveries = false;
    done.append_claims.clear();
    throw;
  }
}

std::string Store::isolated(const std::function<void()>& part) {
  run(savepoint_.get());
  std::string error;
  int code = SQLITE_ERROR;
  const CountDeltas counted = counts_;  // what a part rolled back to its savepoint counted goes
  try {
    part();
    run(release_.get());
    return {};
  } catch (const StoreError& e) {
    error = e.what();
    code = e.code();
  } catch (const std::exception& e) {
    error = e.what();
  }
  // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) may roll back the whole
  // transaction: then the batch fails as a whole.
  if (sqlite3_get_autocommit(db_.get()) != 0) throw StoreError(code, error);
  counts_ = counted;
  run(rollback_to_.get());
  run(release_.get());
  return error.empty() ? std::string("unknown error") : error;
}

void Store::insert_one(const Work& work, std::size_t index, std::int64_t now,
                       std::vector<std::size_t>& left, Done& done) {
  const NewEvent& event = *work.events[index];
  AppendStatus& status = done.statuses[index];
  sqlite3* db = db_.get();
  sqlite3_stmt* s = insert_event_.get();
  const std::string headers = headers_to_json(event.headers);
  bind_text_static(s, 1, event.route);
  bind_text_static(s, 2, event.id);
  bind_text_static(s, 3, event.type);
  sqlite3_bind_int(s, 4, event.test ? 1 : 0);
  sqlite3_bind_int64(s, 5, event.received_at_us);
  bind_text_static(s, 6, headers);
  // data() is never null, so an empty body is an empty blob, not NULL.
  sqlite3_bind_blob64(s, 7, event.body.data(), event.body.size(), SQLITE_STATIC);
  sqlite3_bind_int(s, 8, event.deliveries.empty() ? 1 : 0);
  run(s);
  if (sqlite3_changes(db) == 0) {
    status = AppendStatus::duplicate;
    return;
  }
  counts_.events(event.route, 1, event.deliveries.empty() ? 1 : 0);
  const sqlite3_int64 seq = sqlite3_last_insert_rowid(db);
  sqlite3_stmt* d = insert_delivery_.get();
  for (const NewDelivery& delivery : event.deliveries) {
    sqlite3_bind_int64(d, 1, seq);
    bind_text_static(d, 2, delivery.handler);
    sqlite3_bind_int64(d, 3, now);
    if (delivery.ordering_key.empty()) {
      sqlite3_bind_null(d, 4);
    } else {
      bind_text_static(d, 4, delivery.ordering_key);
    }
    bind_text_static(d, 5, event.route);
    // A few pairs per batch: a linear search.
    std::size_t grant = 0;
    while (grant < left.size() &&
           (left[grant] == 0 || work.grants[grant].handler != delivery.handler ||
            work.grants[grant].route != event.route)) {
      ++grant;
    }
    const bool claim = grant < left.size();
    sqlite3_bind_int(d, 6, claim ? 1 : 0);
    if (claim) {
      sqlite3_bind_int64(d, 7, now + work.append_lease_us);
    } else {
      sqlite3_bind_null(d, 7);
    }
    run(d);
    if (sqlite3_changes(db) == 0) continue;  // the handler was listed twice
    if (claim) {
      --left[grant];
      done.append_claims.push_back({index, grant, sqlite3_last_insert_rowid(db), seq});
      counts_.deliveries(event.route, delivery.handler, DeliveryState::running, 1);
    } else {
      done.new_deliveries = true;
      counts_.deliveries(event.route, delivery.handler, DeliveryState::pending, 1);
    }
  }
  status = AppendStatus::accepted;
}

int Store::on_wal_commit(void* self, sqlite3*, const char*, int wal_pages) {
  auto* store = static_cast<Store*>(self);
  store->wal_pages_ = wal_pages;
  if (wal_pages >= Checkpointer::kWalPages) store->checkpointer_->request();
  return SQLITE_OK;
}

// The background checkpointer copies the bulk of the WAL into the database, but while
// batches follow each other without a gap, every write begins with some frames not yet
// copied, and SQLite only restarts the WAL from its start when a write begins with all of
// them copied. So once the WAL is large, the writer copies the (few) remaining frames
// itself between two batches and the next BEGIN restarts the WAL.
void Store::catch_up() noexcept {
  int wal_frames = 0;
  int copied = 0;
  // Waits for a background checkpoint in progress: it has copied most frames by then.
  auto hold = checkpointer_->hold();
  int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                     &copied);
  if (rc == SQLITE_BUSY) return;  // another process is at it: try again after the next batch
  if (rc == SQLITE_OK && copied == wal_frames) {
    catch_up_at_ = Checkpointer::kCatchUpPages;
  } else {
    // A reader pins old frames (or the disk is full): do not retry on every batch.
    catch_up_at_ = wal_pages_ + Checkpointer::kWalPages;
  }
}

void Store::run(sqlite3_stmt* stmt) {
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt);
    return;
  }
  fail_statement(stmt, rc);
}

void Store::fail_statement(sqlite3_stmt* stmt, int rc) {
  sqlite3* db = db_.get();
  int code = rc == SQLITE_ROW ? SQLITE_MISUSE : sqlite3_extended_errcode(db);
  StoreError error(code, describe(db, code));
  sqlite3_reset(stmt);
  throw error;
}

void Store::rollback() noexcept {
  sqlite3* db = db_.get();
  // A failed COMMIT may already have rolled back (SQLITE_FULL, SQLITE_IOERR), or left the
  // transaction open (SQLITE_BUSY).
  if (sqlite3_get_autocommit(db) != 0) return;
  sqlite3_step(rollback_.get());
  sqlite3_reset(rollback_.get());
  if (sqlite3_get_autocommit(db) == 0) broken_ = true;
}

}  // namespace hookd::outbox
