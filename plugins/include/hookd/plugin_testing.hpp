// Header-only C++17 helpers for testing a hookd handler plugin without a server, with any
// test framework: build an event, load the plugin (a .so file, or a descriptor linked into
// the test), and call create/handle/destroy exactly as hookd's loader does (the same
// descriptor checks and refusals, a 1024-byte message buffer, an untrusted terminator, an
// invalid outcome turned into a retry). Link the test with ${CMAKE_DL_LIBS}.
//
//   auto counter = hookd::testing::Plugin::load("libhookd_counter.so");
//   hookd::testing::Result r = hookd::testing::invoke(
//       counter, "path: /tmp/counts.txt",
//       hookd::testing::Event().id("evt_1").type("invitation.created").body("{}"));
//   assert(r.outcome == HOOKD_OK && r.message == "invitation.created #1");
//
// What it does not do: run the plugin in another process (a crash ends the test; use
// `hookd plugin-run` for that) or time it out.
//
// Thread-safety: as in hookd, Instance::handle() may be called from several threads at once
// (that is how to test a plugin's locking); everything else is for one thread at a time.
// Ownership: a Plugin loaded from a file stays loaded while it or an Instance made from it
// exists; an Instance destroy()s its plugin instance when it goes.
#pragma once

#include <dlfcn.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/plugin.h"

