#include "hookd/log/text_formatter.hpp"

#include <spdlog/pattern_formatter.h>

#include <string>
#include <string_view>

#include "hookd/log/visible.hpp"

namespace hookd::log {
namespace {

// %*: the message with its control characters escaped.
class VisibleMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!needs_escaping(payload)) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    std::string escaped;
    append_visible(payload, escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<VisibleMessage>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_text_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<VisibleMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %*");
  return formatter;
}

}  // namespace hookd::log
