// The engine's side of process isolation: runs one plugin in a `hookd plugin-host` child
// process and calls it over Unix sockets, so a plugin that crashes, exits or hangs costs a
// restart of its host, never the receiver.
//
// Thread-safety: every member but the destructor may be called from any number of threads
// at once. The destructor must not run while a call() is in progress.
//
// Ownership: a Host owns its child process (and one thread per child, which does the
// handshake and reaps the child). The child keeps only its ends of the sockets (a control
// socket and one lane per call it may run at once) and stdin/stdout/stderr: every other
// descriptor is closed before exec, and it gets SIGKILL when the thread that started it
// goes (PR_SET_PDEATHSIG; that thread lives until the child is reaped). Of hookd's
// environment it gets only what environment.hpp allows (HostOptions::env). The destructor
// shuts the sockets down (the host then finishes and exits), gives the child
// `shutdown_grace`, then SIGKILLs and reaps it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/plugin/loader.hpp"
#include "hookd/plugin/restart_backoff.hpp"

namespace hookd::plugin {

struct HostOptions {
  std::string name;               // the plugin's name in the config, for messages
  std::filesystem::path binary;   // the hookd executable (/proc/self/exe in serve)
  std::filesystem::path library;  // the plugin library
  std::string config_yaml;        // the plugin's config block; sent over the socket
  unsigned threads = 1;           // handle() calls the host runs at once (lanes), 1-1024
  std::chrono::milliseconds start_timeout{10'000};  // load + create() → Ready
  std::chrono::milliseconds shutdown_grace{2'000};  // after the socket closes, before SIGKILL
  // Names of hookd's environment variables the host gets besides kDefaultEnvironment
  // (environment.hpp); nothing else of hookd's environment reaches it.
  std::vector<std::string> env;
  // Optional limits (0: none); exceeding one kills the host: a crash, with a message naming
  // the limit. memory_limit is the host's address space in bytes (RLIMIT_AS: mappings,
  // thread stacks and malloc arenas count, not only what is resident).
  std::uint64_t memory_limit = 0;
  // The CPU time ONE handle() call may use (a per-call budget, counted on the thread that
  // runs it): a host lives long, so a limit over its lifetime would kill healthy hosts.
  std::chrono::milliseconds cpu_limit{0};
  RestartBackoffOptions backoff;
  // Called (under the host's lock: keep it short) each time a host is started after the
  // first one, for the restarts metric.
  std::function<void()> on_restart;
};

// What a call through a host came to.
struct CallResult {
  enum class Status {
    answered,     // the plugin answered: `result` is its own
    crashed,      // the host died (or was killed) while the call was in it
    timeout,      // no answer within the call's timeout (its host was killed and is gone)
    unavailable,  // no host to take the call: create() failed, the host died starting,
                  // is still starting, or is backing off; the plugin never saw the event
    unsendable,   // the event does not fit in a Call frame (wire::kMaxFrameSize): it never
                  // will, so `result` is Outcome::fail with the reason; no host saw it
  };
  Status status = Status::answered;
  // answered: the plugin's result. Otherwise Outcome::retry and a message saying what
  // happened, e.g. "plugin host for 'x' died: SIGSEGV".
  Result result;
  // Which host ran (or was to run) the call: 1 for the first one started, then counting
  // up; 0 when none was.
  std::uint64_t host_generation = 0;
  // crashed only: the call was the only one the host was running when it died, and the
  // host was not killed by hookd: the crash is this event's doing. With several calls in
  // flight any of them may be the culprit, so none is blamed.
  bool sole = false;

  bool crashed() const noexcept { return status == Status::crashed; }
};

class Host {
 public:
  // Does not start the child: the first call() does.
  explicit Host(HostOptions options);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Sends `event` to the host and waits up to `timeout` for its answer (including, when
  // no host runs, starting one). Starts a host when none runs, unless the restart backoff
  // forbids it yet (then: unavailable at once). Never throws for what the plugin or its
  // host does. A call cannot be interrupted: one past `timeout` takes its host with it
  // (SIGKILL; its other calls end crashed, blamed on none of them; the next call starts a
  // new host at once), and returns timeout only once that process is gone, so that
  // nothing of the call runs on after it (a retry of the event cannot meet it).
  CallResult call(const Event& event, std::chrono::milliseconds timeout);

  // Starts a host when none runs (unless the restart backoff forbids it yet) and waits up
  // to `timeout` for it to be ready. For `hookd check`, and for serve to start hosts (and
  // see create()'s answer) before the first event.
  struct StartResult {
    enum class Status {
      ready,
      refused,  // the library was refused or create() returned NULL: a config error
      failed,   // the host died or hung while starting, or is backing off after deaths
    };
    Status status = Status::ready;
    // Unless ready: e.g. "plugin host for 'x' could not start: <create()'s message>" or
    // "plugin host for 'x' died while starting: SIGSEGV".
    std::string message;
  };
  StartResult ensure_started(std::chrono::milliseconds timeout);

  // Zero when a call now would be sent to a host or start one; otherwise how long the
  // restart backoff still forbids a start (a call now would be answered unavailable).
  std::chrono::milliseconds available_in() const;

  // The running host's pid, or -1 when none runs (not started, dead, being started).
  pid_t pid() const;
  // Hosts started after the first one (restarts after deaths and kills).
  std::uint64_t restarts() const;
  const std::string& name() const noexcept { return options_.name; }

 private:
  struct Lane;
  struct Generation;

  std::shared_ptr<Generation> start_locked();
  void run_generation(Generation& gen);
  void serve_generation(Generation& gen);
  void on_exit(Generation& gen);
  void kill_locked(Generation& gen, std::string reason, bool deliberate);
  // call()'s second half: writes `frame` on a lane call() took and reads the Reply. Called
  // and returns without mu_ held.
  CallResult send_on_lane(const std::shared_ptr<Generation>& gen, Lane& lane,
                          const std::string& frame, std::uint64_t id,
                          std::chrono::steady_clock::time_point deadline,
                          std::chrono::milliseconds timeout);
  void join_finished_locked();
  // The current generation, started when none runs and the backoff allows it; null when it
  // forbids (then `why` says so).
  std::shared_ptr<Generation> current_or_start_locked(std::string& why);

  const HostOptions options_;
  const std::vector<std::string> environment_;  // the hosts' whole environment, NAME=value
  mutable std::mutex mu_;
  std::condition_variable state_cv_;  // a generation became ready or dead
  std::shared_ptr<Generation> current_;
  std::vector<std::shared_ptr<Generation>> generations_;  // not yet joined
  RestartBackoff backoff_;
  std::string last_failure_;
  std::uint64_t starts_ = 0;
  std::atomic<std::uint64_t> next_call_id_{0};  // taken before the lock: calls encode unlocked
  bool stopping_ = false;
};

}  // namespace hookd::plugin
