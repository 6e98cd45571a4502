// Fuzz target: the `ip_allow` item: the peer address (the first line's third word) parsed
// as IPv4, IPv6 or IPv4-mapped IPv6 and matched against CIDRs of both families. The item
// reads no forwarded headers (X-Forwarded-For is not trusted), so headers do not matter.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = fuzz::chain_of(auth::make_ip_allow(
      {"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128", "100.64.0.0/10"}, fuzz::kWhere));
  static const auto narrow = fuzz::chain_of(
      auth::make_ip_allow({"203.0.113.0/25", "fe80::/10", "2001:db8:1:2::/64"}, fuzz::kWhere));
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  fuzz::run_auth(*narrow, fuzz::as_text(data, size));
  return 0;
}
