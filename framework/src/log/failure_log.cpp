// FailureLog: first failure at once, then at most one line per interval with a count.
#include "hookd/log/failure_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace hookd::log {

FailureLog::FailureLog(std::string subject, Level level, std::chrono::seconds interval)
    : subject_(std::move(subject)), level_(level), interval_(interval) {}

void FailureLog::log(const std::string& line) const {
  if (level_ == Level::warn) {
    spdlog::warn("{}", line);
  } else {
    spdlog::error("{}", line);
  }
}

void FailureLog::failed(std::string_view error) {
  const auto now = Clock::now();
  ++failures_;
  if (failures_ == 1) {
    log(fmt::format("{} failed: {}", subject_, error));
    last_report_ = now;
    unreported_ = 0;
    return;
  }
  ++unreported_;
  if (now - last_report_ >= interval_) {
    log(fmt::format("{} still failing: {} more failures (total {}); last: {}", subject_,
                    unreported_, failures_, error));
    last_report_ = now;
    unreported_ = 0;
  }
}

std::uint64_t FailureLog::succeeded() {
  std::uint64_t n = failures_;
  failures_ = 0;
  unreported_ = 0;
  return n;
}

}  // namespace hookd::log
