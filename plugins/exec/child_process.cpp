// Running one child process for the `exec` plugin; see child_process.hpp.
#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace hookd::plugins::exec {
namespace {

using Clock = std::chrono::steady_clock;

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe whose both ends are close-on-exec, so that children spawned concurrently by other
// threads never inherit them (which would keep our reads from ever seeing EOF).
bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return true;
}

void set_nonblocking(const Fd& fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
}

// Blocks SIGPIPE in the calling thread for its lifetime, so that writing to a pipe whose
// reader is gone gives EPIPE instead of killing hookd. A SIGPIPE our own write raised is
// consumed before the old mask is restored. No signal handler is involved.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_);
  }
  ~SigpipeBlock() {
    if (raised_ && !was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  void note_epipe() { raised_ = true; }

 private:
  sigset_t pipe_set_;
  sigset_t old_;
  bool was_pending_ = false;
  bool raised_ = false;
};

void append_tail(std::string& tail, const char* data, std::size_t n, std::size_t keep) {
  tail.append(data, n);
  if (tail.size() > 4 * keep + 4096) tail.erase(0, tail.size() - keep);
}

// Reads what is available from `fd` into `tail`; closes `fd` at EOF or on an error.
// Returns after at most `max_reads` reads even when more is available.
void read_some(Fd& fd, std::string& tail, std::size_t keep, int max_reads) {
  char buf[16384];
  for (int i = 0; i < max_reads && fd.open(); ++i) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      append_tail(tail, buf, static_cast<std::size_t>(n), keep);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    fd.reset();  // EOF or a real error: nothing more to read
  }
}

// Waits for `pid` (blocking), retrying on EINTR. Returns false when it cannot (ECHILD:
// someone else reaped it, e.g. SIGCHLD is ignored in this process).
bool wait_for(pid_t pid, int& wstatus) {
  for (;;) {
    if (::waitpid(pid, &wstatus, 0) == pid) return true;
    if (errno != EINTR) return false;
  }
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // always close-on-exec
#else
  (void)pid;
  return -1;
#endif
}

// posix_spawn's attributes and file actions, destroyed with this object.
class SpawnSetup {
 public:
  SpawnSetup(int in, int out, int err) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawn_file_actions_adddup2(&actions_, in, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions_, out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions_, err, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Also fds some other thread opened without O_CLOEXEC: the child gets 0, 1, 2 only.
    posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
#endif
    posix_spawnattr_init(&attr_);
    posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr_, 0);  // its own group, so a timeout kills it all
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);  // not our worker thread's mask
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD,
                    SIGXFSZ, SIGTSTP, SIGTTIN, SIGTTOU}) {
      sigaddset(&defaults, sig);  // ignored signals would otherwise stay ignored
    }
    posix_spawnattr_setsigdefault(&attr_, &defaults);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  int spawn(pid_t& pid, const RunSpec& spec) const {
    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const bool has_slash = spec.argv[0].find('/') != std::string::npos;
    return has_slash ? ::posix_spawn(&pid, argv[0], &actions_, &attr_, argv.data(), envp.data())
                     : ::posix_spawnp(&pid, argv[0], &actions_, &attr_, argv.data(), envp.data());
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

RunResult failure(RunResult::Status status, int code, std::string call = {}) {
  RunResult r;
  r.status = status;
  r.code = code;
  r.call = std::move(call);
  return r;
}

}  // namespace

