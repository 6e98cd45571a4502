// The hookd subcommands; each lives in its own file and returns the process exit code
// (0 ok, 1 user error such as a bad config, 2 runtime failure).
#pragma once

#include <CLI/CLI.hpp>

namespace hookd::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUserError = 1;
inline constexpr int kExitRuntimeError = 2;

// Each adds its subcommand to `app`; the returned callback runs it after parsing.
struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

Command add_serve(CLI::App& app);
Command add_check(CLI::App& app);
Command add_sign(CLI::App& app);

}  // namespace hookd::app
