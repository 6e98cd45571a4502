// Durations ("500ms", "10s", "5m", "1h", "7d") and sizes ("512", "64KiB", "1MiB"): one
// spelling per meaning, no fractions, no spaces, overflow rejected.
#include "hookd/config/units.hpp"

#include <array>
#include <limits>
#include <utility>

namespace hookd::config {
namespace {

// The leading decimal digits of `text`, or std::nullopt when there are none or they
// overflow. `rest` receives what follows them.
std::optional<std::uint64_t> leading_number(std::string_view text, std::string_view& rest) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (max - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  rest = text.substr(i);
  return n;
}

std::optional<std::uint64_t> scaled(std::uint64_t n, std::uint64_t factor, std::uint64_t max) {
  if (n > max / factor) return std::nullopt;
  return n * factor;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  std::string_view unit;
  auto n = leading_number(text, unit);
  if (!n) return std::nullopt;
  // A bare number is ambiguous (seconds? milliseconds?); only 0 means the same in every unit.
  if (unit.empty()) {
    if (*n == 0) return Duration{0};
    return std::nullopt;
  }
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> units{{
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 60 * 60 * 1000},
      {"d", 24 * 60 * 60 * 1000},
  }};
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    auto ms = scaled(*n, factor, max);
    if (!ms) return std::nullopt;
    return Duration{static_cast<Duration::rep>(*ms)};
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::string_view unit;
  auto n = leading_number(text, unit);
  if (!n) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> units{{
      {"", 1},
      {"B", 1},
      {"KiB", std::uint64_t{1} << 10},
      {"MiB", std::uint64_t{1} << 20},
      {"GiB", std::uint64_t{1} << 30},
  }};
  for (const auto& [name, factor] : units) {
    if (unit == name) return scaled(*n, factor, std::numeric_limits<std::uint64_t>::max());
  }
  return std::nullopt;
}

}  // namespace hookd::config
