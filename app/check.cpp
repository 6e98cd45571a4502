// `hookd check [-c FILE]`: validates a config without serving it.
#include <fmt/format.h>

#include "commands.hpp"
#include "config_file.hpp"

namespace hookd::app {

Command add_check(CLI::App& app) {
  auto* sub = app.add_subcommand("check", "Validate a config file (exit 0, or 1 with "
                                          "FILE:LINE:COL: message lines)");
  auto path = std::make_shared<std::string>(kDefaultConfig);
  sub->add_option("-c,--config", *path, "Config file")->capture_default_str();
  return {sub, [path] {
            auto config = load_config(*path);
            if (!config) return kExitUserError;
            fmt::print("{}: ok ({} routes)\n", *path, config->routes.size());
            return kExitOk;
          }};
}

}  // namespace hookd::app
