// The log plugin's `config:` block (`{path, fsync: false}`) read into plain values, apart
// from opening the file, so that the config fuzzer can drive it.
#pragma once

#include <string>
#include <string_view>

namespace hookd::plugins::log {

struct Settings {
  std::string path;
  bool fsync = false;  // fdatasync after each line
};

// Throws ConfigError (plugin_config.hpp) naming the key.
Settings read_settings(std::string_view yaml);

}  // namespace hookd::plugins::log
