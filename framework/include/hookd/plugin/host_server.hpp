// The plugin host process's side of the host protocol (`hookd plugin-host`): loads one
// plugin, creates its instance with the config the engine sends, and serves Calls on a
// small thread pool until the engine closes the socket.
//
// Thread-safety: serve_host() runs on the calling thread and owns the threads it starts;
// it returns only after all of them are joined.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>

namespace hookd::plugin {

struct HostServerOptions {
  std::filesystem::path library;
  int fd = -1;           // the connected stream socket to the engine; closed on return
  unsigned threads = 1;  // handle() calls that may run at once
  // HostOptions::memory_limit and cpu_limit (0: none): the address space of the whole
  // process, and the CPU time of one handle() call. Exceeding one exits the process with
  // a status the engine names (see limits.hpp).
  std::uint64_t memory_limit = 0;
  std::chrono::milliseconds cpu_limit{0};
};

// Reads the Config frame, applies the limits, loads the library, calls create() and starts
// the pool; answers Ready, or CreateFailed with the reason (then returns 1). Then reads Calls and runs each
// on the pool, writing every Reply as soon as it is made. Returns 0 when the engine closes the
// socket (after the running calls finished and the instance was destroyed), 2 on a
// protocol or socket error. Never throws.
int serve_host(const HostServerOptions& options);

}  // namespace hookd::plugin
