// The environment a plugin host process starts with. hookd's own environment holds the
// secrets its config references (${env:NAME}) and the service manager's NOTIFY_SOCKET and
// WATCHDOG_*, none of which a plugin should see or act on; so a host gets only a few
// harmless variables that programs commonly need, plus what the operator lists for that
// plugin (`plugins.NAME.env`).
//
// Thread-safety: host_environment() only reads `from`. Pass ::environ only while no thread
// changes the environment (hookd does not after startup).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hookd::plugin {

// Passed from hookd's environment to every host, when set. The bundled exec plugin keeps
// the same list (plugins/exec/settings.hpp): it cannot link the framework.
inline constexpr std::string_view kDefaultEnvironment[] = {
    "PATH",       "LANG",       "TZ",       "HTTPS_PROXY", "https_proxy",
    "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
};

// [A-Za-z_][A-Za-z0-9_]*: what `plugins.NAME.env` may list. Inline, so that the config
// reader uses it without linking the plugin area (the fuzz build has none).
inline bool is_variable_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (const char c : name) {
    if (c != '_' && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  return true;
}

// "NAME=value" for each variable of `from` (NULL-terminated, as ::environ) whose name is in
// kDefaultEnvironment or `allowed`, in the order of `from`. A name set more than once in
// `from` appears once, with the first value (the one getenv() returns).
std::vector<std::string> host_environment(const std::vector<std::string>& allowed,
                                          const char* const* from);

}  // namespace hookd::plugin
