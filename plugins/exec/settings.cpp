// Reading the exec plugin's config; see settings.hpp.
#include "settings.hpp"

#include <algorithm>
#include <iterator>
#include <set>

#include "plugin_config.hpp"

namespace hookd::plugins::exec {
namespace {

bool valid_env_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

Settings read_settings(std::string_view yaml) {
  const PluginConfig config("exec", yaml, {"command", "timeout", "shell", "env"});
  Settings s;
  s.shell = config.boolean("shell", false);
  const YAML::Node command = config.node("command");
  if (s.shell) {
    std::string line;
    if (command.IsScalar()) {
      line = config.string("command");
    } else if (command.IsSequence() && command.size() == 1) {
      line = config.strings("command").front();
    } else {
      config.fail("command", "with shell: true, expected one string (a shell command line)");
    }
    if (line.empty()) config.fail("command", "must not be empty");
    s.argv = {"/bin/sh", "-c", line};
    s.name = "shell command";
  } else {
    if (command.IsScalar()) {
      config.fail("command", "expected a list (argv); set shell: true for a command line");
    }
    s.argv = config.strings("command");
    if (s.argv.front().empty()) config.fail("command", "the program must not be empty");
    s.name = s.argv.front();
  }
  s.timeout = config.duration("timeout", std::chrono::seconds(30));
  if (s.timeout <= std::chrono::milliseconds(0)) config.fail("timeout", "must be positive");

  std::set<std::string> taken(std::begin(kEventVars), std::end(kEventVars));
  const YAML::Node env = config.node("env");
  if (env.IsDefined() && !env.IsNull()) {
    if (!env.IsMap()) config.fail("env", "expected a map of NAME: value");
    for (const auto& kv : env) {
      const std::string name = kv.first.as<std::string>();
      if (!valid_env_name(name)) config.fail("env", "bad variable name \"" + name + "\"");
      if (taken.count(name) != 0) config.fail("env", name + " is set by hookd for each event");
      if (!kv.second.IsScalar()) config.fail("env", name + ": expected a string");
      s.env.push_back(name + "=" + kv.second.as<std::string>());
      taken.insert(name);
    }
  }
  return s;
}

}  // namespace hookd::plugins::exec
