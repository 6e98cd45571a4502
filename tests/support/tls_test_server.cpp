// The scripted HTTPS test server; see tls_test_server.hpp.
#include "tls_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "loopback.hpp"
#include "hookd/tls/files.hpp"

namespace hookd::test {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void write_all(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads one request (head, then a Content-Length body unless `head_only`); false on error.
bool read_request(SSL* ssl, Received& out, bool head_only) {
  std::string buffer;
  char chunk[8192];
  std::size_t head_end = std::string::npos;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  const std::string head = buffer.substr(0, head_end);
  std::string body = buffer.substr(head_end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.find(' ', sp1 + 1);
  out.method = request_line.substr(0, sp1);
  out.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    out.headers.emplace_back(line.substr(0, colon), line.substr(v));
  }
  if (head_only) return true;
  const auto length = out.header("content-length");
  const std::size_t want = length ? std::stoul(*length) : 0;
  while (body.size() < want) {
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) return false;
    body.append(chunk, static_cast<std::size_t>(n));
  }
  out.body = std::move(body);
  return true;
}

std::string format_reply(const Reply& reply) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
  for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
  if (reply.chunked) {
    out += "Transfer-Encoding: chunked\r\n\r\n";
    const std::size_t half = reply.body.size() / 2;
    const std::string first = reply.body.substr(0, half), second = reply.body.substr(half);
    char size[32];
    std::snprintf(size, sizeof size, "%zx;ext=1\r\n", first.size());
    if (!first.empty()) out += size + first + "\r\n";
    std::snprintf(size, sizeof size, "%zX\r\n", second.size());
    if (!second.empty()) out += size + second + "\r\n";
    out += "0\r\nX-Trailer: yes\r\n\r\n";
  } else if (reply.until_close) {
    out += "\r\n" + reply.body;
  } else {
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
  }
  return out;
}

}  // namespace

std::optional<std::string> Received::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (lower(n) == lower(name)) return v;
  }
  return std::nullopt;
}

std::size_t Received::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& h : headers) n += lower(h.first) == lower(name) ? 1 : 0;
  return n;
}

TlsTestServer::TlsTestServer(const std::string& dir) : cert_(dir + "/cert.pem") {
  const std::string key = dir + "/key.pem";
  tls::create_self_signed(cert_, key);
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, cert_.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("test server: cannot set up TLS");
  }
  listen_fd_ = listen_loopback(port_, 64);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TlsTestServer::~TlsTestServer() {
  stop_ = true;
  acceptor_.join();
  for (auto& t : connections_) t.join();
  ::close(listen_fd_);
  SSL_CTX_free(ctx_);
}

void TlsTestServer::set_reply(Reply reply) {
  std::lock_guard lock(mutex_);
  reply_ = std::move(reply);
}

std::vector<Received> TlsTestServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void TlsTestServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void TlsTestServer::serve(int fd) {
  // A client that has gone away must not kill the test process with SIGPIPE: blocked in
  // this (server) thread only, so the plugin's own threads still see the default action.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  timeval tv{5, 0};  // a stuck client cannot hang the test
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Reply reply;
  {
    std::lock_guard lock(mutex_);
    reply = reply_;
  }
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd);
  Received request;
  if (SSL_accept(ssl) == 1 && read_request(ssl, request, reply.close_early)) {
    {
      std::lock_guard lock(mutex_);
      received_.push_back(request);
    }
    if (reply.never_answer) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } else if (!reply.close_early) {
      std::this_thread::sleep_for(reply.delay);
      write_all(ssl, format_reply(reply));
      while (reply.keep_open && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      SSL_shutdown(ssl);
    }
  }
  SSL_free(ssl);
  ::close(fd);
}

}  // namespace hookd::test
