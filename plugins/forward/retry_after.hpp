// Reading a 429/5xx answer's Retry-After for the forward plugin's retry delay.
#pragma once

#include <chrono>

#include "hookd/https/response.hpp"

namespace hookd::plugins::forward {

// Retry-After as delta-seconds (an HTTP-date is ignored, as is anything malformed: 0),
// capped at one hour.
std::chrono::milliseconds retry_after(const https::Response& response);

}  // namespace hookd::plugins::forward
