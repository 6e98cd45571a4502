// Per-host resource limits (HostOptions::memory_limit, cpu_limit), enforced inside the
// `hookd plugin-host` process, and the exit codes by which that process reports exceeding
// one: the engine (describe_exit) and the host (here) share them. Private to plugin/.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace hookd::plugin {

// Exit statuses of a host that exceeded a limit. Chosen outside what the host itself
// returns (0-2) and the shell's conventions (126-128+); a plugin that calls exit() with
// one of them is only mistaken for a limit when that limit is set.
inline constexpr int kExitMemoryLimit = 86;
inline constexpr int kExitCpuLimit = 87;

// In the host, before the plugin's library is loaded (the library's own mappings count):
// sets RLIMIT_AS to `bytes` and makes running out of it exit kExitMemoryLimit: a failed
// operator new (new handler), and a SIGSEGV, SIGBUS or SIGABRT while the address space is
// within max(16 MiB, 1/16 of the limit) of it (a C plugin writing through the NULL that
// malloc returned, an abort in a library that could not allocate). Other such signals kill
// the process as they would without a limit. Limits glibc malloc to one arena. Gives the
// calling thread an alternate signal stack (see CallLimits). Call it on the main thread
// before any other starts. With 0, does nothing. Under AddressSanitizer or
// ThreadSanitizer, which reserve terabytes of address space, only logs a warning.
// Throws std::system_error when the limit cannot be set.
void apply_memory_limit(std::uint64_t bytes);

// In the host, once, before the first CallLimits: makes the CPU-time timer's signal
// (SIGXCPU) exit kExitCpuLimit. With 0, does nothing.
void apply_cpu_limit(std::chrono::milliseconds per_call);

// What one thread that runs handle() needs, made on that thread:
// - with a memory limit, an alternate signal stack, so that the handler above still runs
//   when the thread's own stack is what could not grow;
// - with a CPU limit, a timer on this thread's CPU clock, armed by begin_call() for one
//   call's budget and disarmed by end_call(). It counts only this thread's CPU time (a
//   host runs several calls at once, and lives far longer than one call).
// Without limits it makes no system call at all. Throws std::system_error when the
// stack or the timer cannot be set up.
class CallLimits {
 public:
  CallLimits(std::uint64_t memory_limit, std::chrono::milliseconds cpu_limit);
  ~CallLimits();
  CallLimits(const CallLimits&) = delete;
  CallLimits& operator=(const CallLimits&) = delete;

  void begin_call();
  void end_call();

 private:
  std::unique_ptr<char[]> signal_stack_;
  std::chrono::milliseconds cpu_limit_;
  timer_t timer_{};
};

}  // namespace hookd::plugin
