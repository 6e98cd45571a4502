// Durations ("500ms", "10s", "5m", "1h", "7d") and sizes ("512", "64KiB", "1MiB") as
// written in the config file.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "hookd/config/config.hpp"

namespace hookd::config {

// Units: ms, s, m, h, d. A number without unit is rejected (ambiguous). "0" and "0s" are 0.
std::optional<Duration> parse_duration(std::string_view text);

// Units: B (or none), KiB, MiB, GiB; also KB/MB/GB meaning the same powers of 1024 is NOT
// accepted, to keep one meaning per spelling. Overflow is rejected.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace hookd::config
