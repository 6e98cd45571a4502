// `hookd serve [-c FILE]`: runs the server until SIGTERM/SIGINT; SIGHUP reloads routes,
// secrets, handlers, plugin config, the oauth section and the TLS certificate. Under systemd
// it reports its state (notify), pings the watchdog and serves on passed sockets.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/loader.hpp"
#include "hookd/config/restart.hpp"
#include "hookd/ingest/routes.hpp"
#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/server.hpp"
#include "hookd/outbox/files.hpp"
#include "hookd/outbox/lock.hpp"
#include "hookd/outbox/retention.hpp"
#include "hookd/outbox/writer.hpp"
#include "hookd/service/listen_fds.hpp"
#include "hookd/service/notify.hpp"
#include "hookd/service/watchdog.hpp"
#include "hookd/tls/acme/manager.hpp"
#include "hookd/tls/files.hpp"
#include "hookd/tls/server_certificates.hpp"
#include "hookd/worker/engine.hpp"
#include "hookd/worker/handlers.hpp"
#include "logging.hpp"

namespace hookd::app {
namespace {

// Source addresses (per route), and credentials, whose auth failures are remembered: ~100
// bytes each.
constexpr std::size_t kThrottledSources = 100'000;

// The token endpoint's throttles: strict per source and per (client id, source) as the
// OAuthServer has them, the client-wide ceiling and the IPv6 prefix from server.limits.
auth::OAuthServer::Throttling oauth_throttling(const config::LimitsConfig& limits,
                                               metrics::Registry& metrics) {
  auth::OAuthServer::Throttling t;
  t.client = {limits.auth_throttle.credential_burst, limits.auth_throttle.credential_refill,
              kThrottledSources};
  t.ipv6_prefix = limits.ipv6_prefix;
  auto& counter = metrics.counter(
      "hookd_auth_credential_throttled_total",
      "Requests refused with 429 because their credential (a Basic user name, an OAuth "
      "client id) failed too often over all sources: many sources failing at once.",
      {{"route", "oauth-token"}});
  t.on_client_throttled = [&counter] { counter.inc(); };
  return t;
}

void warn_open_routes(const config::Config& cfg) {
  for (const auto& route : cfg.routes) {
    if (route.auth.open) {
      spdlog::warn("route '{}' ({}) has `auth: none`: anyone who can reach it can post events",
                   route.name, route.path);
    }
  }
}

worker::EngineOptions engine_options(const config::Config& cfg) {
  worker::EngineOptions options;
  options.threads = cfg.workers.threads;
  options.handler_timeout = cfg.workers.handler_timeout;
  options.store_path = cfg.storage.path;
  return options;
}

// The one-line STATUS= shown by `systemctl status`.
std::string serving_status(std::size_t routes, const std::vector<std::string>& addresses) {
  std::string list;
  for (const auto& a : addresses) list += (list.empty() ? "" : ", ") + a;
  return fmt::format("serving {} route{} on {}", routes, routes == 1 ? "" : "s", list);
}

// What serve keeps across reloads to load plugins: an unchanged plugin keeps its library
// or host, a changed one gets a new one.
struct PluginCaches {
  worker::LibraryCache libraries;
  worker::HostCache hosts;
};

// Plugins of `cfg`, or std::nullopt after logging each failure.
std::optional<worker::Instances> load_plugins(const config::Config& cfg, PluginCaches& caches,
                                              metrics::Registry& metrics) {
  std::vector<std::string> errors;
  caches.hosts.discard();  // hosts of an earlier, refused reload
  worker::LoadOptions options;
  options.libraries = &caches.libraries;
  options.hosts = &caches.hosts;
  options.metrics = &metrics;
  auto instances = worker::load_plugins(cfg, errors, options);
  for (const auto& e : errors) spdlog::error("{}", e);
  if (!errors.empty()) return std::nullopt;
  return instances;
}

// Reloads on SIGHUP, on a thread of its own: loading plugins and building auth chains
// must not hold up an I/O thread. A config that fails anywhere changes nothing. Applied:
// routes, plugins and handlers, and the oauth section (clients, secrets, keys, ttl, issuer,
// audience, paths, or the whole section added or removed; the throttle keeps counting).
// Every other section that changed is named in a warning: it needs a restart.
class Reloader {
 public:
  // `oauth` is the server's OAuthServer (empty when it has none); the reloader may create
  // it, and is the only one touching it while it runs.
  Reloader(std::string path, const config::Config& running, net::Server& server,
           tls::ServerCertificates& certificates, tls::acme::Manager* acme,
           worker::Engine& engine, outbox::Writer& writer, metrics::Registry& metrics,
           std::optional<auth::OAuthServer>& oauth, auth::RouteThrottles& throttles,
           PluginCaches& plugins, const service::Notifier& notifier)
      : path_(std::move(path)),
        running_(running),
        server_(server),
        certificates_(certificates),
        acme_(acme),
        engine_(engine),
        writer_(writer),
        metrics_(metrics),
        oauth_(oauth),
        throttles_(throttles),
        plugins_(plugins),
        notifier_(notifier),
        routes_(running.routes.size()),
        thread_([this] {
          log::set_thread_name("reload");
          run();
        }) {}
  ~Reloader() { stop(); }

