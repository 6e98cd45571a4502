// Retention: periodic passes of bounded prune steps through the writer.
#include "hookd/outbox/retention.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
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

std::chrono::microseconds rest_after(std::chrono::microseconds took, const RetentionOptions& o) {
  const auto rest =
      std::chrono::microseconds(static_cast<std::int64_t>(static_cast<double>(took.count()) *
                                                          std::max(o.rest, 0.0)));
  return std::min<std::chrono::microseconds>(rest, o.max_rest);
}

// One pass walks the table from its old end in steps of `step` events, each a transaction
// of its own, until the events are too young for either cutoff: the work of a step does not
// grow with the store, and a pass's total is the old end of the table.
bool Retention::pass() {
  std::size_t total = 0;
  PruneRequest request;
  const std::int64_t now = unix_now_us();
  request.done_before_us = now - std::chrono::microseconds(options_.done).count();
  request.dead_before_us = now - std::chrono::microseconds(options_.dead).count();
  request.limit = options_.step;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    std::promise<std::optional<PruneResult>> promise;
    auto future = promise.get_future();
    const auto started = std::chrono::steady_clock::now();
    writer_.prune(request, [&promise](std::optional<PruneResult> r) { promise.set_value(r); });
    const std::optional<PruneResult> step = future.get();  // the writer always answers
    if (!step) return true;  // the store failed (logged by the writer): next interval
    total += step->deleted;
    if (pruned_ != nullptr && step->deleted > 0) pruned_->inc(step->deleted);
    if (step->finished) break;
    request.after_seq = step->last_seq;
    const auto rest = rest_after(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started),
                                 options_);
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, rest, [this] { return stopping_; })) return false;
  }
  if (total > 0) spdlog::info("retention: deleted {} done or dead events past their age", total);
  return true;
}

}  // namespace hookd::outbox