namespace hookd::testing {

// The size of the message and error buffers hookd hands to handle() and create() (bytes,
// with the NUL); hookd keeps at most kMessageCapacity - 1 bytes of a message.
inline constexpr std::size_t kMessageCapacity = 1024;

// The library or descriptor was refused, with hookd's message for it.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// create() returned NULL. what() is hookd's message ("plugin 'x' (PATH) refused its config:
// REASON"), reason() the plugin's own text.
class CreateError : public std::runtime_error {
 public:
  CreateError(const std::string& what, std::string reason)
      : std::runtime_error(what), reason_(std::move(reason)) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

// One delivery attempt, built field by field; the defaults make a valid event.
// Authorization, Cookie and Proxy-Authorization are stored as "[redacted]", as hookd
// stores them, so a test cannot pass on a credential the plugin never sees in production.
class Event {
 public:
  Event& id(std::string v) {
    id_ = std::move(v);
    return *this;
  }
  Event& route(std::string v) {
    route_ = std::move(v);
    return *this;
  }
  Event& type(std::string v) {
    type_ = std::move(v);
    return *this;
  }
  Event& received_at_us(std::int64_t v) {
    received_at_us_ = v;
    return *this;
  }
  Event& received_at(std::chrono::system_clock::time_point t) {
    received_at_us_ =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    return *this;
  }
  Event& attempt(std::uint32_t v) {
    attempt_ = v;
    return *this;
  }
  // Appends a header (order and repeats are kept, as received).
  Event& header(std::string name, std::string value) {
    if (is_redacted(name)) value = "[redacted]";
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Event& body(std::string v) {
    body_ = std::move(v);
    return *this;
  }

  const std::string& id() const noexcept { return id_; }
  const std::string& route() const noexcept { return route_; }
  const std::string& type() const noexcept { return type_; }
  std::int64_t received_at_us() const noexcept { return received_at_us_; }
  std::uint32_t attempt() const noexcept { return attempt_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept {
    return headers_;
  }
  const std::string& body() const noexcept { return body_; }

  // The names hookd redacts (compared ASCII case-insensitively).
  static bool is_redacted(std::string_view name) noexcept {
    for (std::string_view r : {"authorization", "cookie", "proxy-authorization"}) {
      if (r.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < r.size() && same; ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        same = c == r[i];
      }
      if (same) return true;
    }
    return false;
  }

 private:
  std::string id_ = "evt_1";
  std::string route_ = "test";
  std::string type_;
  std::int64_t received_at_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  std::uint32_t attempt_ = 1;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string body_;
};

// What hookd makes of one handle() call.
struct Result {
  hookd_outcome outcome = HOOKD_RETRY;       // HOOKD_OK, HOOKD_RETRY or HOOKD_FAIL, never another
  std::chrono::milliseconds retry_after{0};  // HOOKD_RETRY only; 0 = the handler's backoff
  std::string message;  // at most kMessageCapacity - 1 bytes, up to the first NUL

  bool ok() const noexcept { return outcome == HOOKD_OK; }
  bool retry() const noexcept { return outcome == HOOKD_RETRY; }
  bool fail() const noexcept { return outcome == HOOKD_FAIL; }
};

class Instance;

// A plugin whose descriptor passed hookd's checks.
class Plugin {
 public:
  // Loads `path` as hookd does: dlopen(RTLD_NOW | RTLD_LOCAL) (a path without '/' is
  // relative to the working directory, never searched), hookd_plugin_v1(), the checks of
  // from_descriptor(). Throws LoadError with hookd's message.
  static Plugin load(const std::string& path) {
    const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
    const std::string what = "plugin " + file + ": ";
    dlerror();
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) throw LoadError(what + "cannot load: " + dl_error());
    // Closed again on every refusal, as hookd does.
    std::shared_ptr<void> library(handle, [](void* h) { dlclose(h); });
    dlerror();
    void* sym = dlsym(handle, HOOKD_PLUGIN_ENTRY_SYMBOL);
    if (sym == nullptr) {
      throw LoadError(what + "does not export " HOOKD_PLUGIN_ENTRY_SYMBOL
                             " (not a hookd plugin, or the symbol is hidden / C++-mangled: "
                             "define it with HOOKD_PLUGIN_EXPORT in extern \"C\")");
    }
    hookd_plugin_entry_fn entry = nullptr;
    static_assert(sizeof(entry) == sizeof(sym));
    std::memcpy(&entry, &sym, sizeof(entry));  // POSIX guarantees this conversion works
    Plugin plugin = checked(entry(), what, file);
    plugin.library_ = std::move(library);
    return plugin;
  }

  // A plugin linked into the test: pass hookd_plugin_v1(). Checks it as hookd does (ABI
  // major, size, name, functions); throws LoadError with hookd's message. The descriptor
  // must outlive the Plugin and its instances (static storage, as the ABI requires).
  static Plugin from_descriptor(const hookd_plugin_descriptor* descriptor) {
    return checked(descriptor, "plugin (descriptor): ", "descriptor");
  }

  const std::string& name() const noexcept { return name_; }
  const std::string& path() const noexcept { return path_; }

  // Calls create() with `config_yaml` (the plugin's `config:` block as hookd emits it, see
  // docs/plugins.md; "" for none). Throws CreateError when it returns NULL.
  inline Instance create(std::string_view config_yaml) const;

 private:
  friend class Instance;

  Plugin() = default;  // only through load() and from_descriptor(): always checked

  // The size of the v1.0 descriptor, computed so that it stays right when later minor
  // versions append fields.
  static constexpr std::size_t kDescriptorV1Size =
      offsetof(hookd_plugin_descriptor, destroy) + sizeof(hookd_plugin_descriptor::destroy);

  static std::string dl_error() {
    const char* e = dlerror();
    return e != nullptr ? e : "unknown dlopen error";
  }

  static Plugin checked(const hookd_plugin_descriptor* d, const std::string& what,
                        std::string path) {
    if (d == nullptr) throw LoadError(what + HOOKD_PLUGIN_ENTRY_SYMBOL "() returned no descriptor");
    // abi_major and abi_minor come first in every version: read before struct_size is trusted.
    if (d->abi_major != HOOKD_PLUGIN_ABI_MAJOR) {
      throw LoadError(what + "was built for plugin ABI " + std::to_string(d->abi_major) +
                      ", this hookd speaks " + std::to_string(HOOKD_PLUGIN_ABI_MAJOR) +
                      " (rebuild it against this hookd's plugin.h)");
    }
    if (d->struct_size < kDescriptorV1Size) {
      throw LoadError(what + "descriptor is " + std::to_string(d->struct_size) +
                      " bytes, plugin ABI 1 needs at least " + std::to_string(kDescriptorV1Size));
    }
    if (d->name == nullptr || d->name[0] == '\0') throw LoadError(what + "descriptor has no name");
    const char* missing = d->create == nullptr    ? "create"
                          : d->handle == nullptr  ? "handle"
                          : d->destroy == nullptr ? "destroy"
                                                  : nullptr;
    if (missing != nullptr) {
      throw LoadError(what + "descriptor of '" + d->name + "' has no " + missing + " function");
    }
    Plugin plugin;
    plugin.path_ = std::move(path);
    plugin.name_ = d->name;  // copied right after the call, as hookd does
    plugin.create_ = d->create;
    plugin.handle_ = d->handle;
    plugin.destroy_ = d->destroy;
    return plugin;
  }

  // Reads a NUL-terminated message from a buffer of `capacity` bytes without trusting the
  // plugin to have terminated it.
  static std::string read_message(const char* buf, std::size_t capacity) {
    std::size_t n = 0;
    while (n < capacity - 1 && buf[n] != '\0') ++n;
    return std::string(buf, n);
  }

  std::shared_ptr<void> library_;  // the dlopen handle; empty for a linked descriptor
  std::string path_;
  std::string name_;
  decltype(hookd_plugin_descriptor::create) create_ = nullptr;
  decltype(hookd_plugin_descriptor::handle) handle_ = nullptr;
  decltype(hookd_plugin_descriptor::destroy) destroy_ = nullptr;
};

// One plugin instance (what create() returned); destroy()ed with the object. Move-only.
class Instance {
 public:
  Instance(Instance&& other) noexcept
      : plugin_(std::move(other.plugin_)), instance_(std::exchange(other.instance_, nullptr)) {}
  Instance& operator=(Instance&& other) noexcept {
    if (this != &other) {
      reset();
      plugin_ = std::move(other.plugin_);
      instance_ = std::exchange(other.instance_, nullptr);
    }
    return *this;
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance() { reset(); }

  // Runs handle() once as hookd does: the result preset to HOOKD_OK, 0 and an empty
  // message in a kMessageCapacity buffer; an outcome outside ok/retry/fail becomes a retry
  // with a message saying so.
  Result handle(const Event& event) const {
    auto str = [](const std::string& s) { return hookd_str{s.data(), s.size()}; };
    std::vector<hookd_header> headers;
    headers.reserve(event.headers().size());
    for (const auto& [name, value] : event.headers()) headers.push_back({str(name), str(value)});

    hookd_event ev{};
    ev.struct_size = sizeof(hookd_event);
    ev.id = str(event.id());
    ev.route = str(event.route());
    ev.type = str(event.type());
    ev.received_at_us = event.received_at_us();
    ev.attempt = event.attempt();
    ev.headers = headers.empty() ? nullptr : headers.data();
    ev.header_count = headers.size();
    ev.body = event.body().empty() ? nullptr : event.body().data();
    ev.body_size = event.body().size();

    std::vector<char> message(kMessageCapacity, '\0');
    hookd_result res{};
    res.struct_size = sizeof(hookd_result);
    res.outcome = HOOKD_OK;
    res.retry_after_ms = 0;
    res.message = message.data();
    res.message_capacity = message.size();

    plugin_.handle_(instance_, &ev, &res);

    Result out;
    out.message = Plugin::read_message(message.data(), message.size());
    switch (res.outcome) {
      case HOOKD_OK:
        out.outcome = HOOKD_OK;
        break;
      case HOOKD_RETRY:
        out.outcome = HOOKD_RETRY;
        out.retry_after = std::chrono::milliseconds(res.retry_after_ms);
        break;
      case HOOKD_FAIL:
        out.outcome = HOOKD_FAIL;
        break;
      default:
        out.outcome = HOOKD_RETRY;
        out.message = "plugin '" + plugin_.name_ + "' returned invalid outcome " +
                      std::to_string(res.outcome) +
                      (out.message.empty() ? std::string() : ": " + out.message);
        break;
    }
    return out;
  }

 private:
  friend class Plugin;
  Instance(Plugin plugin, void* instance) noexcept
      : plugin_(std::move(plugin)), instance_(instance) {}
  void reset() noexcept {
    if (instance_ != nullptr) plugin_.destroy_(instance_);
    instance_ = nullptr;
    plugin_.library_.reset();  // may unload the library: after destroy() returned
  }

  Plugin plugin_;  // a copy: shares the library, keeping it loaded
  void* instance_ = nullptr;
};

inline Instance Plugin::create(std::string_view config_yaml) const {
  const std::string config(config_yaml);  // the ABI promises a NUL after the text
  std::vector<char> error(kMessageCapacity, '\0');
  void* instance = create_(config.c_str(), config.size(), error.data(), error.size());
  if (instance == nullptr) {
    std::string reason = read_message(error.data(), error.size());
    if (reason.empty()) reason = "create() failed without a message";
    throw CreateError("plugin '" + name_ + "' (" + path_ + ") refused its config: " + reason,
                      reason);
  }
  return Instance(*this, instance);
}

// One delivery from start to end, as hookd runs it: create() with `config_yaml`, handle()
// of `event`, destroy(). Throws CreateError when create() refuses the config.
inline Result invoke(const Plugin& plugin, std::string_view config_yaml, const Event& event) {
  return plugin.create(config_yaml).handle(event);
}

// The same, loading the library at `path` first (and unloading it after); throws LoadError.
inline Result invoke(const std::string& path, std::string_view config_yaml, const Event& event) {
  return invoke(Plugin::load(path), config_yaml, event);
}

// The same for a descriptor linked into the test (pass hookd_plugin_v1()).
inline Result invoke(const hookd_plugin_descriptor* descriptor, std::string_view config_yaml,
                     const Event& event) {
  return invoke(Plugin::from_descriptor(descriptor), config_yaml, event);
}

}  // namespace hookd::testing
