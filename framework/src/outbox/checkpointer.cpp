// The background checkpointer: PRAGMA wal_checkpoint(PASSIVE) when the WAL grows or on a timer.
#include "checkpointer.hpp"

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "hookd/log/thread_name.hpp"
#include "pragmas.hpp"

namespace hookd::outbox {
namespace {

// Runs after a checkpoint at the earliest: when a long reader pins the WAL, every commit
// asks again, and a PASSIVE checkpoint cannot make progress until that reader is gone.
constexpr auto kMinGap = std::chrono::milliseconds(20);

}  // namespace

Checkpointer::Checkpointer(const std::string& path, std::chrono::milliseconds interval, bool fsync)
    : db_(open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX)), interval_(interval) {
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
  exec(db_.get(), kJournalSizeLimitPragma);
  exec(db_.get(), fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // A fresh connection learns that the file is in WAL mode only when it first reads it;
  // until then wal_checkpoint is a silent no-op.
  std::string mode = query_text(db_.get(), "PRAGMA journal_mode");
  if (mode != "wal") {
    throw StoreError(SQLITE_ERROR,
                     "checkpointer: the database is not in WAL mode ('" + mode + "')");
  }
  thread_ = std::thread([this] {
    log::set_thread_name("checkpoint");
    run();
  });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Checkpointer::request() {
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  cv_.notify_one();
}

std::unique_lock<std::mutex> Checkpointer::hold() {
  return std::unique_lock(checkpoint_mutex_);
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    checkpoint();
    lock.lock();
    cv_.wait_for(lock, kMinGap, [this] { return stopping_; });
  }
}

void Checkpointer::checkpoint() {
  int wal_frames = 0;
  int copied = 0;
  int rc = SQLITE_OK;
  {
    std::lock_guard lock(checkpoint_mutex_);
    rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                   &copied);
  }
  if (rc == SQLITE_OK) {
    warned_ = false;
    return;
  }
  // BUSY: another process (the CLI) is checkpointing. Other failures (a full disk) show
  // up as commit failures on the writer too, which are logged there; one warning is enough.
  if (rc == SQLITE_BUSY) return;
  std::string why = describe(db_.get(), sqlite3_extended_errcode(db_.get()));
  if (!warned_) {
    spdlog::warn("outbox: WAL checkpoint failed: {}", why);
    warned_ = true;
  } else {
    spdlog::debug("outbox: WAL checkpoint failed: {}", why);
  }
}

}  // namespace hookd::outbox
