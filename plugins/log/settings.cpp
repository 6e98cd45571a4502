// Reading the log plugin's config; see settings.hpp.
#include "settings.hpp"

#include "plugin_config.hpp"

namespace hookd::plugins::log {

Settings read_settings(std::string_view yaml) {
  const PluginConfig config("log", yaml, {"path", "fsync"});
  return Settings{config.string("path"), config.boolean("fsync", false)};
}

}  // namespace hookd::plugins::log
