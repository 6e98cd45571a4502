// The hookd subcommands; each lives in its own file and returns the process exit code
// (0 ok, 1 user error such as a bad config, 2 runtime failure).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

struct sqlite3;

namespace hookd::config {
struct Config;
}

namespace hookd::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUserError = 1;
inline constexpr int kExitRuntimeError = 2;
// `plugin-run`: what the plugin's one call came to (ok is kExitOk; a plugin that could not
// be loaded or started, or refused its config, is kExitUserError).
inline constexpr int kExitPluginRetry = 3;
inline constexpr int kExitPluginFail = 4;
inline constexpr int kExitPluginCrashed = 5;  // crashed, or no answer within --timeout

// Each adds its subcommand to `app`; the returned callback runs it after parsing.
struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

Command add_serve(CLI::App& app);
Command add_check(CLI::App& app);
Command add_sign(CLI::App& app);
Command add_events(CLI::App& app);  // events list, events show
Command add_stats(CLI::App& app);
Command add_replay(CLI::App& app);
Command add_backup(CLI::App& app);       // an online copy of the store
Command add_plugin_run(CLI::App& app);   // one delivery through a plugin, for its author
Command add_plugin_host(CLI::App& app);  // internal: runs one plugin for plugin::Host

// For the store commands (defined in events.cpp): loads the config at `config_path`, opens
// its storage.path (never creating or migrating it) and runs `body`; maps the errors to exit
// codes (config, unknown id, missing store: 1; SQLite or schema: 2) with a message on stderr.
int with_store(const std::string& config_path, bool writable,
               const std::function<int(const config::Config&, sqlite3*)>& body);

// Prints rows as left-aligned columns separated by two spaces; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace hookd::app
