// Fuzz target: the `hmac: {scheme: standard-webhooks}` item: webhook-id, webhook-timestamp
// (both sides of the tolerance) and a space-separated list of `v1,<base64>` signatures.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("standard-webhooks", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
