// The exec plugin's `config:` block read into plain values. Reading touches nothing on the
// machine (the handler checks the program with stat() afterwards), so that the config
// fuzzer can drive it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::plugins::exec {

// Set by hookd for each event; `env` may not set them.
inline constexpr const char* kEventVars[] = {"HOOKD_EVENT_ID", "HOOKD_EVENT_TYPE", "HOOKD_ROUTE",
                                             "HOOKD_ATTEMPT"};

// All a command gets of the environment exec runs in under thread isolation (when set),
// before `env` and the event variables: hookd's own environment holds the secrets its
// config references and the service manager's NOTIFY_SOCKET and WATCHDOG_*. The same list
// as hookd gives a plugin host (kDefaultEnvironment in hookd/plugin/environment.hpp), whose
// environment (that and plugins.NAME.env) a command in a host gets whole.
inline constexpr const char* kPassedVars[] = {"PATH",        "LANG",        "TZ",
                                              "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                                              "http_proxy",  "NO_PROXY",    "no_proxy"};

struct Settings {
  std::vector<std::string> argv;  // never empty; with `shell: true` it is /bin/sh -c LINE
  std::string name;               // the program, or "shell command", for messages
  std::chrono::milliseconds timeout{30'000};
  bool shell = false;
  std::vector<std::string> env;  // `env` as NAME=value, in file order
};

// Throws ConfigError (plugin_config.hpp) naming the key.
Settings read_settings(std::string_view yaml);

}  // namespace hookd::plugins::exec
