// A small blocking HTTP/1.1 client over TLS (OpenSSL, plain sockets) for integration
// tests: independent of the server's Beast code, so the tests do not share its bugs.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hookd::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Builds "METHOD path HTTP/1.1" with Host, Content-Length and the given headers.
std::string format_request(const std::string& method, const std::string& path,
                           const std::string& body, const HeaderList& headers = {});

class TlsClient {
 public:
  // Connects to 127.0.0.1:port (or [::1]:port) and completes the handshake (certificate
  // not verified: the tests' servers are self-signed). Throws on failure. `max_tls` 0 =
  // library default. `source`: another IPv4 loopback address to connect from (127.0.0.2).
  explicit TlsClient(std::uint16_t port, int max_tls = 0, bool ipv6 = false,
                     const std::string& source = {});
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Connects to 127.0.0.1:port with SNI `server_name` and verifies the server: its chain
  // against the PEM certificates in `ca_file` only, and the name. Throws when it fails.
  TlsClient(std::uint16_t port, const std::string& ca_file, const std::string& server_name);

  // The served certificate's serial number (hex, upper case), "" when none.
  std::string peer_serial() const;

  HttpResponse post(const std::string& path, const std::string& body,
                    const HeaderList& headers = {});
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string& body, const HeaderList& headers = {});

  // Sends bytes as they are (partial or malformed requests).
  void send_raw(const std::string& bytes);
  // Reads one response; nullopt when the peer closed the connection first.
  std::optional<HttpResponse> read_response();
  // Reads an interim `100 Continue`, which hookd sends for `Expect: 100-continue` once it
  // has read and admitted the request's head: proof that the request is in progress. False
  // when another response comes first (left for read_response()), the connection ends, or
  // nothing comes within `timeout`.
  bool read_continue(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // True when the peer closes the connection (EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);
  // The bytes the peer sends (not read yet) until it closes the connection, or until
  // `timeout`: responses as they are on the wire.
  std::string read_until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  std::string protocol() const;  // "TLSv1.3"
  std::string cipher() const;

 private:
  bool fill();  // reads more into buffer_; false on EOF/error
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// A plain-HTTP GET (the admin listener). Throws on connection failure.
HttpResponse http_get(std::uint16_t port, const std::string& path);

}  // namespace hookd::test
