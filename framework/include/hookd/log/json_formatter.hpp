// The `log: {format: json}` line format: one JSON object per line with the stable keys
// ts (RFC 3339, UTC, milliseconds), level, thread and msg, for log shippers (journald →
// Loki, Vector, Fluent Bit) that would otherwise have to parse the text format.
// Thread-safety: spdlog clones a formatter per sink and calls each under the sink's lock.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace hookd::log {

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Appends `text` as a JSON string (quoted): ", \ and control characters (C1 too) escaped, and each
// byte that is not part of valid UTF-8 (a header value quoted into a message) replaced
// by U+FFFD, so that every line parses.
void append_json_string(std::string_view text, spdlog::memory_buf_t& dest);

// The level names of the config's log.level ("warn", not spdlog's "warning").
std::string_view level_name(spdlog::level::level_enum level);

}  // namespace hookd::log
