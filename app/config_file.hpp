// Loading the config for a command: errors to stderr as FILE:LINE:COL lines.
#pragma once

#include <optional>
#include <string>

#include "hookd/config/config.hpp"

namespace hookd::app {

inline const char* const kDefaultConfig = "config/hookd.yaml";

// Loads and validates `path`; prints every error and returns nullopt when there are any.
// Logs the loader's notes (defaults used for unset environment variables).
std::optional<config::Config> load_config(const std::string& path);

}  // namespace hookd::app
