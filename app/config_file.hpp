// Loading the config for a command: errors to stderr as FILE:LINE:COL lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/config/loader.hpp"

namespace hookd::app {

inline const char* const kDefaultConfig = "config/hookd.yaml";

// Loads and validates `path` (with Scope::store only what the store commands need);
// prints every error and returns nullopt when there are any. The loader's notes (defaults
// used for unset environment variables) go to `notes` when given, for serve and check to
// log: they concern the server's environment, which the other commands, run from an
// operator's shell, rarely have.
std::optional<config::Config> load_config(const std::string& path,
                                          config::Scope scope = config::Scope::all,
                                          std::vector<std::string>* notes = nullptr);

}  // namespace hookd::app
