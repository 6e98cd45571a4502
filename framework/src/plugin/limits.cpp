// Resource limits inside the plugin host: RLIMIT_AS with a clear exit when it is reached,
// and a per-call CPU-time timer. The signal handlers only make async-signal-safe calls.
#include "limits.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <system_error>

namespace hookd::plugin {
namespace {

// AddressSanitizer and ThreadSanitizer reserve terabytes of address space (shadow memory)
// at start: any RLIMIT_AS would make the host fail at once.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Enough for the handlers below (which use a few hundred bytes) and then some; not
// SIGSTKSZ, which glibc no longer makes a constant.
constexpr std::size_t kSignalStackSize = 64 * 1024;

// Read by the signal handler: set once before the handlers are installed.
std::uint64_t g_memory_limit = 0;
std::uint64_t g_memory_margin = 0;
std::uint64_t g_page_size = 0;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The thread's alternate signal stack becomes `stack` (kSignalStackSize bytes).
void use_signal_stack(char* stack) {
  stack_t ss{};
  ss.ss_sp = stack;
  ss.ss_size = kSignalStackSize;
  if (::sigaltstack(&ss, nullptr) != 0) throw_errno("sigaltstack");
}

// Whether the address space is close enough to the limit that a failed allocation is the
// likely cause of the signal. Async-signal-safe: open/read/close and digits by hand.
// /proc/self/statm starts with the VM size in pages.
bool near_memory_limit() noexcept {
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::uint64_t pages = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
    pages = pages * 10 + static_cast<std::uint64_t>(buf[i] - '0');
  }
  return pages > 0 && pages * g_page_size + g_memory_margin >= g_memory_limit;
}

void on_fatal_signal(int sig) {
  if (near_memory_limit()) ::_exit(kExitMemoryLimit);
  // SA_RESETHAND restored the default action, and `sig` is blocked until this handler
  // returns: it then kills the process, reported as itself (also when it was raised, not
  // caused by a faulting instruction that would simply fault again).
  ::raise(sig);
}

void on_cpu_timer(int) {
  ::_exit(kExitCpuLimit);
}

void install_handler(int sig, void (*handler)(int), int flags) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  ::sigemptyset(&sa.sa_mask);
  if (::sigaction(sig, &sa, nullptr) != 0) throw_errno("sigaction");
}

}  // namespace

void apply_memory_limit(std::uint64_t bytes) {
  if (bytes == 0) return;
  if constexpr (kSanitized) {
    spdlog::warn(
        "plugin host: memory_limit ({} bytes) not applied: this build has a sanitizer, which "
        "reserves terabytes of address space",
        bytes);
    return;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0) throw_errno("getrlimit(RLIMIT_AS)");
  // Never above the hard limit (only root may raise it); lowering the hard limit too keeps
  // the plugin from raising its own.
  const rlim_t effective = std::min<rlim_t>(limit.rlim_max, bytes);
  g_memory_limit = effective;
  // With one arena (below), malloc(n) fails only when the address space is within about n
  // of the limit: the margin catches failed allocations up to its size, and is small next
  // to the limit so that a host well below it does not have its crashes blamed on it.
  g_memory_margin = std::max<std::uint64_t>(16ULL << 20, effective / 16);
  g_page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  // For the main thread, which lives as long as the process: never freed.
  use_signal_stack(new char[kSignalStackSize]);
  for (const int sig : {SIGSEGV, SIGBUS, SIGABRT}) {
    install_handler(sig, on_fatal_signal, SA_ONSTACK | SA_RESETHAND);
  }
  // A failed operator new at this limit is the limit: exit rather than throw bad_alloc into
  // code that may not survive it (or, worse, report it as the plugin's own failure).
  std::set_new_handler([] { ::_exit(kExitMemoryLimit); });
  // Every malloc arena but the main one reserves 64 MiB of address space up front, which
  // RLIMIT_AS counts whole: a few threads would use up a modest limit with idle arenas,
  // and leave the host near it for good (every crash then looking like the limit). One
  // arena keeps the address space close to what is used; each thread's tcache still
  // serves most small allocations without the arena's lock. Before any thread starts.
  if (::mallopt(M_ARENA_MAX, 1) != 1) spdlog::warn("plugin host: mallopt(M_ARENA_MAX) failed");
  limit.rlim_cur = effective;
  limit.rlim_max = effective;
  if (::setrlimit(RLIMIT_AS, &limit) != 0) throw_errno("setrlimit(RLIMIT_AS)");
}

void apply_cpu_limit(std::chrono::milliseconds per_call) {
  if (per_call.count() <= 0) return;
  install_handler(SIGXCPU, on_cpu_timer, SA_ONSTACK);
}

CallLimits::CallLimits(std::uint64_t memory_limit, std::chrono::milliseconds cpu_limit)
    : cpu_limit_(cpu_limit) {
  if (cpu_limit_.count() > 0) {
    // Process-directed (SIGEV_SIGNAL): any thread may run the handler, which ends the process.
    sigevent ev{};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGXCPU;
    if (::timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &timer_) != 0) throw_errno("timer_create");
  }
  if (memory_limit != 0 && !kSanitized) {
    signal_stack_ = std::make_unique<char[]>(kSignalStackSize);
    try {
      use_signal_stack(signal_stack_.get());
    } catch (...) {
      if (cpu_limit_.count() > 0) ::timer_delete(timer_);
      throw;
    }
  }
}

CallLimits::~CallLimits() {
  if (cpu_limit_.count() > 0) ::timer_delete(timer_);
  if (signal_stack_) {
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);  // before the stack is freed
  }
}

void CallLimits::begin_call() {
  if (cpu_limit_.count() <= 0) return;
  itimerspec budget{};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(cpu_limit_);
  budget.it_value.tv_sec = static_cast<time_t>(seconds.count());
  budget.it_value.tv_nsec =
      static_cast<long>(std::chrono::nanoseconds(cpu_limit_ - seconds).count());
  // Relative to this thread's CPU time now; cannot fail for a live timer and a valid value.
  ::timer_settime(timer_, 0, &budget, nullptr);
}

void CallLimits::end_call() {
  if (cpu_limit_.count() <= 0) return;
  const itimerspec disarmed{};
  ::timer_settime(timer_, 0, &disarmed, nullptr);
}

}  // namespace hookd::plugin
