// What integration tests need to sign requests as a sender would, computed with OpenSSL's
// one-shot HMAC: a different code path from the server's verifiers.
#pragma once

#include <string>

namespace hookd::test {

// Raw HMAC-SHA256 bytes of `data` under `key`.
std::string hmac_sha256(const std::string& key, const std::string& data);
// The current time as unix seconds in text, as timestamp headers carry it.
std::string now_unix();

}  // namespace hookd::test
