// TCP sockets on 127.0.0.1 for the tests' own servers and for ports handed to others.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace hookd::test {

// A listening TCP socket (close-on-exec) on 127.0.0.1 with an ephemeral port, stored in
// `port`. Throws std::runtime_error when it cannot be made.
int listen_loopback(std::uint16_t& port, int backlog = SOMAXCONN);

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed): for a
// server the test starts itself, or a peer (Pebble) told where to connect.
std::uint16_t free_port();

}  // namespace hookd::test
