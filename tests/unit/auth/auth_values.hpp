// Values the auth tests share: where a config error points, and a fixed "now".
#pragma once

#include <chrono>
#include <cstdint>

#include "hookd/config/config.hpp"

inline const hookd::config::Location kWhere{"hooks.yaml", 12, 9};
inline constexpr std::int64_t kNowS = 1'700'000'000;
inline const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(kNowS));
