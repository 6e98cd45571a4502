// SMTP reply lines into replies; see smtp_reply.hpp.
#include "smtp_reply.hpp"

#include <utility>

namespace hookd::plugins::jofi {

std::optional<SmtpReply> SmtpReplyReader::next(const std::string& step) {
  for (;;) {
    const auto eol = buffer_.find('\n');
    // The limit is on the reply's text, checked the same way whether its last line has
    // arrived or not (an incomplete line is at least the bytes so far, minus a CR), so the
    // answer never depends on how the relay's bytes were split into reads.
    const std::size_t before = partial_.text.empty() ? 0 : partial_.text.size() + 3;  // " / "
    if (eol == std::string::npos) {
      if (!buffer_.empty() && before + buffer_.size() - 1 > kMaxReply) too_long(step);
      return std::nullopt;
    }
    std::string line = buffer_.substr(0, eol);
    buffer_.erase(0, eol + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (before + line.size() > kMaxReply) too_long(step);
    if (line.size() < 3 || line.find_first_not_of("0123456789") < 3) {
      throw SmtpError("smtp: " + step + ": malformed reply: " + line.substr(0, 100));
    }
    partial_.code = std::stoi(line.substr(0, 3));
    if (!partial_.text.empty()) partial_.text += " / ";
    partial_.text += line;
    if (line.size() == 3 || line[3] != '-') return std::exchange(partial_, SmtpReply{});
  }
}

void SmtpReplyReader::too_long(const std::string& step) {
  throw SmtpError("smtp: " + step + ": reply too long");
}

}  // namespace hookd::plugins::jofi
