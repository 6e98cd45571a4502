// Fuzz target: the `hmac: {scheme: slack}` item: X-Slack-Request-Timestamp and
// X-Slack-Signature (`v0=<hex>` over "v0:{ts}:{body}").
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("slack", {"8f742231b10e8888abcd99yyyzzz85a5"});
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
