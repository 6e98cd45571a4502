// Runs the real `hookd serve` binary for an integration test: config and data in a temp
// directory (the process's cwd), listeners on 127.0.0.1 port 0, ports read from its log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "temp_dir.hpp"

namespace hookd::test {

// The plugin isolation the suites run under: HOOKD_TEST_ISOLATION=process or thread (ctest
// runs the plugin-calling suites once per mode); unset: none forced (the config's own, by
// default process).
const char* test_isolation();
// `yaml` with workers.isolation set to test_isolation() (added to a block-style `workers:`
// section, or a section appended), or unchanged when that is unset.
std::string with_test_isolation(std::string yaml);

// How a ServerProcess starts, beyond its config.
struct ServerOptions {
  bool wait_ready = true;      // also /readyz 200, not only both listeners logged
  bool wait_listening = true;  // false: return right after the fork (ports stay 0)
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  // Passed as descriptors 3, 4, … with LISTEN_FDS, LISTEN_PID (the child's pid) and, when
  // not empty, LISTEN_FDNAMES: socket activation as systemd does it.
  std::vector<int> listen_fds;
  std::string listen_fdnames;
  // RLIMIT_NOFILE, soft and hard, of the server (`ulimit -n`); 0: inherited.
  unsigned max_files = 0;
};

class ServerProcess {
 public:
  ServerProcess(const TempDir& dir, const std::string& config_yaml, const ServerOptions& options);
  // Writes `config_yaml` (with_test_isolation) to DIR/hookd.yaml and starts the server in DIR;
  // waits until it logs both listeners and /readyz answers 200 (the store is open; with
  // `wait_ready` false, only the listeners), or throws with the log on failure or after 20 s.
  ServerProcess(const TempDir& dir, const std::string& config_yaml, bool wait_ready = true)
      : ServerProcess(dir, config_yaml, ServerOptions{.wait_ready = wait_ready}) {}
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }

  void signal(int signo);
  // Waits for exit; returns the exit code, 128+signal when killed, -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill_hard();  // SIGKILL and reap
  std::string log() const;
  bool ready() const;  // GET /readyz answers 200

 private:
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
};

// Runs the hookd binary with `args` in `cwd`, returns {exit code, stdout+stderr}.
struct CommandResult {
  int code;
  std::string output;
};
CommandResult run_hookd(const std::string& cwd, const std::string& args);
// Runs a shell command line in `cwd`, the same way.
CommandResult run_command(const std::string& cwd, const std::string& command);

// The standard test config: one route `jofi` (json:/id, json:/type) and one without
// event.id, listeners on port 0, data in the cwd. `extra_storage` is appended under
// `storage:` (indented by 2 spaces already).
std::string basic_config(const std::string& extra_storage = "",
                         const std::string& extra_limits = "");

}  // namespace hookd::test
