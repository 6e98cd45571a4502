// Starting a plugin host child (fork + exec, descriptors closed) and naming how it ended.
#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "limits.hpp"

namespace hookd::plugin {

namespace {

// 64 MiB, 1 GiB, 1536 KiB, 1000 bytes: the largest unit that is exact.
std::string describe_size(std::uint64_t bytes) {
  constexpr std::pair<int, const char*> kUnits[] = {{30, " GiB"}, {20, " MiB"}, {10, " KiB"}};
  for (const auto& [shift, unit] : kUnits) {
    const std::uint64_t size = std::uint64_t{1} << shift;
    if (bytes % size == 0) return std::to_string(bytes / size) + unit;
  }
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string describe_exit(int status, std::uint64_t memory_limit,
                          std::chrono::milliseconds cpu_limit) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitMemoryLimit && memory_limit != 0) {
    return "it exceeded its memory_limit (" + describe_size(memory_limit) + ")";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitCpuLimit && cpu_limit.count() > 0) {
    return "a call used more than its cpu_limit (" + std::to_string(cpu_limit.count()) +
           " ms of CPU)";
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
  }
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

pid_t spawn(const std::vector<std::string>& args, const std::vector<int>& child_fds,
            const std::vector<std::string>& env) {
  // Both arrays are made here: the child of a threaded process must not allocate.
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                         ? 65536
                         : static_cast<int>(files.rlim_cur);
  const pid_t parent = ::getpid();
  if (child_fds.size() > static_cast<std::size_t>(kMaxChildFds)) {
    errno = EMFILE;
    return -1;
  }

  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  // A session of its own: a signal to hookd's process group (Ctrl-C, a terminal hangup,
  // `kill -TERM -PGID`) is not the host's; its life follows its sockets and its parent.
  ::setsid();
  sigset_t all;
  ::sigemptyset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, nullptr);
  // Each descriptor to kChildFd + i: first all of them above that range (a source may be a
  // target's number), then into place, without close-on-exec.
  const int count = static_cast<int>(child_fds.size());
  int moved[kMaxChildFds];
  for (int i = 0; i < count; ++i) {
    moved[i] = ::fcntl(child_fds[static_cast<std::size_t>(i)], F_DUPFD_CLOEXEC, kChildFd + count);
    if (moved[i] < 0) ::_exit(127);
  }
  for (int i = 0; i < count; ++i) {
    if (::dup2(moved[i], kChildFd + i) < 0) ::_exit(127);
  }
  if (::close_range(static_cast<unsigned>(kChildFd + count), ~0U, 0) != 0) {
    for (int fd = kChildFd + count; fd < max_fd; ++fd) ::close(fd);
  }
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

}  // namespace hookd::plugin
