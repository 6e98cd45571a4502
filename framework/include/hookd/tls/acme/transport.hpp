// How the ACME client talks to the CA: plain requests over HTTPS. An interface, so the
// protocol code is independent of the socket code and a test can count requests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace hookd::tls::acme {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; repeated: last wins
  std::string body;
  // The header's value, empty when absent. `lower_name` in lower case.
  std::string header(const std::string& lower_name) const;
};

// The CA could not be reached or did not answer HTTP (resolve, connect, TLS, timeout).
struct TransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // GET url (the directory; a newNonce). Throws TransportError.
  virtual HttpReply get(const std::string& url) = 0;
  // POST url with Content-Type application/jose+json. Throws TransportError.
  virtual HttpReply post_jose(const std::string& url, const std::string& body) = 0;
};

// HTTPS with the peer verified against `ca_bundle` (a PEM file; empty: the system's trust
// store), a User-Agent naming hookd, one connection per request, each bounded by
// `timeout`. Thread-safety: one caller at a time is enough for ACME, but requests share
// only the immutable SSL_CTX. Throws std::runtime_error when the bundle cannot be read.
std::unique_ptr<Transport> make_https_transport(const std::string& ca_bundle,
                                                std::chrono::milliseconds timeout);

}  // namespace hookd::tls::acme
