// The queue gauges from outbox::queue_stats(), refreshed on their own thread.
#include "gauges.hpp"

#include <spdlog/spdlog.h>

#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/outbox/event.hpp"
#include "hookd/outbox/queries.hpp"

namespace hookd::worker {

GaugeReader::GaugeReader(std::string path, metrics::Registry* registry,
                         std::chrono::milliseconds interval)
    : path_(std::move(path)), registry_(registry), interval_(interval) {
  if (!path_.empty() && registry_ != nullptr) {
    thread_ = std::thread([this] {
      log::set_thread_name("gauges");
      run();
    });
  }
}

GaugeReader::~GaugeReader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void GaugeReader::run() {
  // Waits first: on a first start the writer is still creating the store.
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    refresh(outbox::unix_now_us());
    lock.lock();
  }
}

void GaugeReader::refresh(std::int64_t now_us) {
  try {
    if (!db_) db_ = outbox::open_store(path_, false);
    const outbox::QueueStats stats = outbox::queue_stats(db_.get(), now_us);
    const auto pending = stats.pending, running = stats.running, done = stats.done,
               dead = stats.dead;
    constexpr const char* kHelp = "Deliveries in the store by state";
    registry_->gauge("hookd_deliveries", kHelp, {{"state", "pending"}})
        .set(static_cast<double>(pending));
    registry_->gauge("hookd_deliveries", kHelp, {{"state", "running"}})
        .set(static_cast<double>(running));
    registry_->gauge("hookd_deliveries", kHelp, {{"state", "done"}}).set(static_cast<double>(done));
    registry_->gauge("hookd_deliveries", kHelp, {{"state", "dead"}}).set(static_cast<double>(dead));
    registry_
        ->gauge("hookd_oldest_pending_age_seconds",
                "Age of the event of the oldest pending delivery (0: none pending)")
        .set(stats.oldest_pending_age_seconds.value_or(0.0));
    warned_ = false;
  } catch (const std::exception& e) {
    db_ = outbox::Connection();
    if (!warned_) spdlog::warn("workers: reading the queue gauges failed: {}", e.what());
    warned_ = true;
  }
}

}  // namespace hookd::worker
