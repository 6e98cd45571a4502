// Fuzz target: the `hmac: {scheme: stripe}` item, the Stripe-Signature list
// (`t=<unix>,v1=<hex>,v1=...,v0=...`), its timestamp tolerance and the HMAC over "{t}.{body}".
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("stripe", {"whsec_test_secret"});
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
