// The TLS and ACME code's one way to give up on an OpenSSL call.
#pragma once

#include <openssl/err.h>

#include <stdexcept>
#include <string>

namespace hookd::tls {

// Throws std::runtime_error(what). OpenSSL's queued errors can describe the input (key
// material, a certificate): they are dropped so that nothing reaches a later
// ERR_get_error() reader. `what` never quotes key material either.
[[noreturn]] inline void fail(const std::string& what) {
  ERR_clear_error();
  throw std::runtime_error(what);
}

}  // namespace hookd::tls
