// Rate-limited logging of a repeating failure (a full disk fails every batch, every claim):
// the first failure is logged at once, later ones at most once per interval with a count.
// Not thread-safe: owned by one thread (the writer), or used under its owner's mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace hookd::log {

class FailureLog {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Level { error, warn };

  // `subject` names what fails, e.g. "outbox commit"; it starts each message.
  explicit FailureLog(std::string subject, Level level = Level::error,
                      std::chrono::seconds interval = std::chrono::seconds(10));

  void failed(std::string_view error);

  // Returns how many failures there were since the last success (0: nothing to report),
  // so that the caller can log its own recovery message.
  std::uint64_t succeeded();

 private:
  void log(const std::string& line) const;

  std::string subject_;
  Level level_;
  std::chrono::seconds interval_;
  std::uint64_t failures_ = 0;    // since the last success
  std::uint64_t unreported_ = 0;  // since the last log line
  Clock::time_point last_report_{};
};

}  // namespace hookd::log
