// Plugins and handlers from the config; see handlers.hpp.
#include "hookd/worker/handlers.hpp"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace hookd::worker {

LibraryCache::Loaded LibraryCache::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw plugin::LoadError("plugin " + path + ": cannot load: " + std::strerror(errno));
  }
  const FileId id{st.st_dev, st.st_ino, static_cast<unsigned long long>(st.st_size),
                  static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  const std::chrono::system_clock::time_point modified{std::chrono::duration_cast<
      std::chrono::system_clock::duration>(std::chrono::nanoseconds(id.mtime_ns))};
  Entry& entry = entries_[path];
  auto loaded = entry.library.lock();
  if (loaded && entry.id == id) return {loaded, false, modified};
  // Still loaded from an older file: dlopen of the path would return that one.
  const bool changed = loaded != nullptr;
  loaded = plugin::Library::load(path, changed);
  entry = Entry{id, loaded};
  return {loaded, changed, modified};
}

Instances load_plugins(const config::Config& config, std::vector<std::string>& errors,
                       LibraryCache* cache) {
  Instances out;
  LibraryCache one_shot;  // without a cache of the caller's: every file loads as it is
  for (const config::PluginConfig& p : config.plugins) {
    try {
      const LibraryCache::Loaded loaded = (cache != nullptr ? cache : &one_shot)->load(p.library);
      const auto& library = loaded.library;
      out[p.name] = std::make_shared<const plugin::Instance>(library->create(p.config_yaml));
      spdlog::info(
          "plugin '{}' ({}) loaded from {}, modified {:%Y-%m-%dT%H:%M:%S}Z{}", p.name,
          library->name(), p.library,
          std::chrono::time_point_cast<std::chrono::seconds>(loaded.modified),
          loaded.changed ? "; the file changed since it was last loaded: the new one is in use"
                         : "");
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
