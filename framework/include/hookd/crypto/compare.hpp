// Constant-time comparison of secrets and MACs, and SHA-256 (OpenSSL).
#pragma once

#include <string>
#include <string_view>

namespace hookd::crypto {

// True when equal; the time depends only on the lengths (CRYPTO_memcmp), never on where
// the first difference is. Different lengths compare unequal.
bool constant_time_equal(std::string_view a, std::string_view b);

// The 32-byte SHA-256 digest of `data`.
std::string sha256(std::string_view data);

}  // namespace hookd::crypto
