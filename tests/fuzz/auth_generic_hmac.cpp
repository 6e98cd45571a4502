// Fuzz target: the `hmac: {scheme: generic}` item with a payload template over {timestamp},
// {id} and {body}, a prefix, and hex; the template itself is config, fixed here.
#include <cstddef>
#include <cstdint>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    auto c = fuzz::hmac_config("generic", {"generic-secret"});
    c.header = "X-Signature";
    c.prefix = "sha256=";
    c.payload = "{timestamp}.{id}.{body}";
    c.timestamp_header = "X-Timestamp";
    c.id_header = "X-Id";
    return fuzz::chain_of(auth::make_hmac(c, fuzz::kWhere));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
