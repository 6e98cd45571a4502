// Listen addresses as written in the config: `host:port`, `[v6]:port`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd::config {

struct ListenAddress {
  std::string host;        // an IP literal, IPv6 without brackets ("::1")
  std::uint16_t port = 0;  // 0: an ephemeral port chosen by the kernel (used by tests)
  bool v6 = false;
};

// "0.0.0.0:8443", "127.0.0.1:0", "[::]:8443", "[::1]:9090", "localhost:9090". The host is
// an IPv4 literal, a bracketed IPv6 literal or a host name (letters, digits, '-' and '.',
// resolved when the listener binds); the port is 0..65535 in decimal.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace hookd::config
