// Retention: periodic passes of small prune transactions through the writer.
#include "hookd/outbox/retention.hpp"

#include <spdlog/spdlog.h>

#include <future>
#include <optional>

#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::outbox {
Retention::Retention(Writer& writer, RetentionOptions options, metrics::Registry* metrics)
    : writer_(writer), options_(options) {
  if (metrics != nullptr) {
    pruned_ = &metrics->counter("hookd_events_pruned_total",
                                "Events deleted by storage.retention (done and dead)");
  }
  thread_ = std::thread([this] {
    log::set_thread_name("retention");
    run();
  });
}

Retention::~Retention() {
  stop();
}

void Retention::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Retention::run() {
  for (;;) {
    if (!pass()) return;
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
  }
}

bool Retention::pass() {
  std::size_t total = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    const std::int64_t now = unix_now_us();
    PruneRequest request;
    request.done_before_us = now - std::chrono::microseconds(options_.done).count();
    request.dead_before_us = now - std::chrono::microseconds(options_.dead).count();
    request.limit = options_.step;
    std::promise<std::optional<std::size_t>> promise;
    auto future = promise.get_future();
    writer_.prune(request, [&promise](std::optional<std::size_t> n) { promise.set_value(n); });
    const std::optional<std::size_t> deleted = future.get();  // the writer always answers
    if (!deleted) return true;  // the store failed (logged by the writer): next interval
    total += *deleted;
    if (pruned_ != nullptr) pruned_->inc(*deleted);
    if (*deleted < options_.step) break;
  }
  if (total > 0) spdlog::info("retention: deleted {} done or dead events past their age", total);
  return true;
}

}  // namespace hookd::outbox
