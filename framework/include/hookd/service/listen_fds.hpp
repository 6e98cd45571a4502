// Socket activation (sd_listen_fds(3)) without libsystemd: the listening sockets a service
// manager passed as descriptors 3.. (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), as plain
// records; net::Server adopts them instead of binding (matching is its business).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hookd::service {

struct PassedSocket {
  int fd = -1;
  std::string name;  // FileDescriptorName= ("https", "admin", "acme-http"); "" when none
  bool ipv6 = false;
  std::string address;  // numeric, as getsockname() reports it: "127.0.0.1", "::"
  std::uint16_t port = 0;

  std::string describe() const;  // "fd 3 'https' 127.0.0.1:8443"
};

// The sockets passed to this process (LISTEN_PID is ours), marked close-on-exec so that
// plugin hosts do not hold them; LISTEN_* is removed from the environment either way, so
// children never mistake them for theirs. Throws std::runtime_error naming the variable or
// descriptor when a value is malformed or a descriptor is not a listening TCP socket.
// Call before any thread starts (it changes the environment).
std::vector<PassedSocket> take_passed_sockets();

}  // namespace hookd::service
