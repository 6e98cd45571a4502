// A scripted HTTPS test server for the tests of the HTTPS client's users (the forward
// plugin, the ACME transport): blocking OpenSSL on 127.0.0.1 (ephemeral port, self-signed
// localhost certificate), one thread per connection, answering every request with the
// current Reply and recording what arrived.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace hookd::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
  bool chunked = false;                // chunked encoding, with a chunk extension and a trailer
  bool until_close = false;            // neither Content-Length nor chunked: the body ends at close
  bool never_answer = false;           // read the request, then keep silent until the server stops
  bool close_early = false;            // read only the request head, then close the connection
  bool keep_open = false;              // answer, then hold the connection open until the end
  std::chrono::milliseconds delay{0};  // before answering
};

struct Received {
  std::string method;
  std::string target;
  Headers headers;  // as received, in order
  std::string body;

  // The first header named `name` (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
  std::size_t count(std::string_view name) const;
};

class TlsTestServer {
 public:
  // Creates cert.pem/key.pem in `dir` and starts listening.
  explicit TlsTestServer(const std::string& dir);
  ~TlsTestServer();
  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& cert_file() const { return cert_; }
  void set_reply(Reply reply);
  std::vector<Received> received() const;

 private:
  void accept_loop();
  void serve(int fd);

  std::string cert_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  Reply reply_;
  std::vector<Received> received_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};


}  // namespace hookd::test
