// Fuzz target: the `bearer` item with an external JWKS: the Authorization header, the
// compact JWS (three base64url parts), its header and claims JSON, the algorithm and kid
// choice, the signature (ES256, EdDSA) and the claim checks (iss, aud, exp, nbf, typ).
// Seeds hold tokens signed with the private halves of the keys below (valid, expired,
// `alg: none`), so that coverage reaches the claim checks.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

namespace {

// Public halves only (the private keys that signed the seeds are not kept).
constexpr const char* kJwks =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"KhDYQCfYKseIjXro4usizbOfLJCQ6-"
    "tlRDP6nZfaVv8\",\"y\":\"31TAfDbyXgrjZ9WtlszqfOaQeDw-va1I2n602QH_j3k\",\"kid\":\"ec-1\","
    "\"alg\":\"ES256\",\"use\":\"sig\"},{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
    "\"GjVTYrJAbStMohmye4i6bmenK1yZt4ErKo3mGtWY1e4\",\"kid\":\"ed-1\"}]}";

// make_bearer reads its JWKS from a file: write one, build the item, remove the file.
std::unique_ptr<auth::Chain> build() {
  char path[] = "/tmp/hookd-fuzz-jwks-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) std::abort();
  ::close(fd);
  std::ofstream(path) << kJwks;
  config::BearerAuthConfig c;
  c.jwks = path;
  c.issuer = "https://issuer.example";
  c.audience = "hookd";
  c.typ = "at+jwt";
  auto chain = fuzz::chain_of(auth::make_bearer(c, {}, fuzz::kWhere));
  ::unlink(path);
  return chain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = build();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
