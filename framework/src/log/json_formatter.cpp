// JsonFormatter: {"ts":"2026-01-02T03:04:05.678Z","level":"info","thread":"writer",
// <the thread's log::Fields>,"msg":"..."}
#include "hookd/log/json_formatter.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "hookd/log/fields.hpp"
#include "hookd/log/thread_name.hpp"
#include "hookd/log/visible.hpp"

namespace hookd::log {
namespace {

void append(std::string_view s, spdlog::memory_buf_t& dest) {
  dest.append(s.data(), s.data() + s.size());
}

}  // namespace

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

void append_json_string(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  dest.push_back('"');
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text[0]);
    std::size_t n = 1;
    switch (c) {
      case '"':
        append("\\\"", dest);
        break;
      case '\\':
        append("\\\\", dest);
        break;
      case '\n':
        append("\\n", dest);
        break;
      case '\r':
        append("\\r", dest);
        break;
      case '\t':
        append("\\t", dest);
        break;
      default:
        if (c < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0F]};
          dest.append(escaped, escaped + sizeof escaped);
        } else if ((n = utf8_sequence(text)) == 0) {
          n = 1;
          append("\xEF\xBF\xBD", dest);  // U+FFFD
        } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[1]) < 0xA0) {
          // C1 (U+0080..U+009F): valid JSON raw, but a terminal showing the line reads
          // U+009B as CSI.
          const auto low = static_cast<unsigned char>(text[1]);
          const char escaped[] = {'\\', 'u', '0', '0', kHex[low >> 4], kHex[low & 0x0F]};
          dest.append(escaped, escaped + sizeof escaped);
        } else {
          dest.append(text.data(), text.data() + n);
        }
    }
    text.remove_prefix(n);
  }
  dest.push_back('"');
}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since_epoch = msg.time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  const std::time_t t = seconds.count();
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  fmt::format_to(std::back_inserter(dest),
                 R"({{"ts":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":"{}","thread":)",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, ms.count(), level_name(msg.level));
  std::string thread = thread_name();
  if (thread.empty()) thread = std::to_string(msg.thread_id);
  append_json_string(thread, dest);
  for (const auto& [key, value] : current_fields()) {
    if (key == "ts" || key == "level" || key == "thread" || key == "msg") continue;
    dest.push_back(',');
    append_json_string(key, dest);
    dest.push_back(':');
    append_json_string(value, dest);
  }
  append(R"(,"msg":)", dest);
  append_json_string(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  append("}\n", dest);
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>();
}

}  // namespace hookd::log
