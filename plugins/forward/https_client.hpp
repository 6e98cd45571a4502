// One HTTPS POST exchange over POSIX sockets and OpenSSL, bounded by a deadline: resolve,
// non-blocking connect, TLS handshake (peer and hostname verified), write, read the answer.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "http_response.hpp"
#include "url.hpp"

namespace hookd::plugins::forward {

struct Exchange {
  enum class Error { none, resolve, connect, tls, timeout, io, protocol };
  Error error = Error::none;
  std::string message;    // what went wrong, for the handler's message (no secrets)
  HttpResponse response;  // valid when error == none
};

// Thread-safety: post() may run on many threads at once; the SSL_CTX is built in the
// constructor and only read afterwards (OpenSSL allows SSL_new on a shared context).
class HttpsClient {
 public:
  using Clock = std::chrono::steady_clock;

  // Verifies servers against the PEM certificates in `ca_file` (when not empty; it may
  // also hold the server's own or an intermediate certificate: partial chains are
  // accepted) or else the system's default trust store. TLS 1.2 minimum. Throws
  // std::runtime_error when the context or the CA file cannot be set up.
  explicit HttpsClient(const std::string& ca_file);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Sends `head` (request line and headers, ending with the empty line) and `body` on a
  // new connection and reads the response (keeping up to `body_limit` body bytes). Never
  // throws for network or TLS trouble (it is reported in the Exchange); never raises
  // SIGPIPE. Once the status line and headers are in, later trouble reading the body
  // still reports the response (the server has answered).
  Exchange post(const HttpsUrl& url, std::string_view head, std::string_view body,
                Clock::time_point deadline, std::size_t body_limit) const;

 private:
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace hookd::plugins::forward
