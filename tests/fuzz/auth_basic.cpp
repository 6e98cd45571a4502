// Fuzz target: the `basic` item: the Authorization header's scheme, base64 and user:password
// split; one item with the password, one with its SHA-256 (either may pass: `any`).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "auth_harness.hpp"
#include "fuzz_request.hpp"
#include "hookd/auth/items.hpp"

using namespace hookd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto chain = [] {
    config::BasicAuthConfig plain;
    plain.username = "jofi";
    plain.password = config::Secret("change-me");
    config::BasicAuthConfig hashed;
    hashed.username = "ops";
    // SHA-256 of "s3cret"
    hashed.password_sha256 =
        config::Secret("1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
    std::vector<std::unique_ptr<auth::Check>> items;
    items.push_back(auth::make_basic(plain));
    items.push_back(auth::make_basic(hashed));
    return fuzz::chain_of(auth::make_any(std::move(items)));
  }();
  fuzz::run_auth(*chain, fuzz::as_text(data, size));
  return 0;
}
