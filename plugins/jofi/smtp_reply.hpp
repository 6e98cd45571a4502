// Reading SMTP replies (RFC 5321 4.2) out of the bytes a relay sends: lines of
// "CODE[-| ]text" ended by LF or CRLF, a multi-line reply continued by '-' after the code.
// Apart from the socket so that it can be tested and fuzzed on plain bytes.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hookd::plugins::jofi {

// what() names the step and carries the server's reply, e.g.
// "smtp: MAIL FROM: 451 4.3.0 try again later" or "smtp: connect 127.0.0.1:25: Connection refused".
class SmtpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SmtpReply {
  int code = 0;      // of the last line
  std::string text;  // all lines, joined with " / "
};

// Not thread-safe (one per connection).
class SmtpReplyReader {
 public:
  // The longest reply text (its lines joined with " / ") accepted.
  static constexpr std::size_t kMaxReply = 64 * 1024;

  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete reply, or nullopt when more bytes are needed. Throws SmtpError,
  // naming `step`, for a malformed line or a reply past kMaxReply.
  std::optional<SmtpReply> next(const std::string& step);

 private:
  [[noreturn]] static void too_long(const std::string& step);

  std::string buffer_;  // received, not yet consumed
  SmtpReply partial_;   // the lines of a multi-line reply read so far
};

}  // namespace hookd::plugins::jofi