RunResult run_child(const RunSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return failure(RunResult::Status::spawn_failed, ENOENT);
  }
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  if (!make_pipe(in_read, in_write) || !make_pipe(out_read, out_write) ||
      !make_pipe(err_read, err_write)) {
    return failure(RunResult::Status::error, errno, "pipe2");
  }
  SigpipeBlock sigpipe_block;  // before the first write; the child's mask is reset anyway

  pid_t pid = -1;
  {
    const SpawnSetup setup(in_read.get(), out_write.get(), err_write.get());
    const int rc = setup.spawn(pid, spec);
    if (rc != 0) return failure(RunResult::Status::spawn_failed, rc);
  }
  in_read.reset();  // the child's ends: only the child may hold them now
  out_write.reset();
  err_write.reset();
  set_nonblocking(in_write);
  set_nonblocking(out_read);
  set_nonblocking(err_read);
  Fd pidfd(open_pidfd(pid));  // readable once the child exits; else we poll waitpid

  RunResult result;
  const auto deadline = Clock::now() + spec.timeout;
  std::size_t written = 0;
  if (spec.input.empty()) in_write.reset();
  bool exited = false, reaped = false, timed_out = false;
  int wstatus = 0, error_errno = 0;
  const char* error_call = nullptr;

  while (!exited) {
    const auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) {
      timed_out = true;
      break;
    }
    pollfd fds[4];
    nfds_t n = 0;
    const auto add = [&](const Fd& fd, short events) -> int {
      if (!fd.open()) return -1;
      fds[n] = pollfd{fd.get(), events, 0};
      return static_cast<int>(n++);
    };
    const int in_i = add(in_write, POLLOUT);
    const int out_i = add(out_read, POLLIN);
    const int err_i = add(err_read, POLLIN);
    const int pid_i = add(pidfd, POLLIN);
    // Rounded up, so that poll never returns just before the deadline with nothing to do.
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(remaining).count();
    if (!pidfd.open()) wait_ms = std::min<decltype(wait_ms)>(wait_ms, 20);
    wait_ms = std::min<decltype(wait_ms)>(wait_ms, 60'000);
    if (::poll(fds, n, static_cast<int>(wait_ms)) < 0) {
      if (errno == EINTR) continue;
      error_errno = errno;
      error_call = "poll";
      break;
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      const std::size_t chunk = std::min<std::size_t>(spec.input.size() - written, 65536);
      const ssize_t w = ::write(in_write.get(), spec.input.data() + written, chunk);
      if (w > 0) {
        written += static_cast<std::size_t>(w);
        if (written == spec.input.size()) in_write.reset();  // EOF for the child
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        if (errno == EPIPE) sigpipe_block.note_epipe();
        in_write.reset();  // it stopped reading: drop the rest of the input
      }
    }
    if (out_i >= 0 && fds[out_i].revents != 0) {
      read_some(out_read, result.stdout_tail, spec.tail_bytes, 4);
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      read_some(err_read, result.stderr_tail, spec.tail_bytes, 4);
    }
    if (pid_i >= 0 && fds[pid_i].revents != 0) exited = true;
    if (!pidfd.open()) {  // no pidfd (old kernel): look every 20 ms
      const pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
      if (done == pid) {
        exited = reaped = true;
      } else if (done < 0 && errno != EINTR) {
        error_errno = errno;  // ECHILD: reaped by someone else, nothing left to kill
        error_call = "waitpid";
        exited = true;
      }
    }
  }
  in_write.reset();

  if (!exited) {
    // Timed out, or poll failed: kill the whole group. The child is not reaped yet, so its
    // pid (the group id) cannot have been reused.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);  // in case it moved itself to another group
  }
  if (!reaped && error_call == nullptr) {
    if (wait_for(pid, wstatus)) {
      reaped = true;
    } else {
      error_errno = errno;  // ECHILD: SIGCHLD is ignored in this process?
      error_call = "waitpid";
    }
  } else if (!reaped) {
    wait_for(pid, wstatus);  // poll failed; waitpid's own failure adds nothing
  }
  // What it wrote before exiting is still in the pipes. Bounded: a grandchild may write on.
  read_some(out_read, result.stdout_tail, spec.tail_bytes, 64);
  read_some(err_read, result.stderr_tail, spec.tail_bytes, 64);
  for (std::string* tail : {&result.stdout_tail, &result.stderr_tail}) {
    if (tail->size() > spec.tail_bytes) tail->erase(0, tail->size() - spec.tail_bytes);
  }

  if (timed_out) {
    result.status = RunResult::Status::timed_out;
  } else if (error_call != nullptr) {
    result.status = RunResult::Status::error;
    result.code = error_errno;
    result.call = error_call;
  } else if (WIFEXITED(wstatus)) {
    result.status = RunResult::Status::exited;
    result.code = WEXITSTATUS(wstatus);
  } else {
    result.status = RunResult::Status::signaled;
    result.code = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
  }
  return result;
}

}  // namespace hookd::plugins::exec
