// One deadline-bounded HTTPS exchange over POSIX sockets and OpenSSL; see client.hpp.
// The socket is non-blocking throughout and every wait is a poll() bounded by the
// deadline. OpenSSL talks to it through a small BIO that writes with send(MSG_NOSIGNAL),
// so a peer that goes away never raises SIGPIPE (no signal handler or mask is touched).
#include "hookd/https/client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace hookd::https {
namespace {

using Clock = Client::Clock;

// What the BIO needs: the descriptor, and the errno of its last failed call.
struct SocketState {
  int fd = -1;
  int last_errno = 0;
};

SocketState* state_of(BIO* bio) {
  return static_cast<SocketState*>(BIO_get_data(bio));
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* bio, const char* data, int len) {
  SocketState* s = state_of(bio);
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(s->fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  s->last_errno = errno;
  if (would_block(errno)) BIO_set_retry_write(bio);
  return -1;
}

int bio_read(BIO* bio, char* out, int len) {
  SocketState* s = state_of(bio);
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(s->fd, out, static_cast<std::size_t>(len), 0);
  if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
  s->last_errno = errno;
  if (would_block(errno)) BIO_set_retry_read(bio);
  return -1;
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

struct BioMethodFree {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};

// Created once (thread-safe static initialisation), freed when the library unloads.
const BIO_METHOD* socket_bio_method() {
  static const std::unique_ptr<BIO_METHOD, BioMethodFree> method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hookd https socket");
    if (m == nullptr || BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bio_create) != 1) {
      BIO_meth_free(m);
      return std::unique_ptr<BIO_METHOD, BioMethodFree>();
    }
    return std::unique_ptr<BIO_METHOD, BioMethodFree>(m);
  }();
  return method.get();
}

std::string errno_text(int err) {
  return std::system_category().message(err);
}

// Waits until `fd` is ready for `events` or the deadline passes. POLLERR/POLLHUP count as
// ready: the next socket call reports them.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct AddrInfoFree {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// Resolves and connects (trying each address in turn) before the deadline.
Exchange::Error connect_to(const Url& url, const std::string& where, Clock::time_point deadline,
                           Fd& out, std::string& message) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (url.ip_literal ? AI_NUMERICHOST : 0);
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (rc != 0) {
    message = "cannot resolve " + url.host + ": " +
              (rc == EAI_SYSTEM ? errno_text(errno) : std::string(gai_strerror(rc)));
    return Exchange::Error::resolve;
  }
  const std::unique_ptr<addrinfo, AddrInfoFree> list(found);
  int last_error = ECONNREFUSED;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_error = errno;
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = errno;
        continue;
      }
      if (!wait_for(fd.get(), POLLOUT, deadline)) {
        message = "timed out connecting to " + where;
        return Exchange::Error::timeout;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      if (so_error != 0) {
        last_error = so_error;
        continue;
      }
    }
    const int one = 1;  // the head and the body go out as separate writes
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    out = std::move(fd);
    return Exchange::Error::none;
  }
  message = "cannot connect to " + where + ": " + errno_text(last_error);
  return Exchange::Error::connect;
}

// Drives one TLS connection: each operation is retried as OpenSSL asks, waiting on the
// socket until the deadline.
class TlsStream {
 public:
  TlsStream(SSL* ssl, SocketState& socket, Clock::time_point deadline)
      : ssl_(ssl), socket_(socket), deadline_(deadline) {}

  // > 0 on success; otherwise <= 0 with error()/timed_out() describing it.
  template <class Op>
  int run(Op op) {
    for (;;) {
      ERR_clear_error();
      socket_.last_errno = 0;
      const int r = op();
      if (r > 0) return r;
      error_ = SSL_get_error(ssl_, r);
      if (error_ != SSL_ERROR_WANT_READ && error_ != SSL_ERROR_WANT_WRITE) return r;
      if (!wait_for(socket_.fd, error_ == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_)) {
        timed_out_ = true;
        return -1;
      }
    }
  }

  bool timed_out() const { return timed_out_; }
  // The peer closed the connection (cleanly or not).
  bool eof() const {
    return error_ == SSL_ERROR_ZERO_RETURN ||
           (error_ == SSL_ERROR_SYSCALL && socket_.last_errno == 0);
  }
  std::string describe() const {
    if (error_ == SSL_ERROR_SYSCALL || (error_ == SSL_ERROR_SSL && socket_.last_errno != 0)) {
      return socket_.last_errno != 0 ? errno_text(socket_.last_errno)
                                     : "the server closed the connection";
    }
    if (error_ == SSL_ERROR_ZERO_RETURN) return "the server closed the connection";
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
    return reason != nullptr ? reason : "TLS error " + std::to_string(error_);
  }