  // Waits for a reload in progress, then ends the thread. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || requested_; });
      if (stopping_) return;
      requested_ = false;
      lock.unlock();
      notifier_.send("RELOADING=1\n" + service::monotonic_usec());
      const bool applied = reload();
      // READY=1 after a refused reload too: the old config goes on serving. Through the
      // writer like the first one, so it never reports a store that is not open.
      writer_.when_open([&notifier = notifier_,
                         status = serving_status(routes_, server_.webhook_addresses()) +
                                  (applied ? "" : " (the last reload was refused)")] {
        notifier.send("READY=1\nSTATUS=" + status);
      });
      lock.lock();
    }
  }

  // True when the new config was applied.
  bool reload() {
    auto result = config::load_file(path_, config::process_environment());
    if (!result.ok()) {
      for (const auto& e : result.errors) spdlog::error("reload refused: {}", e.str());
      return false;
    }
    config::Config& next = *result.config;
    std::string oauth_changes;
    // Certificate files are re-read at every reload (certbot's deploy hook sends SIGHUP);
    // a pair that does not load refuses the reload, and the old pair keeps serving.
    std::shared_ptr<const tls::CertifiedKey> files_cert;
    if (!acme_ && !next.server.tls.acme) {
      try {
        files_cert = tls::load_tls_files(next.server.tls);
      } catch (const std::exception& e) {
        spdlog::error("reload refused: {}; the old certificate and config stay", e.what());
        return false;
      }
    }
    try {
      auto instances = load_plugins(next, plugins_, metrics_);
      if (!instances) {
        spdlog::error("reload refused: a plugin failed (above); the old config stays");
        return false;
      }
      // Everything that can fail comes first; then the new oauth settings, router and
      // handlers are switched to together.
      std::shared_ptr<auth::OAuthServer::Settings> oauth_update;
      std::optional<auth::OAuthServer> created;
      const auth::OAuthServer* oauth = nullptr;
      if (next.oauth && oauth_) {
        oauth_update = oauth_->prepare(*next.oauth);
        oauth = &*oauth_;
      } else if (next.oauth) {
        created.emplace(*next.oauth, auth::OAuthServer::Clock{},
                        oauth_throttling(running_.server.limits, metrics_));
        oauth = &*created;
      }
      auto router = ingest::build_router(next, writer_, metrics_, oauth, throttles_);
      if (oauth_update) {
        std::string changes = oauth_->apply(std::move(oauth_update));
        if (!running_oauth_) {
          oauth_changes = "oauth: the token endpoint is back";
          if (!changes.empty()) oauth_changes += "; " + changes;
        } else if (!changes.empty()) {
          oauth_changes = "oauth: " + changes;
        }
      } else if (created) {
        oauth_.emplace(std::move(*created));
        oauth_changes = "oauth: the token endpoint was added";
      } else if (oauth_ && running_oauth_) {
        // The OAuthServer stays (with its throttle) in case the section comes back.
        oauth_changes = "oauth: the token endpoint was removed";
      }
      running_oauth_ = next.oauth.has_value();
      // The handlers before the routes: new routes may write ordering keys (ordered_by) for
      // a handler that the engine must already treat as ordered (not claimed at append).
      engine_.set_handlers(worker::handlers_for(next, *instances));
      server_.set_router(std::move(router));
      if (files_cert) {
        auto old = certificates_.current();
        certificates_.set_current(files_cert);
        if (!old || old->serial != files_cert->serial) {
          spdlog::info("reload: serving the TLS certificate {} (serial {}) to new connections",
                       next.server.tls.cert, files_cert->serial);
        }
      }
      if (acme_ && next.server.tls.acme) acme_->reconfigure(*next.server.tls.acme);
      plugins_.hosts.commit();
    } catch (const auth::BuildError& e) {
      spdlog::error("reload refused: {}", e.str());
      return false;
    } catch (const std::exception& e) {
      spdlog::error("reload refused: {}", e.what());
      return false;
    }
    apply_log_level(next.log);
    warn_open_routes(next);
    if (auto names = config::restart_only_changes(running_, next); !names.empty()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      spdlog::warn("reload: changes to {} take effect only after a restart", list);
    }
    if (!oauth_changes.empty()) spdlog::info("reload: {}", oauth_changes);
    spdlog::info("reloaded {}: {} routes, {} plugins", path_, next.routes.size(),
                 next.plugins.size());
    routes_ = next.routes.size();
    return true;
  }

