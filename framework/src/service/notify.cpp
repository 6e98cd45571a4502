// Notifier: sendto() of one datagram to $NOTIFY_SOCKET, as sd_notify(3) does.
#include "hookd/service/notify.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace hookd::service {

Notifier Notifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return Notifier(socket != nullptr ? socket : "");
}

bool Notifier::send(std::string_view state) const {
  if (socket_.empty()) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof(addr.sun_path)) {
    if (!failing_.exchange(true)) {
      spdlog::warn("NOTIFY_SOCKET is too long for a unix socket address: {}", socket_);
    }
    return false;
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  // Abstract namespace: the leading '@' stands for a NUL byte, and the length is exact
  // (no terminating NUL), or the kernel looks up a different name.
  if (socket_.front() == '@') addr.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() +
                                             (socket_.front() == '@' ? 0 : 1));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (!failing_.exchange(true)) {
      spdlog::warn("notify: cannot create a socket: {}", std::strerror(errno));
    }
    return false;
  }
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&addr), length);
  const int error = errno;
  ::close(fd);
  if (sent < 0) {
    if (!failing_.exchange(true)) {
      spdlog::warn("notify: cannot send to {}: {}", socket_, std::strerror(error));
    }
    return false;
  }
  failing_ = false;
  return true;
}

std::string monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  return "MONOTONIC_USEC=" + std::to_string(usec);
}

}  // namespace hookd::service
