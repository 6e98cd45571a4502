// The queue gauges (deliveries by state, oldest pending age), refreshed on a thread and a
// read-only connection of their own: counting a large store takes a while, and neither
// the writer nor the dispatcher should wait for it. Private to worker/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "hookd/outbox/sqlite.hpp"

namespace hookd::metrics {
class Registry;
}

namespace hookd::worker {

class GaugeReader {
 public:
  // Refreshes every `interval` until destroyed; does nothing when `path` is empty or
  // `registry` is null.
  GaugeReader(std::string path, metrics::Registry* registry, std::chrono::milliseconds interval);
  ~GaugeReader();  // stops and joins the thread
  GaugeReader(const GaugeReader&) = delete;
  GaugeReader& operator=(const GaugeReader&) = delete;

 private:
  void run();
  // Counts by state and the oldest pending age; failures are logged once and retried.
  void refresh(std::int64_t now_us);

  std::string path_;
  metrics::Registry* registry_;
  std::chrono::milliseconds interval_;
  outbox::Connection db_;
  bool warned_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hookd::worker
