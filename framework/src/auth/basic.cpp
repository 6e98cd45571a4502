// `basic`: RFC 7617 HTTP Basic credentials, compared in constant time: both sides are
// SHA-256 digests of equal length, so neither the time nor an early exit on a length
// mismatch tells how long the password is or whether the user name was right.
#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth {
namespace {

// The Authorization header's Basic credentials: "user:password" decoded.
struct Credentials {
  enum class Status { missing, malformed, ok } status = Status::missing;
  std::string decoded;
  std::size_t colon = 0;
};

Credentials credentials(const http::Request& request) {
  Credentials c;
  auto header = request.header("authorization");
  if (!header) return c;
  std::string_view value = *header;
  if (value.size() < 6 || !http::iequals(value.substr(0, 6), "basic ")) return c;
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  c.status = Credentials::Status::malformed;
  auto decoded = crypto::base64_decode(value);
  if (!decoded) return c;
  c.colon = decoded->find(':');
  if (c.colon == std::string::npos) return c;
  c.decoded = std::move(*decoded);
  c.status = Credentials::Status::ok;
  return c;
}

constexpr std::string_view kChallenge = "Basic realm=\"hookd\", charset=\"UTF-8\"";

class Basic final : public HeadCheck {
 public:
  explicit Basic(const config::BasicAuthConfig& c)
      : username_sha256_(crypto::sha256(c.username)),
        password_sha256_(c.password_sha256.empty() ? crypto::sha256(c.password.str())
                                                   : *crypto::hex_decode(c.password_sha256.str())) {}

  Result check(const http::Request& request, const Context&) const override {
    const Credentials c = credentials(request);
    if (c.status == Credentials::Status::missing) {
      return Result::unauthorized("missing_credentials", kChallenge);
    }
    if (c.status == Credentials::Status::malformed) {
      return Result::unauthorized("bad_credentials", kChallenge);
    }
    const std::string_view user = std::string_view(c.decoded).substr(0, c.colon);
    const std::string_view pass = std::string_view(c.decoded).substr(c.colon + 1);
    // Both comparisons always run, so the time does not tell whether the user name was right.
    bool user_ok = crypto::constant_time_equal(crypto::sha256(user), username_sha256_);
    bool pass_ok = crypto::constant_time_equal(crypto::sha256(pass), password_sha256_);
    if (!(user_ok & pass_ok)) return Result::unauthorized("bad_credentials", kChallenge);
    return Result::ok();
  }

 private:
  std::string username_sha256_;  // raw 32 bytes each
  std::string password_sha256_;
};

}  // namespace

std::optional<std::string> basic_user(const http::Request& request) {
  Credentials c = credentials(request);
  if (c.status != Credentials::Status::ok) return std::nullopt;
  c.decoded.resize(c.colon);
  return std::move(c.decoded);
}

std::unique_ptr<Check> make_basic(const config::BasicAuthConfig& config) {
  return std::make_unique<Basic>(config);
}

}  // namespace hookd::auth
