// A minimal plain-SMTP client (RFC 5321) over a POSIX TCP socket: one message per
// connection, no TLS or AUTH (meant for a local relay), every step bounded by a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_reply.hpp"

namespace hookd::plugins::jofi {

struct SmtpSettings {
  std::string host;
  std::uint16_t port = 25;
  std::string helo;                           // the name given in EHLO/HELO
  std::chrono::milliseconds timeout{10'000};  // the whole exchange, connect to QUIT
};

// Sends `message` (headers and body; LF or CRLF line ends) from `envelope_from` to every
// address of `envelope_to`: EHLO (HELO when refused), MAIL FROM, RCPT TO, DATA with
// dot-stuffing, QUIT. Returns when the server accepted the data; throws SmtpError
// otherwise. Host name resolution (getaddrinfo) is not covered by the timeout.
void smtp_send(const SmtpSettings& settings, const std::string& envelope_from,
               const std::vector<std::string>& envelope_to, std::string_view message);

// The DATA payload for `message`: CRLF line ends, a '.' doubled at each line start, and
// the final "CRLF . CRLF".
std::string smtp_data(std::string_view message);

}  // namespace hookd::plugins::jofi
