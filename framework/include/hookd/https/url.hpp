// An https:// URL (the forward plugin's `url:`, an ACME CA's URLs) split into what the
// connection and the request line need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hookd::https {

struct Url {
  std::string host;  // lower case; an IPv6 literal without its brackets
  std::uint16_t port = 443;
  std::string target;       // "/path?query" as written, "/" when empty; never a fragment
  std::string host_header;  // the Host header: host, [v6], plus ":port" unless 443
  bool ip_literal = false;  // host is an IPv4/IPv6 address: no SNI, IP-SAN check
};

// Parses "https://host[:port][/path][?query][#fragment]" (the fragment is dropped).
// Throws std::invalid_argument with a reason that never repeats the path or query (they
// may carry tokens): other schemes (http:// included), user info, a bad host or port,
// spaces or control characters.
Url parse_url(std::string_view url);

}  // namespace hookd::https
