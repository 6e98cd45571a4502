// Loopback sockets for tests (see loopback.hpp).
#include "loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <stdexcept>

namespace hookd::test {
namespace {

// Bound to 127.0.0.1:0; `backlog` < 0: not listening.
int bind_loopback(std::uint16_t& port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (backlog >= 0 && ::listen(fd, backlog) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1:0");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

int listen_loopback(std::uint16_t& port, int backlog) {
  return bind_loopback(port, backlog);
}

std::uint16_t free_port() {
  std::uint16_t port = 0;
  ::close(bind_loopback(port, -1));
  return port;
}

}  // namespace hookd::test
