// One HTTPS request/response exchange over POSIX sockets and OpenSSL, bounded by a
// deadline: resolve, non-blocking connect, TLS handshake (peer and hostname verified),
// write, read the answer. No Boost, so the forward plugin compiles it too (it must not
// link the framework); the framework's ACME transport uses the same code.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "hookd/https/response.hpp"
#include "hookd/https/url.hpp"

namespace hookd::https {

struct Exchange {
  enum class Error { none, resolve, connect, tls, timeout, io, protocol };
  Error error = Error::none;
  std::string message;  // what went wrong, for a log or handler message (no secrets)
  Response response;    // valid when error == none
  // The whole body arrived: not cut short after the head, not over the body limit.
  bool complete = false;
};

// Thread-safety: send() may run on many threads at once; the SSL_CTX is built in the
// constructor and only read afterwards (OpenSSL allows SSL_new on a shared context).
class Client {
 public:
  using Clock = std::chrono::steady_clock;

  // Verifies servers against the PEM certificates in `ca_file` (when not empty; it may
  // also hold the server's own or an intermediate certificate: partial chains are
  // accepted) or else the system's default trust store. TLS 1.2 minimum. Throws
  // std::runtime_error when the context or the CA file cannot be set up.
  explicit Client(const std::string& ca_file);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `head` (request line and headers, ending with the empty line; any method: a GET
  // passes an empty body) and `body` on a new connection and reads the response (keeping
  // up to `body_limit` body bytes). Never throws for network or TLS trouble (it is reported
  // in the Exchange); never raises SIGPIPE. Once the status line and headers are in, later
  // trouble reading the body still reports the response (the server has answered), with
  // complete == false. A response without a body by definition (204, 304) ends at its
  // head: no need to wait for the close.
  Exchange send(const Url& url, std::string_view head, std::string_view body,
                Clock::time_point deadline, std::size_t body_limit) const;

 private:
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace hookd::https
