// Parsing an https:// URL; see url.hpp.
#include "hookd/https/url.hpp"

#include <arpa/inet.h>

#include <stdexcept>

namespace hookd::https {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

[[noreturn]] void bad(const std::string& why) {
  throw std::invalid_argument(why);
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

std::uint16_t parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) bad("bad port in the URL");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') bad("bad port in the URL");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) bad("bad port in the URL");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Url parse_url(std::string_view url) {
  if (starts_with_nocase(url, "http://")) {
    bad("only https:// URLs are accepted (plain http:// would send data unencrypted)");
  }
  if (!starts_with_nocase(url, "https://")) bad("expected an https:// URL");
  std::string_view rest = url.substr(8);
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      bad("the URL contains a space or a control character");
    }
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const std::size_t end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    bad("user info in the URL is not supported (set an Authorization header in headers:)");
  }

  Url out;
  std::string_view host;
  std::string_view port;
  bool v6 = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad("unterminated [IPv6] host in the URL");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad("bad host in the URL");
      port = after.substr(1);
    }
    in6_addr addr6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr6) != 1) {
      bad("bad IPv6 address in the URL");
    }
    v6 = true;
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) bad("no host in the URL");
  for (char c : host) out.host += lower(c);
  if (!v6) {
    for (char c : out.host) {
      if (!host_char(c)) bad("bad character in the URL's host");
    }
  }
  out.port = port.empty() ? 443 : parse_port(port);
  in_addr addr4{};
  out.ip_literal = v6 || inet_pton(AF_INET, out.host.c_str(), &addr4) == 1;

  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(0, "/");
  out.host_header = v6 ? "[" + out.host + "]" : out.host;
  if (out.port != 443) out.host_header += ":" + std::to_string(out.port);
  return out;
}

}  // namespace hookd::https
