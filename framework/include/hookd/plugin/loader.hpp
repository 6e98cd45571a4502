// Loads handler plugins (shared libraries speaking plugin.h ABI v1), refuses bad ones with
// a message naming the file, and calls them through plain C++ types.
//
// Thread-safety: Library is immutable after load() and may be shared between threads.
// Instance::handle() may be called concurrently from several threads (the plugin ABI
// requires plugins to allow it; the engine enforcing `concurrency: 1` serializes calls
// itself). Creating and destroying Instance objects is thread-safe; an Instance must not
// be destroyed while a handle() call on it runs.
//
// Ownership: a Library stays loaded (dlopen'ed) while a shared_ptr to it or any Instance
// created from it exists; the last one to go unloads it (dlclose).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "hookd/plugin.h"

namespace hookd::plugin {

// The library was refused: it cannot be loaded or does not speak ABI v1. what() names
// the file.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The plugin's create() refused its config. what() names the plugin and file and carries
// the plugin's own reason.
class CreateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Size of the message buffer handed to handle() and create() (bytes, including the NUL);
// longer messages are cut to kMessageCapacity - 1 bytes.
inline constexpr std::size_t kMessageCapacity = 1024;

struct Header {
  std::string_view name;
  std::string_view value;
};

// One delivery attempt as handed to a plugin. Non-owning: every view must stay valid for
// the duration of the handle() call.
struct Event {
  std::string_view id;
  std::string_view route;
  std::string_view type;
  std::int64_t received_at_us = 0;  // unix time, microseconds
  std::uint32_t attempt = 1;        // 1-based
  std::span<const Header> headers;
  std::string_view body;  // raw bytes
};

enum class Outcome { ok, retry, fail };

struct Result {
  Outcome outcome = Outcome::retry;
  // Outcome::retry only: the plugin's earliest retry; zero = use the retry policy.
  std::chrono::milliseconds retry_after{0};
  std::string message;  // the plugin's message (may be empty), at most kMessageCapacity-1
};

class Instance;

class Library : public std::enable_shared_from_this<Library> {
 public:
  // dlopen(RTLD_NOW | RTLD_LOCAL)s `path` and checks its descriptor. A path without a
  // '/' is taken relative to the working directory (not searched in the system library
  // path). Throws LoadError naming the file: dlopen failure (with dlerror's text), no
  // hookd_plugin_v1 symbol, NULL descriptor, another ABI major version, a descriptor
  // smaller than v1's, no name or a missing function. The library is closed on every
  // failure path.
  // `private_copy`: load a copy of the file made in a private temporary directory (removed
  // when the Library goes) instead of the file itself. dlopen hands back the library
  // already loaded under a path, so this is how a rebuilt file is loaded while the old
  // code is still in use; path() still names the configured file.
  static std::shared_ptr<const Library> load(const std::filesystem::path& path,
                                             bool private_copy = false);

  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const std::string& path() const noexcept { return path_; }
  const std::string& name() const noexcept { return name_; }  // the descriptor's name
  std::uint32_t abi_minor() const noexcept { return abi_minor_; }

  // Calls the plugin's create() with `config_yaml` (the plugin's `config:` block as YAML
  // text). Throws CreateError with the plugin's message when it returns NULL.
  Instance create(std::string_view config_yaml) const;

 private:
  struct PrivateTag {};

 public:
  // Used by load() through make_shared; not for callers.
  Library(PrivateTag, void* handle, std::string path);

 private:
  friend class Instance;

  void* handle_ = nullptr;  // from dlopen
  std::string path_;
  std::filesystem::path copy_dir_;  // the private copy's directory, when loaded from one
  std::string name_;
  std::uint32_t abi_minor_ = 0;
  decltype(hookd_plugin_descriptor::create) create_ = nullptr;
  decltype(hookd_plugin_descriptor::handle) handle_fn_ = nullptr;
  decltype(hookd_plugin_descriptor::destroy) destroy_ = nullptr;
};

// One handler object made by a plugin's create(); destroy()ed with the Instance.
// Move-only; a moved-from Instance may only be destroyed or assigned to.
class Instance {
 public:
  Instance(Instance&& other) noexcept;
  Instance& operator=(Instance&& other) noexcept;
  ~Instance();

  // Runs the plugin's handle() once. Never throws for what the plugin does: an outcome
  // value outside ok/retry/fail becomes Outcome::retry with a message saying so.
  Result handle(const Event& event) const;

  const Library& library() const noexcept { return *library_; }

 private:
  friend class Library;
  Instance(std::shared_ptr<const Library> library, void* instance) noexcept;
  void reset() noexcept;

  std::shared_ptr<const Library> library_;
  void* instance_ = nullptr;
};

}  // namespace hookd::plugin
