// `ip_allow`: the peer address must fall in one of the CIDRs (IPv4 and IPv6).
#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "hookd/auth/items.hpp"

namespace hookd::auth {
namespace {

// An address as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that one
// comparison serves both families.
struct Address {
  std::array<unsigned char, 16> bytes{};
  bool v4 = false;
};

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.v4 = std::memcmp(a.bytes.data(), kMapped, 12) == 0;
    return a;
  }
  return std::nullopt;
}

struct Network {
  Address base;
  int prefix = 0;  // over the 128-bit form

  bool contains(const Address& a) const {
    int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<std::size_t>(full)) != 0) {
      return false;
    }
    if (rest == 0) return true;
    auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == (base.bytes[full] & mask);
  }
};

class IpAllow final : public HeadCheck {
 public:
  explicit IpAllow(std::vector<Network> networks) : networks_(std::move(networks)) {}
  Result check(const http::Request& request, const Context&) const override {
    auto peer = parse_address(request.peer);
    if (peer) {
      for (const auto& n : networks_) {
        if (n.contains(*peer)) return Result::ok();
      }
    }
    return Result::forbidden("ip_denied");
  }

 private:
  std::vector<Network> networks_;
};

}  // namespace

std::unique_ptr<Check> make_ip_allow(const std::vector<std::string>& cidrs,
                                     const config::Location& where) {
  std::vector<Network> networks;
  for (const auto& text : cidrs) {
    auto slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr) throw BuildError(where, "ip_allow: '" + text + "' is not an IP address or CIDR");
    Network n{*addr, 128};
    if (slash != std::string::npos) {
      int bits = -1;
      auto len = text.substr(slash + 1);
      auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
      int max = addr->v4 ? 32 : 128;
      if (ec != std::errc{} || p != len.data() + len.size() || bits < 0 || bits > max) {
        throw BuildError(where, "ip_allow: '" + text + "' has a bad prefix length (0-" +
                                    std::to_string(max) + ")");
      }
      n.prefix = addr->v4 ? 96 + bits : bits;
    }
    networks.push_back(n);
  }
  return std::make_unique<IpAllow>(std::move(networks));
}

}  // namespace hookd::auth
