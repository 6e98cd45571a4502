// The text line format (`log: {format: text}`, the default): time, level, message, with
// the message's control characters made visible (log/visible.hpp), so that text a sender
// chose (an event id, a request path, a plugin's message) cannot start a forged line or
// send escape sequences to the terminal that shows the journal.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace hookd::log {

// "2026-01-02T03:04:05.678+00:00 info message" (the level coloured on a terminal).
std::unique_ptr<spdlog::formatter> make_text_formatter();

}  // namespace hookd::log
