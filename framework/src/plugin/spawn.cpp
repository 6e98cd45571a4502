// Starting a plugin host child (fork + exec, descriptors closed) and naming how it ended.
#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace hookd::plugin {

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
  }
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

pid_t spawn(const std::vector<std::string>& args, int child_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                         ? 65536
                         : static_cast<int>(files.rlim_cur);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  sigset_t all;
  ::sigemptyset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, nullptr);
  if (child_fd == kChildFd) {
    ::fcntl(kChildFd, F_SETFD, 0);
  } else if (::dup2(child_fd, kChildFd) < 0) {
    ::_exit(127);
  }
  if (::close_range(kChildFd + 1, ~0U, 0) != 0) {
    for (int fd = kChildFd + 1; fd < max_fd; ++fd) ::close(fd);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace hookd::plugin
