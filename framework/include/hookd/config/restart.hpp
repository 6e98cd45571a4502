// Which parts of a new config a reload (SIGHUP) cannot apply to a running server.
#pragma once

#include <string>
#include <vector>

#include "hookd/config/config.hpp"

namespace hookd::config {

// The sections of `next` that differ from `running` and take effect only after a restart,
// named as in the file ("server.listen", "server.tls", "server.limits", "server.io_threads",
// "server.shutdown_grace", "server" for any other server key, "admin", "storage",
// "workers"), in file order; empty when there is none. What a reload applies is
// not named: routes, plugins, oauth, and workers.retry (resolved into each handler).
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

}  // namespace hookd::config
