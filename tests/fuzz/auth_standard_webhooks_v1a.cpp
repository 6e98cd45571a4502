// Fuzz target: the `signature: {scheme: standard-webhooks}` item: webhook-id, the timestamp
// and a list of `v1a,<base64>` Ed25519 signatures (svix's test key), beside `v1,` entries
// that this item must skip.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    config::SignatureAuthConfig c;
    c.scheme = "standard-webhooks";
    c.public_keys = {"whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="};
    return fuzz::chain_of(auth::make_signature(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
