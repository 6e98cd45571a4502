// Waiting, bounded, for something another process or thread does.
#pragma once

#include <chrono>
#include <functional>

namespace hookd::test {

// Polls `condition` every `step` until it holds (true) or `limit` has passed (false).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(20),
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

}  // namespace hookd::test
