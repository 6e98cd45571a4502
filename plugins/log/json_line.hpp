// Building the `log` plugin's JSON line for one event: JSON string escaping, UTF-8
// validation, base64 and RFC 3339 timestamps, without a JSON library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hookd/plugin.hpp"

namespace hookd::plugins::log {

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// Appends `text` to `out` as a quoted JSON string. Bytes that are not part of well-formed
// UTF-8 become U+FFFD (callers that need losslessness check is_valid_utf8 first).
void append_json_string(std::string& out, std::string_view text);

// Appends the standard base64 (RFC 4648, padded) encoding of `bytes` to `out`.
void append_base64(std::string& out, std::string_view bytes);

// "2026-11-28T13:34:08.123456Z" for unix time `us` in microseconds.
std::string rfc3339_utc(std::int64_t us);

// The whole line for `event`, ending in '\n'.
std::string json_line(const hookd::Event& event);

}  // namespace hookd::plugins::log
