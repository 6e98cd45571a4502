// Reading a bundled plugin's YAML `config:` block: strict keys, typed values, and errors
// that name the plugin and key (they reach the operator through `hookd check`).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::plugins {

// Thrown for a bad config; what() is "<plugin>: <key>: <reason>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PluginConfig {
 public:
  // Parses `yaml` (empty text = empty map). Throws ConfigError when it is not a YAML map
  // or has a key outside `allowed`.
  PluginConfig(std::string_view plugin, std::string_view yaml,
               std::initializer_list<std::string_view> allowed);
  // A nested map (e.g. `smtp:`) read with the same rules; `key` names it in errors.
  PluginConfig(std::string_view plugin, std::string key, YAML::Node node,
               std::initializer_list<std::string_view> allowed);

  bool has(const std::string& key) const;
  std::string string(const std::string& key) const;  // required, a non-empty scalar
  std::string string(const std::string& key, std::string fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  long long integer(const std::string& key, long long fallback, long long min,
                    long long max) const;
  // "500ms", "30s", "5m", "1h" (the hookd config's spelling).
  std::chrono::milliseconds duration(const std::string& key,
                                     std::chrono::milliseconds fallback) const;
  std::vector<std::string> strings(const std::string& key) const;  // required, non-empty list
  YAML::Node node(const std::string& key) const;  // undefined node when absent

  [[noreturn]] void fail(const std::string& key, const std::string& why) const;

 private:
  std::string plugin_;
  std::string prefix_;  // "smtp." for nested maps
  YAML::Node root_;
};

}  // namespace hookd::plugins
