// Retention: a thread that deletes done and dead events past their age through the writer,
// a few hundred per transaction so that appends never wait long behind it.
// Thread-safety: construct and destroy from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace hookd::metrics {
class Counter;
class Registry;
}  // namespace hookd::metrics

namespace hookd::outbox {

class Writer;

struct RetentionOptions {
  std::chrono::milliseconds done{std::chrono::hours(24 * 7)};   // storage.retention.done
  std::chrono::milliseconds dead{std::chrono::hours(24 * 30)};  // storage.retention.dead
  std::chrono::milliseconds interval{std::chrono::minutes(1)};  // how often to look
  std::size_t step = 500;  // events looked at per transaction
};

class Retention {
 public:
  // Starts the thread; the first pass runs at once. `writer` must outlive the Retention;
  // `metrics` may be null.
  Retention(Writer& writer, RetentionOptions options, metrics::Registry* metrics = nullptr);
  ~Retention();  // stop()
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // Ends the thread after the step in progress. Idempotent.
  void stop();

 private:
  void run();
  // One pass over the old end of the table. False when stopping.
  bool pass();

  Writer& writer_;
  const RetentionOptions options_;
  metrics::Counter* pruned_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hookd::outbox
