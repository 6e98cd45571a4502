// Composing the completion mail of the jofi plugin (RFC 5322 headers, RFC 2047 subject,
// base64 body when not ASCII) and the time texts the plugin stores.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store.hpp"

namespace hookd::plugins::jofi {

// "2026-11-28T13:34:08.123456Z" for unix time in microseconds.
std::string iso8601_utc(std::int64_t us);

// "Sat, 28 Nov 2026 13:34:08 +0000" (RFC 5322 date-time).
std::string rfc5322_date(std::int64_t us);

// The bare address of "Name <addr>" or "addr".
std::string envelope_address(std::string_view mailbox);

// "JOFI: Ana completed Backend C++ (score 87)": the participant's name, else email, else
// id; the assessment's name, else id; the score part only when there is one. Control
// characters of the payload's values become spaces.
std::string mail_subject(const Notification& n);

// The whole message: headers (From, To, Subject, Date, Message-ID, MIME) and a plain-text
// body, lines ending in CRLF. `now_us` gives the Date header.
std::string compose_mail(const Notification& n, const std::string& from,
                         const std::vector<std::string>& to, std::int64_t now_us);

}  // namespace hookd::plugins::jofi
