// Composing the jofi completion mail; see mail.hpp.
#include "mail.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace hookd::plugins::jofi {
namespace {

std::tm utc(std::int64_t us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

// Payload values go into headers and the body: no control character may pass (a CR or
// LF would inject headers or end the SMTP data early).
std::string clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

bool ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                   static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 0x3f];
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 0x3f];
    out += kAlphabet[(n >> 12) & 0x3f];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

// RFC 2047 encoded words for a non-ASCII header text, folded; chunks never split a UTF-8
// sequence and each word stays under 76 characters.
std::string encode_header(std::string_view text) {
  if (ascii(text)) return std::string(text);
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t n = std::min<std::size_t>(45, text.size() - pos);
    while (pos + n < text.size() && n > 0 &&
           (static_cast<unsigned char>(text[pos + n]) & 0xC0) == 0x80) {
      --n;
    }
    if (n == 0) n = std::min<std::size_t>(45, text.size() - pos);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(pos, n)) + "?=";
    pos += n;
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string who(const Notification& n) {
  return clean(n.participant_name.value_or(n.participant_email.value_or(n.participant_id)));
}

std::string what(const Notification& n) {
  return clean(n.assessment_name.value_or(n.assessment_id));
}

}  // namespace

std::string iso8601_utc(std::int64_t us) {
  const std::tm tm = utc(us);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(((us % 1'000'000) + 1'000'000) % 1'000'000));
  return buf;
}

std::string rfc5322_date(std::int64_t us) {
  const std::tm tm = utc(us);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);  // "C" locale names
  return buf;
}

std::string envelope_address(std::string_view mailbox) {
  const auto open = mailbox.rfind('<');
  const auto close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && open < close) {
    return std::string(mailbox.substr(open + 1, close - open - 1));
  }
  while (!mailbox.empty() && mailbox.front() == ' ') mailbox.remove_prefix(1);
  while (!mailbox.empty() && mailbox.back() == ' ') mailbox.remove_suffix(1);
  return std::string(mailbox);
}

std::string mail_subject(const Notification& n) {
  std::string subject = "JOFI: " + who(n) + " completed " + what(n);
  if (n.score) subject += " (score " + clean(*n.score) + ")";
  return subject;
}

std::string compose_mail(const Notification& n, const std::string& from,
                         const std::vector<std::string>& to, std::int64_t now_us) {
  std::string body = who(n) + " completed " + what(n);
  body += n.score ? " with a score of " + clean(*n.score) + ".\r\n" : ".\r\n";
  body += "\r\nParticipant:    " + clean(n.participant_name.value_or("-"));
  body += "\r\nEmail:          " + clean(n.participant_email.value_or("-"));
  body += "\r\nParticipant id: " + clean(n.participant_id);
  body += "\r\nAssessment:     " + clean(n.assessment_name.value_or("-"));
  body += "\r\nAssessment id:  " + clean(n.assessment_id);
  body += "\r\nScore:          " + clean(n.score.value_or("-"));
  body += "\r\nStatus:         " + clean(n.status);
  body += "\r\nEvent:          " + clean(n.event_id) + " (" + clean(n.event_type) + ")";
  body += "\r\nReceived at:    " + n.received_at;
  body += "\r\n\r\n-- \r\nhookd jofi plugin\r\n";

  std::string domain = envelope_address(from);
  domain = domain.find('@') != std::string::npos ? domain.substr(domain.find('@') + 1) : "hookd";
  std::string stamp;
  for (char c : n.created_at) {
    if (c >= '0' && c <= '9') stamp += c;
  }

  std::string mail;
  mail += "From: " + from + "\r\n";
  mail += "To: " + join(to) + "\r\n";
  mail += "Subject: " + encode_header(mail_subject(n)) + "\r\n";
  mail += "Date: " + rfc5322_date(now_us) + "\r\n";
  // Stable across re-sends of the same notification, so receivers can drop a duplicate.
  mail += "Message-ID: <jofi." + std::to_string(n.id) + "." + stamp + "@" + domain + ">\r\n";
  mail += "MIME-Version: 1.0\r\n";
  mail += "Content-Type: text/plain; charset=utf-8\r\n";
  if (ascii(body)) {
    mail += "Content-Transfer-Encoding: 7bit\r\n\r\n" + body;
  } else {
    mail += "Content-Transfer-Encoding: base64\r\n\r\n";
    const std::string encoded = base64(body);
    for (std::size_t i = 0; i < encoded.size(); i += 76) mail += encoded.substr(i, 76) + "\r\n";
  }
  return mail;
}

}  // namespace hookd::plugins::jofi
