// Running one child process for the `exec` plugin: posix_spawn with piped stdin/stdout/
// stderr, a wall-clock limit enforced on the whole process group, and always reaped.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::plugins::exec {

struct RunSpec {
  std::vector<std::string> argv;  // argv[0] is searched in PATH when it has no '/'
  std::vector<std::string> env;   // the complete environment, "NAME=value" each
  std::string_view input;         // written to the child's stdin, which is then closed
  std::chrono::milliseconds timeout{30'000};
  std::size_t tail_bytes = 1024;  // how much of the end of stdout and stderr to keep
};

struct RunResult {
  enum class Status {
    exited,        // code = exit status
    signaled,      // code = the signal that ended it
    timed_out,     // the process group was killed with SIGKILL
    spawn_failed,  // code = the errno of posix_spawn (e.g. ENOENT)
    error,         // code = errno of `call`, which failed while supervising the child
  };
  Status status = Status::error;
  int code = 0;
  std::string call;  // Status::error only: the system call that failed
  std::string stdout_tail;
  std::string stderr_tail;
};

// Runs the child to completion or until spec.timeout has passed, feeding spec.input to
// its stdin (a child that does not read it, or exits early, is no problem) and keeping the
// last spec.tail_bytes of its stdout and stderr. The child gets its own process group, an
// empty signal mask, default signal dispositions and no file descriptors other than 0-2.
// The child is always reaped before this returns. Thread-safe: calls may run concurrently.
// Installs no signal handler; SIGPIPE is blocked in the calling thread while it writes.
RunResult run_child(const RunSpec& spec);

}  // namespace hookd::plugins::exec
