// Starting a plugin host child and naming how it ended. Private to plugin/.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hookd::plugin {

inline constexpr int kChildFd = 3;  // the first socket's number in the child
inline constexpr int kMaxChildFds = 1025;  // the control socket and up to 1024 lanes

// fork + exec of `args` (args[0] is the executable's path) with child_fds[i] as fd
// kChildFd + i and nothing else open but 0-2, and `env` ("NAME=value") as its whole
// environment; the child gets SIGKILL when the calling thread ends (PR_SET_PDEATHSIG) and
// starts with no signal blocked. Only async-signal-safe calls run between fork and exec; a
// failed exec exits 127. Returns the pid, or -1 with errno set.
pid_t spawn(const std::vector<std::string>& args, const std::vector<int>& child_fds,
            const std::vector<std::string>& env);

// "SIGSEGV", "exit status 3": a waitpid() status for messages. With a host's limits (0:
// none), the exit statuses that report one (limits.hpp) read "it exceeded its memory_limit
// (64 MiB)" and "a call used more than its cpu_limit (2000 ms of CPU)".
std::string describe_exit(int status, std::uint64_t memory_limit = 0,
                          std::chrono::milliseconds cpu_limit = {});

}  // namespace hookd::plugin
