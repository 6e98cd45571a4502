// `hookd serve [-c FILE]`: runs the server until SIGTERM/SIGINT.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>

#include "commands.hpp"
#include "config_file.hpp"
#include <optional>

#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/ingest/routes.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/server.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::app {
namespace {

int serve(const std::string& path) {
  auto cfg = load_config(path);
  if (!cfg) return kExitUserError;
  for (const auto& route : cfg->routes) {
    if (route.auth.open) {
      spdlog::warn("route '{}' ({}) has `auth: none`: anyone who can reach it can post events",
                   route.name, route.path);
    }
  }
  try {
    metrics::Registry metrics;
    outbox::WriterOptions options;
    options.path = cfg->storage.path;
    options.fsync_each_commit = cfg->storage.durability == config::Durability::full;
    options.max_events = cfg->storage.batch.max_events;
    options.max_wait = cfg->storage.batch.max_wait;
    std::optional<auth::OAuthServer> oauth;
    if (cfg->oauth) oauth.emplace(*cfg->oauth);
    outbox::Writer writer(options, &metrics);
    {
      net::Server server(*cfg,
                         ingest::build_router(*cfg, writer, metrics, oauth ? &*oauth : nullptr),
                         metrics, [&writer] { return writer.ready(); });
      server.run();
      // Commit what the last requests queued before the server (and the executors the
      // writer's callbacks post to) goes away.
      writer.stop();
    }
    spdlog::info("stopped");
    return kExitOk;
  } catch (const auth::BuildError& e) {
    fmt::print(stderr, "{}\n", e.str());
    return kExitUserError;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return kExitRuntimeError;
  }
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "Run the server");
  auto path = std::make_shared<std::string>(kDefaultConfig);
  sub->add_option("-c,--config", *path, "Config file")->capture_default_str();
  return {sub, [path] { return serve(*path); }};
}

}  // namespace hookd::app
