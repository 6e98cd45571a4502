// Watchdog: probes every part each tick (an eighth of the interval), pings once half the
// interval has passed and every part has answered a probe since the last ping.
#include "hookd/service/watchdog.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "hookd/log/thread_name.hpp"

namespace hookd::service {

std::optional<std::chrono::microseconds> watchdog_interval_from_environment() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr || *usec == '\0') return std::nullopt;
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && *pid != '\0') {
    if (std::strtoll(pid, nullptr, 10) != static_cast<long long>(::getpid())) return std::nullopt;
  }
  char* end = nullptr;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (end == usec || *end != '\0' || value == 0) {
    spdlog::warn("WATCHDOG_USEC is not a positive number ('{}'): no watchdog pings", usec);
    return std::nullopt;
  }
  return std::chrono::microseconds(value);
}

// answered[i]: how many probes part i has answered; written on the part's thread.
struct Watchdog::Answers {
  explicit Answers(std::size_t n) : answered(n) {}
  std::vector<std::atomic<std::uint64_t>> answered;
};

Watchdog::Watchdog(const Notifier& notifier, std::chrono::microseconds interval,
                   std::vector<Probe> probes)
    : notifier_(notifier),
      interval_(interval),
      probes_(std::move(probes)),
      answers_(std::make_shared<Answers>(probes_.size())),
      thread_([this] {
        log::set_thread_name("watchdog");
        run();
      }) {}

Watchdog::~Watchdog() {
  stop();
}

void Watchdog::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::run() {
  using Clock = std::chrono::steady_clock;
  const auto half = interval_ / 2;
  const auto tick =
      std::max<std::chrono::microseconds>(interval_ / 8, std::chrono::milliseconds(1));
  const std::size_t n = probes_.size();
  std::vector<std::uint64_t> sent(n, 0);
  std::vector<std::uint64_t> answered_at_ping(n, 0);
  auto last_ping = Clock::now();
  bool withheld = false;  // logged that a ping is overdue
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, tick, [this] { return stopping_; })) {
    // One probe outstanding per part: a stalled part is not flooded with probes.
    for (std::size_t i = 0; i < n; ++i) {
      if (answers_->answered[i].load() != sent[i]) continue;
      const std::uint64_t number = ++sent[i];
      probes_[i].send([answers = answers_, i, number] { answers->answered[i].store(number); });
    }
    const auto now = Clock::now();
    if (now - last_ping < half) continue;
    std::string stalled;
    for (std::size_t i = 0; i < n; ++i) {
      if (answers_->answered[i].load() == answered_at_ping[i]) {
        stalled += (stalled.empty() ? "" : ", ") + probes_[i].name;
      }
    }
    if (!stalled.empty()) {
      if (!withheld && now - last_ping >= interval_ / 2 + tick * 2) {
        spdlog::warn(
            "watchdog: no progress from the {} for {} ms: not pinging the service manager", stalled,
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ping).count());
        withheld = true;
      }
      continue;
    }
    if (withheld) {
      spdlog::info("watchdog: every part makes progress again after {} ms",
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ping).count());
      withheld = false;
    }
    notifier_.send("WATCHDOG=1");
    last_ping = now;
    for (std::size_t i = 0; i < n; ++i) answered_at_ping[i] = answers_->answered[i].load();
  }
}

}  // namespace hookd::service
