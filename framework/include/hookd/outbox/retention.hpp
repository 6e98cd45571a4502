// Retention: a thread that deletes done and dead events past their age through the writer,
// a few hundred per transaction so that appends never wait long behind it, with rests
// between the transactions so that a pass never takes the writer (or a core) for itself.
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
  // After each step the thread rests `rest` times as long as the step took (its wait in the
  // writer's queue included), at most max_rest: a pass then takes about 1/(1 + rest) of the
  // writer's time and CPU instead of all of it while it lasts. Deleting a minute's events
  // at a few thousand per second takes a core for seconds; back to back, the steps left the
  // I/O threads, the handlers and the writer's appends one core between them, and senders
  // saw latencies of 0.3-2 s for the length of each pass (bench/soak).
  double rest = 3.0;
  std::chrono::milliseconds max_rest{1000};
};

// How long to rest after a step that took `took` (see RetentionOptions::rest).
std::chrono::microseconds rest_after(std::chrono::microseconds took, const RetentionOptions& o);

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
