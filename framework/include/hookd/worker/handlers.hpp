// From config to running handlers: loads each configured plugin library, creates its
// instance with its `config:` block, and lists the (route, plugin) handlers for the engine.
// Used by `serve` (at start and on SIGHUP) and by `check`, so both refuse the same things.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/engine.hpp"

namespace hookd::worker {

using Instances = std::map<std::string, std::shared_ptr<const plugin::Instance>>;

// Loads every entry of config.plugins. Each failure (the library cannot be loaded or is
// refused, or the plugin refuses its config) appends "FILE:LINE:COL: plugins.NAME: why" to
// `errors`, and that plugin is left out of the result.
Instances load_plugins(const config::Config& config, std::vector<std::string>& errors);

// The handlers of every route, with the policies resolved: concurrency 0 becomes
// workers.threads. Handlers whose plugin is not in `instances` are left out.
std::vector<Handler> handlers_for(const config::Config& config, const Instances& instances);

}  // namespace hookd::worker
