// From config to running handlers: starts each configured plugin (a host process running
// it, or its library loaded in process, by its isolation) with its `config:` block, and
// lists the (route, plugin) handlers for the engine. Used by `serve` (at start and on
// SIGHUP) and by `check`, so both refuse the same things.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/engine.hpp"

namespace hookd::metrics {
class Registry;
}

namespace hookd::worker {

// Each loaded plugin by name.
using Instances = std::map<std::string, Callee>;

// Which file is at a path: device, inode, size, mtime. Equal ids: the same, unchanged file.
struct FileId {
  unsigned long long device = 0, inode = 0, size = 0;
  long long mtime_ns = 0;
  bool operator==(const FileId&) const = default;
  // Throws plugin::LoadError naming the file when it cannot be stat'ed.
  static FileId of(const std::string& path);
};

// Which file each loaded library came from (device, inode, size, mtime), so that a reload
// picks up a plugin rebuilt in place: dlopen would hand back the library still loaded
// under that path (the old code), so a changed file is loaded from a private copy. An
// unchanged file whose library is still loaded is shared. Kept by `serve` across reloads.
// Thread-safety: none; serve loads from one thread at a time.
class LibraryCache {
 public:
  struct Loaded {
    std::shared_ptr<const plugin::Library> library;
    bool changed = false;  // the file differs from the one loaded under this path before
    FileId file;           // for the log (its mtime)
  };
  // Throws what plugin::Library::load throws, or LoadError when the file cannot be stat'ed.
  Loaded load(const std::string& path);

 private:
  struct Entry {
    FileId id;
    std::weak_ptr<const plugin::Library> library;
  };
  std::map<std::string, Entry> entries_;
};

// The plugin hosts of process isolation, kept by `serve` across reloads: a plugin whose
// host options and library file did not change keeps its host (and the calls in it); a
// changed one gets a new host, and the old one, once its last call has returned and the
// engine let go of it, exits (plugin::Host's destructor). New hosts are remembered only
// once the config that made them runs (commit()): a refused reload changes nothing.
// Thread-safety: none; serve loads from one thread at a time.
class HostCache {
 public:
  // The hosts made by get() since the last commit() or discard() are in use / are not.
  void commit();
  void discard() { staged_.clear(); }

  // The host still in use for these options and `file` (the library's), or a new one (not
  // started); `changed`: a host in use runs an older file.
  struct Got {
    std::shared_ptr<plugin::Host> host;
    bool changed = false;
  };
  Got get(const plugin::HostOptions& options, const FileId& file);

 private:
  struct Entry {
    FileId file;
    plugin::HostOptions options;  // on_restart aside
    std::weak_ptr<plugin::Host> host;
  };
  std::map<std::string, Entry> entries_;  // by plugin name: in use
  std::map<std::string, Entry> staged_;   // made for a config not yet in use
};

struct LoadOptions {
  LibraryCache* libraries = nullptr;  // thread isolation; null: every file loads as it is
  HostCache* hosts = nullptr;         // process isolation; null: new hosts
  std::filesystem::path binary = "/proc/self/exe";  // the `hookd plugin-host` to run
  std::chrono::milliseconds start_timeout{10'000};  // a host's load + create()
  metrics::Registry* metrics = nullptr;  // hookd_plugin_host_restarts_total{plugin}
  // Whether a host that dies or hangs while starting is an error (`check`), or a warning
  // (`serve`: it keeps ingesting, restarts the host with backoff, deliveries wait).
  bool host_start_failure_is_error = false;
};

// Loads every entry of config.plugins and logs which file each came from. In process
// isolation it starts the plugin's host (see HostCache) and waits for create()'s answer.
// Each failure (the library cannot be loaded or is refused, or the plugin refuses its
// config) appends "FILE:LINE:COL: plugins.NAME: why" to `errors`, and that plugin is left
// out of the result.
Instances load_plugins(const config::Config& config, std::vector<std::string>& errors,
                       const LoadOptions& options = {});

// The handlers of every route, with the policies resolved: concurrency 0 becomes
// workers.threads, max_crashes from workers. Handlers whose plugin is not in `instances`
// are left out.
std::vector<Handler> handlers_for(const config::Config& config, const Instances& instances);

}  // namespace hookd::worker
