// Fuzz target: the `hmac: {scheme: github}` item, X-Hub-Signature-256 (`sha256=<hex>`)
// parsing and verification; two secrets, as during a rotation.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("github", {"It's a Secret to Everybody", "mysecret"});
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
