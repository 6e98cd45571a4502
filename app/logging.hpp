// The process's logger: stderr (a service manager's journal keeps it), text until serve
// applies its config's `log` section.
#pragma once

#include "hookd/config/config.hpp"

namespace hookd::app {

// The default logger, in the format HOOKD_LOG_FORMAT names or text, at HOOKD_LOG_LEVEL or
// info. Called first in main.
void setup_logging();

// serve, before it starts any thread: the format and level of `log` (HOOKD_LOG_FORMAT and
// HOOKD_LOG_LEVEL win); exports the format as HOOKD_LOG_FORMAT for its plugin hosts.
void apply_log_config(const config::LogConfig& log);

// On reload: the level only (a new format needs a restart).
void apply_log_level(const config::LogConfig& log);

}  // namespace hookd::app
