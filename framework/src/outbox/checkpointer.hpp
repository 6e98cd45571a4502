// Background WAL checkpoints on a thread and connection of their own, so that the writer's
// COMMIT never pays for one (the automatic in-COMMIT checkpoint stalls commits 7-26 ms).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "hookd/outbox/sqlite.hpp"

namespace hookd::outbox {

class Checkpointer {
 public:
  // WAL size (in pages) after a commit from which the writer asks for a checkpoint.
  static constexpr int kWalPages = 1000;
  // WAL size from which the writer itself finishes the checkpoint between two batches (see
  // Store::catch_up): under constant load the WAL is never fully checkpointed at the moment
  // a write begins, which is the only moment SQLite can restart it from the beginning.
  static constexpr int kCatchUpPages = 4 * kWalPages;

  // Opens its own connection to the (existing, migrated) database at `path` and starts
  // the thread, which checkpoints when asked and at least every `interval`. `fsync`: the
  // writer's durability (synchronous FULL or NORMAL; either fsyncs the database before the
  // WAL is reused, but not the compile-time default, which may be OFF).
  // Throws StoreError when the connection cannot be opened.
  Checkpointer(const std::string& path, std::chrono::milliseconds interval, bool fsync);
  ~Checkpointer();  // stops and joins the thread, closes the connection
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Asks for a checkpoint soon. Any thread; cheap.
  void request();

  // Waits for a running background checkpoint to finish and holds off the next one while
  // the returned lock lives: two in-process checkpoints would make one fail with BUSY, and a
  // writer that must shrink the WAL (Store::catch_up) would then let it grow without bound.
  [[nodiscard]] std::unique_lock<std::mutex> hold();

 private:
  void run();
  void checkpoint();

  Connection db_;
  std::chrono::milliseconds interval_;
  std::mutex checkpoint_mutex_;  // held around every checkpoint of this process
  std::mutex mutex_;             // guards the flags below
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  bool warned_ = false;  // checkpoint failures: warn once, then debug (see checkpoint())
  std::thread thread_;
};

}  // namespace hookd::outbox
