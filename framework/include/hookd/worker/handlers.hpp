// From config to running handlers: loads each configured plugin library, creates its
// instance with its `config:` block, and lists the (route, plugin) handlers for the engine.
// Used by `serve` (at start and on SIGHUP) and by `check`, so both refuse the same things.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/engine.hpp"

namespace hookd::worker {

using Instances = std::map<std::string, std::shared_ptr<const plugin::Instance>>;

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
    std::chrono::system_clock::time_point modified;  // the file's mtime, for the log
  };
  // Throws what plugin::Library::load throws, or LoadError when the file cannot be stat'ed.
  Loaded load(const std::string& path);

 private:
  struct FileId {
    unsigned long long device = 0, inode = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  struct Entry {
    FileId id;
    std::weak_ptr<const plugin::Library> library;
  };
  std::map<std::string, Entry> entries_;
};

// Loads every entry of config.plugins (through `cache` when given, see LibraryCache) and
// logs which file each came from. Each failure (the library cannot be loaded or is
// refused, or the plugin refuses its config) appends "FILE:LINE:COL: plugins.NAME: why" to
// `errors`, and that plugin is left out of the result.
Instances load_plugins(const config::Config& config, std::vector<std::string>& errors,
                       LibraryCache* cache = nullptr);

// The handlers of every route, with the policies resolved: concurrency 0 becomes
// workers.threads. Handlers whose plugin is not in `instances` are left out.
std::vector<Handler> handlers_for(const config::Config& config, const Instances& instances);

}  // namespace hookd::worker
