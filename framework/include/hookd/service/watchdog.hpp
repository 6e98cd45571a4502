// The systemd watchdog: WATCHDOG=1 every WATCHDOG_USEC/2, but only while every part that
// must keep moving (the I/O loop, the outbox writer) answers liveness probes. A process
// whose writer hangs in COMMIT still has a live main thread: pinging from a plain timer
// would hide exactly the stall the watchdog is there to catch.
// Thread-safety: construct and stop() from one thread; probes are answered on any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hookd/service/notify.hpp"

namespace hookd::service {

// $WATCHDOG_USEC when it is set for this process ($WATCHDOG_PID unset or ours), else nullopt.
std::optional<std::chrono::microseconds> watchdog_interval_from_environment();

// One part to watch: `send(answer)` must arrange for `answer()` to run on that part's own
// thread once it gets round to it (post it to the loop, queue it between transactions).
struct Probe {
  std::string name;  // for the log: "I/O loop", "outbox writer"
  std::function<void(std::function<void()> answer)> send;
};

class Watchdog {
 public:
  // Starts the pinging thread. `notifier` must outlive the Watchdog.
  Watchdog(const Notifier& notifier, std::chrono::microseconds interval, std::vector<Probe> probes);
  ~Watchdog();  // stop()
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void stop();  // no more pings; idempotent

 private:
  struct Answers;  // shared with answers still queued somewhere after stop()
  void run();

  const Notifier& notifier_;
  const std::chrono::microseconds interval_;
  std::vector<Probe> probes_;
  std::shared_ptr<Answers> answers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hookd::service
