// take_passed_sockets(): reads LISTEN_* as sd_listen_fds_with_names() does and describes
// each descriptor with getsockname(), so that the server can match it to a listen address.
#include "hookd/service/listen_fds.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace hookd::service {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

long long parse_number(const std::string& text, const char* variable) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < 0) {
    throw std::runtime_error(std::string(variable) + " is not a number: '" + text + "'");
  }
  return value;
}

PassedSocket describe_fd(int fd, std::string name) {
  PassedSocket s;
  s.fd = fd;
  s.name = name == "unknown" ? "" : std::move(name);  // systemd's name for "not named"
  const std::string which = "passed descriptor " + std::to_string(fd);
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    throw std::runtime_error(which + " is not open: " + std::strerror(errno));
  }
  int type = 0;
  int listening = 0;
  socklen_t size = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM) {
    throw std::runtime_error(which + " is not a stream socket");
  }
  size = sizeof(listening);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
    throw std::runtime_error(which + " is not a listening socket");
  }
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw std::runtime_error(which + ": getsockname failed: " + std::strerror(errno));
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    s.port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    s.port = ntohs(in6.sin6_port);
    s.ipv6 = true;
  } else {
    throw std::runtime_error(which +
                             " is not a TCP/IP socket (ListenStream= takes an address "
                             "or port for hookd, not a path)");
  }
  s.address = text;
  return s;
}

}  // namespace

std::string PassedSocket::describe() const {
  std::string out = "fd " + std::to_string(fd);
  if (!name.empty()) out += " '" + name + "'";
  out += " " + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  return out;
}

std::vector<PassedSocket> take_passed_sockets() {
  const std::string pid = env("LISTEN_PID");
  const std::string count = env("LISTEN_FDS");
  const std::string names = env("LISTEN_FDNAMES");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (count.empty()) return {};
  // Another process's sockets (LISTEN_PID of a parent that did not clear it): not ours.
  if (pid.empty() || parse_number(pid, "LISTEN_PID") != static_cast<long long>(::getpid())) {
    return {};
  }
  const long long n = parse_number(count, "LISTEN_FDS");
  std::vector<std::string> split;
  for (std::size_t at = 0; !names.empty() && at <= names.size();) {
    const auto colon = names.find(':', at);
    split.push_back(names.substr(at, colon == std::string::npos ? std::string::npos : colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  std::vector<PassedSocket> out;
  for (long long i = 0; i < n; ++i) {
    const auto index = static_cast<std::size_t>(i);
    out.push_back(describe_fd(kFirstFd + static_cast<int>(i),
                              index < split.size() ? split[index] : std::string()));
  }
  return out;
}

}  // namespace hookd::service
