// Retry-After for the forward plugin; see retry_after.hpp.
#include "retry_after.hpp"

#include <algorithm>

namespace hookd::plugins::forward {
namespace {

constexpr auto kMaxRetryAfter = std::chrono::seconds(3600);

}  // namespace

std::chrono::milliseconds retry_after(const https::Response& response) {
  const auto value = response.header("retry-after");
  if (!value || value->empty() || value->size() > 12) return std::chrono::milliseconds(0);
  long long seconds = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return std::chrono::milliseconds(0);
    seconds = seconds * 10 + (c - '0');
  }
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
}

}  // namespace hookd::plugins::forward