 private:
  SSL* ssl_;
  SocketState& socket_;
  Clock::time_point deadline_;
  int error_ = SSL_ERROR_NONE;
  bool timed_out_ = false;
};

Exchange failure(Exchange::Error error, std::string message) {
  Exchange out;
  out.error = error;
  out.message = std::move(message);
  return out;
}

}  // namespace

Client::Client(const std::string& ca_file) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr || socket_bio_method() == nullptr) {
    SSL_CTX_free(ctx_);
    throw std::runtime_error("cannot create an OpenSSL client context");
  }
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  // A close without close_notify ends a read-until-close body (the body is only used for
  // messages); renegotiation and compression are never wanted.
  SSL_CTX_set_options(
      ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn - 1);
  bool ok = true;
  std::string what;
  if (!ca_file.empty()) {
    ok = SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) == 1;
    what = "cannot load CA certificates from " + ca_file;
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx_), X509_V_FLAG_PARTIAL_CHAIN);
  } else {
    ok = SSL_CTX_set_default_verify_paths(ctx_) == 1;
    what = "cannot load the system's default CA certificates";
  }
  if (!ok) {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    SSL_CTX_free(ctx_);
    throw std::runtime_error(what + (reason != nullptr ? std::string(": ") + reason : ""));
  }
  ERR_clear_error();
}

Client::~Client() {
  SSL_CTX_free(ctx_);
}

Exchange Client::send(const Url& url, std::string_view head, std::string_view body,
                      Clock::time_point deadline, std::size_t body_limit) const {
  const std::string where =
      (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
      std::to_string(url.port);
  Fd fd;
  std::string message;
  if (const auto error = connect_to(url, where, deadline, fd, message);
      error != Exchange::Error::none) {
    return failure(error, message);
  }

  const std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx_));
  BIO* bio = ssl ? BIO_new(socket_bio_method()) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    return failure(Exchange::Error::tls, "cannot create a TLS connection (out of memory?)");
  }
  SocketState socket{fd.get(), 0};
  BIO_set_data(bio, &socket);
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO now
  if (url.ip_literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), url.host.c_str());
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl.get(), url.host.c_str());
  }

  TlsStream tls(ssl.get(), socket, deadline);
  Exchange out;
  if (tls.run([&] { return SSL_connect(ssl.get()); }) <= 0) {
    const long verify = SSL_get_verify_result(ssl.get());
    if (tls.timed_out()) {
      out = failure(Exchange::Error::timeout, "timed out in the TLS handshake with " + where);
    } else if (verify != X509_V_OK) {
      out = failure(Exchange::Error::tls, "TLS handshake with " + where +
                                              " failed: certificate verification failed: " +
                                              X509_verify_cert_error_string(verify));
    } else {
      out = failure(Exchange::Error::tls,
                    "TLS handshake with " + where + " failed: " + tls.describe());
    }
    ERR_clear_error();
    return out;
  }

  // Send the request; a write failure may still leave an early answer to read (e.g. 413).
  std::string write_error;
  for (std::string_view part : {head, body}) {
    while (!part.empty() && write_error.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(part.size(), 1 << 20));
      const int n = tls.run([&] { return SSL_write(ssl.get(), part.data(), chunk); });
      if (n > 0) {
        part.remove_prefix(static_cast<std::size_t>(n));
      } else if (tls.timed_out()) {
        ERR_clear_error();
        return failure(Exchange::Error::timeout, "timed out sending the request to " + where);
      } else {
        write_error = "sending the request to " + where + " failed: " + tls.describe();
      }
    }
  }

  ResponseParser parser(body_limit);
  char buffer[16384];
  std::string read_error;
  bool timed_out = false;
  while (!parser.done() && !parser.failed() && !parser.body_full()) {
    const int n = tls.run([&] { return SSL_read(ssl.get(), buffer, sizeof buffer); });
    if (n > 0) {
      parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    } else if (tls.eof()) {
      parser.eof();
    } else {
      timed_out = tls.timed_out();
      read_error = tls.describe();
      break;
    }
  }
  ERR_clear_error();
  if (parser.head_done()) {
    out.response = parser.response();
    out.complete = parser.done() && !parser.truncated();
    return out;
  }
  if (!write_error.empty()) return failure(Exchange::Error::io, write_error);
  if (timed_out) {
    return failure(Exchange::Error::timeout, "timed out waiting for the response from " + where);
  }
  if (parser.failed()) {
    return failure(Exchange::Error::protocol, "bad response from " + where + ": " + parser.error());
  }
  return failure(Exchange::Error::io,
                 "reading the response from " + where + " failed: " + read_error);
}

}  // namespace hookd::https
