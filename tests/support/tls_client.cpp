// TlsClient: blocking sockets + OpenSSL; minimal HTTP/1.1 response parsing
// (Content-Length bodies, which is what hookd sends).
#include "tls_client.hpp"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace hookd::test {
namespace {

// SSL_write on a socket the server closed must fail the test with an error, not kill it.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int connect_loopback(std::uint16_t port, bool ipv6, const std::string& source) {
  int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  if (!source.empty()) {  // another loopback address as the client's (127.0.0.0/8)
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (ipv6 || ::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot bind the client to " + source);
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in6 addr6{};
  addr6.sin6_family = AF_INET6;
  addr6.sin6_port = htons(port);
  addr6.sin6_addr = in6addr_loopback;
  int rc = ipv6 ? ::connect(fd, reinterpret_cast<sockaddr*>(&addr6), sizeof addr6)
                : ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0) {
    const int err = errno;  // which refusal: the stress runs saw one they could not name
    ::close(fd);
    throw std::runtime_error("connect to loopback port " + std::to_string(port) +
                             " failed: " + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Parses one response from `buf` if complete; erases it from `buf`.
std::optional<HttpResponse> parse(std::string& buf) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  HttpResponse r;
  std::string head = buf.substr(0, end);
  auto line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) throw std::runtime_error("bad status line: " + status_line);
  r.status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[lower(line.substr(0, colon))] = value;
    }
    pos = next + 2;
  }
  std::size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    length = std::stoul(it->second);
  }
  if (buf.size() < end + 4 + length) return std::nullopt;
  r.body = buf.substr(end + 4, length);
  buf.erase(0, end + 4 + length);
  if (r.status == 100) return parse(buf);  // interim response: skip it
  return r;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string format_request(const std::string& method, const std::string& path,
                           const std::string& body, const HeaderList& headers) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (lower(k) == "content-type") has_type = true;
  }
  if (!has_type && !body.empty()) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  req += body;
  return req;
}

TlsClient::TlsClient(std::uint16_t port, int max_tls, bool ipv6, const std::string& source) {
  fd_ = connect_loopback(port, ipv6, source);
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (max_tls != 0) SSL_CTX_set_max_proto_version(ctx_, max_tls);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error("TLS handshake failed");
  }
}

TlsClient::TlsClient(std::uint16_t port, const std::string& ca_file,
                     const std::string& server_name) {
  fd_ = connect_loopback(port, false, {});
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error("cannot load CA file " + ca_file);
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) != 1) {
    X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
  }
  if (SSL_connect(ssl_) != 1) {
    long verify = SSL_get_verify_result(ssl_);
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error(std::string("TLS handshake failed: ") +
                             X509_verify_cert_error_string(verify));
  }
}

std::string TlsClient::peer_serial() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  return out;
}

TlsClient::~TlsClient() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
  ::close(fd_);
}

void TlsClient::send_raw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    int n = SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off));
    if (n <= 0) throw std::runtime_error("SSL_write failed");
    off += static_cast<std::size_t>(n);
  }
}

bool TlsClient::fill() {
  char tmp[16384];
  int n = SSL_read(ssl_, tmp, sizeof tmp);
  if (n <= 0) return false;
  buffer_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> TlsClient::read_response() {
  for (;;) {
    if (auto r = parse(buffer_)) return r;
    if (!fill()) return std::nullopt;
  }
}

bool TlsClient::read_continue(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto end = buffer_.find("\r\n\r\n"); end != std::string::npos) {
      if (buffer_.size() < 12 || buffer_.compare(9, 3, "100") != 0) return false;
      buffer_.erase(0, end + 4);
      return true;
    }
    if (SSL_pending(ssl_) == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) == 0) return false;
    }
    if (!fill()) return false;
  }
}

HttpResponse TlsClient::request(const std::string& method, const std::string& path,
                                const std::string& body, const HeaderList& headers) {
  send_raw(format_request(method, path, body, headers));
  auto r = read_response();
  if (!r) throw std::runtime_error("connection closed before a response");
  return *r;
}

HttpResponse TlsClient::post(const std::string& path, const std::string& body,
                             const HeaderList& headers) {
  return request("POST", path, body, headers);
}

bool TlsClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (SSL_pending(ssl_) == 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) == 0) return false;
    }
    if (!fill()) return true;
  }
}

std::string TlsClient::read_until_closed(std::chrono::milliseconds timeout) {
  wait_closed(timeout);
  return std::exchange(buffer_, {});
}

std::string TlsClient::protocol() const { return SSL_get_version(ssl_); }
std::string TlsClient::cipher() const { return SSL_get_cipher_name(ssl_); }

HttpResponse http_get(std::uint16_t port, const std::string& path) {
  int fd = connect_loopback(port, false, {});
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string buf;
  char tmp[16384];
  for (;;) {
    if (auto r = parse(buf)) {
      ::close(fd);
      return *r;
    }
    auto n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  ::close(fd);
  throw std::runtime_error("no response from admin listener");
}

}  // namespace hookd::test
