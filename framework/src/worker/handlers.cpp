// Plugins and handlers from the config; see handlers.hpp.
#include "hookd/worker/handlers.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hookd/metrics/registry.hpp"

namespace hookd::worker {
namespace {

std::chrono::system_clock::time_point modified(const FileId& id) {
  return std::chrono::system_clock::time_point{std::chrono::duration_cast<
      std::chrono::system_clock::duration>(std::chrono::nanoseconds(id.mtime_ns))};
}

// What makes a host differ from another (everything but the restart callback).
bool same_host(const plugin::HostOptions& a, const plugin::HostOptions& b) {
  return a.name == b.name && a.binary == b.binary && a.library == b.library &&
         a.config_yaml == b.config_yaml && a.env == b.env && a.threads == b.threads &&
         a.start_timeout == b.start_timeout && a.shutdown_grace == b.shutdown_grace &&
         a.memory_limit == b.memory_limit && a.cpu_limit == b.cpu_limit;
}

void log_loaded(const config::PluginConfig& p, std::string_view how, const FileId& file,
                bool changed) {
  spdlog::info("plugin '{}' ({}) loaded from {}, modified {:%Y-%m-%dT%H:%M:%S}Z{}", p.name, how,
               p.library, std::chrono::time_point_cast<std::chrono::seconds>(modified(file)),
               changed ? "; the file changed since it was last loaded: the new one is in use" : "");
}

// Plugin calls the host runs at once: as many as the engine may make (its handlers'
// concurrency, at most workers.threads).
unsigned host_threads(const config::Config& config, const std::string& plugin) {
  std::uint64_t sum = 0;
  for (const auto& route : config.routes) {
    for (const auto& h : route.handlers) {
      if (h.plugin == plugin) sum += h.concurrency > 0 ? h.concurrency : config.workers.threads;
    }
  }
  return static_cast<unsigned>(std::clamp<std::uint64_t>(sum, 1, config.workers.threads));
}

}  // namespace

FileId FileId::of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw plugin::LoadError("plugin " + path + ": cannot load: " + std::strerror(errno));
  }
  return FileId{st.st_dev, st.st_ino, static_cast<unsigned long long>(st.st_size),
                static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

LibraryCache::Loaded LibraryCache::load(const std::string& path) {
  const FileId id = FileId::of(path);
  Entry& entry = entries_[path];
  auto loaded = entry.library.lock();
  if (loaded && entry.id == id) return {loaded, false, id};
  // Still loaded from an older file: dlopen of the path would return that one.
  const bool changed = loaded != nullptr;
  loaded = plugin::Library::load(path, changed);
  entry = Entry{id, loaded};
  return {loaded, changed, id};
}

HostCache::Got HostCache::get(const plugin::HostOptions& options, const FileId& file) {
  // A host loads the library afresh: a changed file needs a new host.
  std::shared_ptr<plugin::Host> host;
  bool changed = false;
  if (const auto it = entries_.find(options.name); it != entries_.end()) {
    host = it->second.host.lock();
    if (host && it->second.file == file && same_host(it->second.options, options)) {
      return {host, false};
    }
    changed = host && it->second.file != file;
  }
  host = std::make_shared<plugin::Host>(options);
  Entry& staged = staged_[options.name] = Entry{file, options, host};
  staged.options.on_restart = nullptr;  // the entry must not keep the metric's owner alive
  return {host, changed};
}

void HostCache::commit() {
  for (auto& [name, entry] : staged_) entries_[name] = std::move(entry);
  staged_.clear();
}

namespace {

// The host of plugin `p` (isolation: process), started; throws (with the message for
// `errors`) when it refuses its config, or fails to start and options say that is an error.
std::shared_ptr<plugin::Host> start_host(const config::Config& config,
                                         const config::PluginConfig& p,
                                         const LoadOptions& options) {
  plugin::HostOptions host;
  host.name = p.name;
  host.binary = options.binary;
  host.library = p.library;
  host.config_yaml = p.config_yaml;
  host.env = p.env;
  host.threads = host_threads(config, p.name);
  host.start_timeout = options.start_timeout;
  host.shutdown_grace = config.server.shutdown_grace;
  host.memory_limit = p.memory_limit;
  host.cpu_limit = p.cpu_limit;
  if (options.metrics != nullptr) {
    metrics::Counter* restarts = &options.metrics->counter(
        "hookd_plugin_host_restarts_total",
        "Plugin host processes started again after one died or was killed", {{"plugin", p.name}});
    host.on_restart = [restarts] { restarts->inc(); };
  }
  const FileId file = FileId::of(p.library);
  HostCache one_shot;  // without a cache of the caller's: a new host
  const auto [out, changed] = (options.hosts != nullptr ? *options.hosts : one_shot).get(host, file);
  using Status = plugin::Host::StartResult::Status;
  const plugin::Host::StartResult started = out->ensure_started(options.start_timeout);
  if (started.status == Status::refused ||
      (started.status == Status::failed && options.host_start_failure_is_error)) {
    throw std::runtime_error(started.message);
  }
  if (started.status == Status::failed) {
    spdlog::warn(
        "plugins.{}: {}; deliveries to it wait while its host is restarted (with backoff)",
        p.name, started.message);
  }
  log_loaded(p, "in a host process", file, changed);
  return out;
}

}  // namespace

Instances load_plugins(const config::Config& config, std::vector<std::string>& errors,
                       const LoadOptions& options) {
  Instances out;
  LibraryCache one_shot;  // without a cache of the caller's: every file loads as it is
  LibraryCache& libraries = options.libraries != nullptr ? *options.libraries : one_shot;
  for (const config::PluginConfig& p : config.plugins) {
    try {
      if (p.isolation_or(config.workers.isolation) == config::Isolation::process) {
        out[p.name].host = start_host(config, p, options);
        continue;
      }
      const LibraryCache::Loaded loaded = libraries.load(p.library);
      out[p.name].instance =
          std::make_shared<const plugin::Instance>(loaded.library->create(p.config_yaml));
      log_loaded(p, "in process, " + loaded.library->name(), loaded.file, loaded.changed);
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
      handler.callee = it->second;
      handler.concurrency = h.concurrency > 0 ? h.concurrency : config.workers.threads;
      handler.retry = h.retry;
      handler.ordered = h.ordered_by.set();
      handler.max_crashes = config.workers.max_crashes;
      out.push_back(std::move(handler));
    }
  }
  return out;
}

}  // namespace hookd::worker
