// Parsing of listen addresses (`host:port`, `[v6]:port`): syntax only, names are resolved
// by the listener.
#include "hookd/config/address.hpp"

#include <arpa/inet.h>

namespace hookd::config {
namespace {

// RFC 1123 host name syntax: dot-separated labels of letters, digits and inner hyphens.
bool host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char c = host[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  // All-numeric names such as "300" or "1.2.3" are typos of addresses, not host names.
  return host.find_first_not_of("0123456789.") != std::string_view::npos;
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    out.v6 = true;
    in6_addr a6{};
    if (::inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    in_addr a4{};
    if (::inet_pton(AF_INET, out.host.c_str(), &a4) != 1 && !host_name(out.host)) {
      return std::nullopt;
    }
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > 65535) return std::nullopt;
  out.port = static_cast<std::uint16_t>(n);
  return out;
}

}  // namespace hookd::config