  const std::string path_;
  const config::Config& running_;  // as started: what restart_only_changes compares with
  net::Server& server_;
  tls::ServerCertificates& certificates_;
  tls::acme::Manager* acme_;  // null: certificates come from files
  worker::Engine& engine_;
  outbox::Writer& writer_;
  metrics::Registry& metrics_;
  std::optional<auth::OAuthServer>& oauth_;
  bool running_oauth_ = oauth_.has_value();  // whether the served config has an oauth section
  auth::RouteThrottles& throttles_;
  PluginCaches& plugins_;  // a rebuilt plugin file is loaded afresh
  const service::Notifier& notifier_;
  std::size_t routes_;  // in the served config (reload thread only)
  std::mutex mutex_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// Every connection is a descriptor: raise the soft limit to the hard one (as nginx's
// worker_rlimit_nofile would), and say so when even that leaves the webhook listener fewer
// than max_connections (net::webhook_connection_cap: the server closes the rest at once).
void raise_fd_limit(const config::Config& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return;
  const std::size_t max_connections = config.server.limits.max_connections;
  const std::size_t cap = net::webhook_connection_cap(config, limit.rlim_cur);
  if (cap < max_connections) {
    spdlog::warn(
        "server.limits.max_connections is {} but the process may open only {} files "
        "(ulimit -n, LimitNOFILE=): the webhook listener takes at most {} connections at once "
        "and closes the rest (the others are kept for the admin and http-01 listeners, the "
        "store and the plugins)",
        max_connections, limit.rlim_cur, cap);
  }
}

int serve(const std::string& path) {
  // First, before any thread exists: it edits the environment (plugin hosts must not see
  // LISTEN_*).
  std::vector<service::PassedSocket> passed;
  try {
    passed = service::take_passed_sockets();
  } catch (const std::exception& e) {
    spdlog::critical("socket activation: {}", e.what());
    return kExitRuntimeError;
  }
  const auto notifier = service::Notifier::from_environment();
  std::vector<std::string> notes;
  auto cfg = load_config(path, config::Scope::all, &notes);
  if (!cfg) return kExitUserError;
  apply_log_config(cfg->log);
  for (const auto& note : notes) spdlog::info("{}", note);
  warn_open_routes(*cfg);
  raise_fd_limit(*cfg);
  try {
    // One server per store, on files it can write: refuse to start otherwise (exit 2).
    outbox::StoreLock store_lock(cfg->storage.path);
    outbox::check_store_access(cfg->storage.path);
    metrics::Registry metrics;
    // What the listener serves: the files' pair, or (acme) the stored certificate until
    // the manager orders one. Both before the plugins, so a bad pair fails fast.
    tls::ServerCertificates certificates(&metrics);
    std::optional<tls::acme::Manager> acme;
    if (cfg->server.tls.acme) {
      acme.emplace(*cfg->server.tls.acme, tls::acme::acme_dir_for_store(cfg->storage.path),
                   certificates, &metrics);
    } else {
      certificates.set_current(tls::load_tls_files(cfg->server.tls));
    }
    PluginCaches plugins;
    auto instances = load_plugins(*cfg, plugins, metrics);
    if (!instances) return kExitUserError;
    outbox::WriterOptions options;
    options.path = cfg->storage.path;
    options.fsync_each_commit = cfg->storage.durability == config::Durability::full;
    options.max_events = cfg->storage.batch.max_events;
    options.max_wait = cfg->storage.batch.max_wait;
    options.recover_running = true;  // the store lock is ours
    std::optional<auth::OAuthServer> oauth;
    const auto& limits = cfg->server.limits;
    if (cfg->oauth) {
      oauth.emplace(*cfg->oauth, auth::OAuthServer::Clock{}, oauth_throttling(limits, metrics));
    }
    auth::RouteThrottles throttles(
        {limits.auth_throttle.burst, limits.auth_throttle.refill, kThrottledSources},
        {limits.auth_throttle.credential_burst, limits.auth_throttle.credential_refill,
         kThrottledSources},
        limits.ipv6_prefix);
    outbox::Writer writer(options, &metrics);
    worker::Engine engine(writer, engine_options(*cfg), worker::handlers_for(*cfg, *instances),
                          &metrics);
    // The handlers hold the plugins now: a reload that replaces one lets it go (an old host
    // exits once its last call returned).
    instances.reset();
    plugins.hosts.commit();
    writer.on_new_deliveries([&engine] { engine.wake(); });
    outbox::Retention retention(writer, {cfg->storage.retention.done, cfg->storage.retention.dead},
                                &metrics);
    {
      net::Server server(*cfg,
                         ingest::build_router(*cfg, writer, metrics, oauth ? &*oauth : nullptr,
                                              throttles),
                         metrics, certificates, [&writer] { return writer.unavailable_reason(); });
      server.adopt(std::move(passed));
      Reloader reloader(path, *cfg, server, certificates, acme ? &*acme : nullptr, engine, writer,
                        metrics, oauth, throttles, plugins, notifier);
      server.on_hangup([&reloader] { reloader.request(); });
      server.on_listening([&] {
        // Orders need the listeners (tls-alpn-01 and http-01 are answered there).
        if (acme) acme->start();
        // READY=1 once the store is open too: a store that cannot be opened (a full disk)
        // keeps the service "activating" instead of reporting a server that answers 503.
        writer.when_open([&notifier, status = serving_status(cfg->routes.size(),
                                                             server.webhook_addresses())] {
          notifier.send("READY=1\nSTATUS=" + status);
        });
      });
      server.on_draining([&notifier] { notifier.send("STOPPING=1\nSTATUS=draining"); });
      // Pings while the I/O loop and the writer both answer; until the loop ends (the
      // drain included: systemd may watch a stopping service too).
      std::optional<service::Watchdog> watchdog;
      const auto interval = service::watchdog_interval_from_environment();
      if (interval && notifier.enabled()) {
        std::vector<service::Probe> probes;
        probes.push_back({"I/O loop", [&server](std::function<void()> answer) {
                            server.probe(std::move(answer));
                          }});
        probes.push_back({"outbox writer", [&writer](std::function<void()> answer) {
                            writer.probe(std::move(answer));
                          }});
        watchdog.emplace(notifier, *interval, std::move(probes));
      }
      server.run();
      if (watchdog) watchdog->stop();
      reloader.stop();
      if (acme) acme->stop();
      // In-flight requests are answered. Running handlers get the same grace; what is
      // claimed but not started goes back to pending. Then the writer commits the last
      // appends and results, before the server (whose executors append callbacks post to)
      // goes away.
      writer.on_new_deliveries({});
      retention.stop();
      const std::size_t still_running = engine.stop(cfg->server.shutdown_grace);
      writer.stop();
      if (still_running > 0) {
        // Their worker threads are in plugin code that cannot be interrupted: destroying
        // the plugins' instances (destroy() beside a handle()) or unloading their libraries
        // under them would crash. The store is closed; leave without running destructors.
        // Their deliveries run again at the next start (docs/storage.md, "Recovery").
        spdlog::warn("stopped with {} handler call(s) still running (cut off)", still_running);
        spdlog::shutdown();
        std::_Exit(kExitOk);
      }
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
