// Loading and validating a YAML config file into config::Config.
// Thread-safety: the functions are pure apart from reading files and the environment
// through the injected Environment; call them from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/config/config.hpp"

namespace hookd::config {

struct ConfigError {
  Location where;
  std::string message;  // never contains a secret value
  // "FILE:LINE:COL: message"
  std::string str() const;
};

// Looks up an environment variable; std::nullopt when it is not set.
using Environment = std::function<std::optional<std::string>(const std::string&)>;
Environment process_environment();

// Reads the file of a `${file:PATH}` reference: its content, or std::nullopt with `error`
// set to the reason. Empty (the default everywhere): read_text_file, the real file system.
// A seam for the config fuzzer, which must not read the machine's files.
using FileReader = std::function<std::optional<std::string>(const std::string& path,
                                                             std::string& error)>;

struct LoadResult {
  std::optional<Config> config;     // set when errors is empty
  std::vector<ConfigError> errors;  // every error found, in file order
  // Human-readable notes for the start-up log, e.g. which ${env:NAME:-default} fell back.
  std::vector<std::string> notes;
  bool ok() const { return errors.empty(); }
};

// How much of the file to read: all of it (serve, check, sign), or only what the commands
// on the store need (events, stats, replay): the `storage` section and the route names.
// Nothing else is read, so the secrets of auth items, oauth and plugins need not be
// resolvable (their environment variables set) to look at the store.
enum class Scope { all, store };

LoadResult load_file(const std::string& path, const Environment& env = process_environment(),
                     Scope scope = Scope::all);
// `file` names the source in error messages; relative ${file:PATH} resolve against the cwd.
LoadResult load_string(std::string_view yaml, const std::string& file,
                       const Environment& env = process_environment(), Scope scope = Scope::all,
                       const FileReader& files = {});

// The text a plugin's create() receives for a file holding only its `config:` block (a map,
// or nothing for the empty text): substituted and re-emitted exactly as load_file does for a
// `plugins.NAME.config`, so `hookd plugin-run` hands a plugin what `serve` would.
struct PluginConfigText {
  std::optional<std::string> yaml;  // set when errors is empty
  std::vector<ConfigError> errors;
};
PluginConfigText load_plugin_config_file(const std::string& path,
                                         const Environment& env = process_environment());

}  // namespace hookd::config
