// Fuzz target: the `signature: {scheme: sendgrid}` item: the timestamp header and the
// ECDSA P-256 signature header (base64 of DER), verified over timestamp + body with the
// public key of SendGrid's SDK tests.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    config::SignatureAuthConfig c;
    c.scheme = "sendgrid";
    c.public_keys = {
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62"
        "gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="};
    return fuzz::chain_of(auth::make_signature(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
