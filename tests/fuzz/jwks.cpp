// Fuzz target: JWKS documents (parse_jwks): the JSON, every key type's members (RSA n/e,
// EC crv/x/y, OKP x), base64url, the point and modulus checks, `use`/`alg` filtering. What
// `bearer: {jwks: FILE}` reads at load time from a file an operator may have fetched.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_request.hpp"
#include "hookd/auth/jwt.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> skipped;
  try {
    const auto keys = auth::parse_jwks(fuzz::as_text(data, size), &skipped);
    // A key that parsed is usable: its algorithm agrees with its type.
    for (const auto& key : keys) {
      if (!key.pkey || auth::jws_algorithm_for(key.pkey.get()) != key.algorithm) __builtin_trap();
    }
  } catch (const auth::JwtError&) {
    // A malformed document: the documented answer.
  }
  return 0;
}
