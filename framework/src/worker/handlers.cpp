// Plugins and handlers from the config; see handlers.hpp.
#include "hookd/worker/handlers.hpp"

namespace hookd::worker {

Instances load_plugins(const config::Config& config, std::vector<std::string>& errors) {
  Instances out;
  for (const config::PluginConfig& p : config.plugins) {
    try {
      auto library = plugin::Library::load(p.library);
      out[p.name] = std::make_shared<const plugin::Instance>(library->create(p.config_yaml));
    } catch (const std::exception& e) {
      errors.push_back(p.where.file + ":" + std::to_string(p.where.line) + ":" +
                       std::to_string(p.where.column) + ": plugins." + p.name + ": " + e.what());
    }
  }
  return out;
}

std::vector<Handler> handlers_for(const config::Config& config, const Instances& instances) {
  std::vector<Handler> out;
  for (const config::RouteConfig& route : config.routes) {
    for (const config::HandlerConfig& h : route.handlers) {
      auto it = instances.find(h.plugin);
      if (it == instances.end()) continue;
      Handler handler;
      handler.route = route.name;
      handler.plugin = h.plugin;
      handler.instance = it->second;
      handler.concurrency = h.concurrency > 0 ? h.concurrency : config.workers.threads;
      handler.retry = h.retry;
      handler.ordered = h.ordered_by.set();
      out.push_back(std::move(handler));
    }
  }
  return out;
}

}  // namespace hookd::worker
