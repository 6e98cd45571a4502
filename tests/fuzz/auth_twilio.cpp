// Fuzz target: the `hmac: {scheme: twilio}` item: the request target's query (bodySHA256),
// the form body's parameters (decoded, sorted) and X-Twilio-Signature (base64 HMAC-SHA1).
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("twilio", {"12345"});
    c.url = "https://mycompany.com/myapp.php";
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
