// The plugin host process's side of the host protocol (`hookd plugin-host`): loads one
// plugin, creates its instance with the config the engine sends on the control socket,
// and serves Calls on its lanes, a thread each, until the engine closes them.
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
  // The control socket to the engine; the lanes are the next `threads` descriptors
  // (fd + 1 ...). All are closed on return.
  int fd = -1;
  unsigned threads = 1;  // lanes: handle() calls that may run at once
  // HostOptions::memory_limit and cpu_limit (0: none): the address space of the whole
  // process, and the CPU time of one handle() call. Exceeding one exits the process with
  // a status the engine names (see limits.hpp).
  std::uint64_t memory_limit = 0;
  std::chrono::milliseconds cpu_limit{0};
};

// Reads the Config frame, applies the limits, loads the library, calls create() and starts
// a thread per lane; answers Ready, or CreateFailed with the reason (then returns 1). Each
// lane's thread then reads a Call, runs it and writes its Reply, in turn. Returns 0 when
// the engine closes the control socket (after the running calls finished and the instance
// was destroyed), 2 on a protocol or socket error. Never throws.
int serve_host(const HostServerOptions& options);

}  // namespace hookd::plugin
