// The plugin loader: dlopen, the ABI v1 handshake with its refusals, and the calls into
// create/handle/destroy with host-owned buffers.
#include "hookd/plugin/loader.hpp"

#include <dlfcn.h>
#include <stdlib.h>

#include <array>
#include <cstring>
#include <cerrno>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace hookd::plugin {
namespace {

// The size of the v1.0 descriptor, computed so that it stays right when later minor
// versions append fields to hookd_plugin_descriptor.
constexpr std::size_t kDescriptorV1Size =
    offsetof(hookd_plugin_descriptor, destroy) + sizeof(hookd_plugin_descriptor::destroy);

// dlclose()s unless released: keeps every refusal path from leaking the library.
class DlHandle {
 public:
  explicit DlHandle(void* handle) noexcept : handle_(handle) {}
  ~DlHandle() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  DlHandle(const DlHandle&) = delete;
  DlHandle& operator=(const DlHandle&) = delete;
  void* get() const noexcept { return handle_; }
  void* release() noexcept { return std::exchange(handle_, nullptr); }

 private:
  void* handle_;
};

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}

// Reads a NUL-terminated message from a host buffer of `capacity` bytes without trusting
// the plugin to have terminated it.
std::string read_message(const char* buf, std::size_t capacity) {
  return std::string(buf, strnlen(buf, capacity - 1));
}

// A private directory (0700, under TMPDIR) holding a copy of `file`, removed again unless
// released: dlopen of the copy maps code no other load has seen.
class PrivateCopy {
 public:
  explicit PrivateCopy(const std::string& file, const std::string& what) {
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "hookd-plugin-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
      throw LoadError(what + "cannot make a private directory for a fresh copy: " +
                      std::strerror(errno));
    }
    dir_ = dir_template;
    copy_ = dir_ / std::filesystem::path(file).filename();
    std::error_code ec;
    std::filesystem::copy_file(file, copy_, ec);
    if (ec) throw LoadError(what + "cannot copy it for a fresh load: " + ec.message());
  }
  ~PrivateCopy() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  PrivateCopy(const PrivateCopy&) = delete;
  PrivateCopy& operator=(const PrivateCopy&) = delete;
  const std::filesystem::path& file() const { return copy_; }
  std::filesystem::path release() { return std::exchange(dir_, {}); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path copy_;
};

}  // namespace

Library::Library(PrivateTag, void* handle, std::string path)
    : handle_(handle), path_(std::move(path)) {}

Library::~Library() {
  if (handle_ != nullptr) dlclose(handle_);
  std::error_code ignored;
  if (!copy_dir_.empty()) std::filesystem::remove_all(copy_dir_, ignored);
}

std::shared_ptr<const Library> Library::load(const std::filesystem::path& path,
                                             bool private_copy) {
  std::string file = path.string();
  // dlopen searches the system library path for a bare name; a config path never means that.
  if (file.find('/') == std::string::npos) file = "./" + file;
  const std::string what = "plugin " + file + ": ";

  std::optional<PrivateCopy> copy;
  if (private_copy) copy.emplace(file, what);
  dlerror();  // clear any stale error
  DlHandle dl(dlopen(copy ? copy->file().c_str() : file.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (dl.get() == nullptr) throw LoadError(what + "cannot load: " + dl_error());

  dlerror();
  void* sym = dlsym(dl.get(), HOOKD_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    throw LoadError(what + "does not export " HOOKD_PLUGIN_ENTRY_SYMBOL
                           " (not a hookd plugin, or the symbol is hidden / C++-mangled: "
                           "define it with HOOKD_PLUGIN_EXPORT in extern \"C\")");
  }
  hookd_plugin_entry_fn entry = nullptr;
  static_assert(sizeof(entry) == sizeof(sym));
  std::memcpy(&entry, &sym, sizeof(entry));  // POSIX guarantees this conversion works

  const hookd_plugin_descriptor* d = entry();
  if (d == nullptr) throw LoadError(what + HOOKD_PLUGIN_ENTRY_SYMBOL "() returned no descriptor");
  // abi_major and abi_minor come first in every version, so they can be read before
  // struct_size is trusted.
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

  auto lib = std::make_shared<Library>(PrivateTag{}, dl.get(), file);
  dl.release();  // owned by lib from here on
  if (copy) lib->copy_dir_ = copy->release();
  lib->name_ = d->name;
  lib->abi_minor_ = d->abi_minor;
  lib->create_ = d->create;
  lib->handle_fn_ = d->handle;
  lib->destroy_ = d->destroy;
  return lib;
}

Instance Library::create(std::string_view config_yaml) const {
  const std::string config(config_yaml);  // the ABI promises a NUL after the text
  std::array<char, kMessageCapacity> error{};
  void* instance = create_(config.c_str(), config.size(), error.data(), error.size());
  if (instance == nullptr) {
    std::string reason = read_message(error.data(), error.size());
    if (reason.empty()) reason = "create() failed without a message";
    throw CreateError("plugin '" + name_ + "' (" + path_ + ") refused its config: " + reason);
  }
  return Instance(shared_from_this(), instance);
}

Instance::Instance(std::shared_ptr<const Library> library, void* instance) noexcept
    : library_(std::move(library)), instance_(instance) {}

Instance::Instance(Instance&& other) noexcept
    : library_(std::move(other.library_)), instance_(std::exchange(other.instance_, nullptr)) {}

Instance& Instance::operator=(Instance&& other) noexcept {
  if (this != &other) {
    reset();
    library_ = std::move(other.library_);
    instance_ = std::exchange(other.instance_, nullptr);
  }
  return *this;
}

Instance::~Instance() {
  reset();
}

void Instance::reset() noexcept {
  if (instance_ != nullptr) library_->destroy_(instance_);
  instance_ = nullptr;
  library_.reset();  // may unload the library: after destroy() returned
}

Result Instance::handle(const Event& event) const {
  auto str = [](std::string_view s) { return hookd_str{s.data(), s.size()}; };

  std::vector<hookd_header> headers;
  headers.reserve(event.headers.size());
  for (const Header& h : event.headers) headers.push_back({str(h.name), str(h.value)});

  hookd_event ev{};
  ev.struct_size = sizeof(hookd_event);
  ev.id = str(event.id);
  ev.route = str(event.route);
  ev.type = str(event.type);
  ev.received_at_us = event.received_at_us;
  ev.attempt = event.attempt;
  ev.headers = headers.empty() ? nullptr : headers.data();
  ev.header_count = headers.size();
  ev.body = event.body.empty() ? nullptr : event.body.data();
  ev.body_size = event.body.size();

  std::array<char, kMessageCapacity> message{};
  hookd_result res{};
  res.struct_size = sizeof(hookd_result);
  res.outcome = HOOKD_OK;
  res.retry_after_ms = 0;
  res.message = message.data();
  res.message_capacity = message.size();

  library_->handle_fn_(instance_, &ev, &res);

  Result out;
  out.message = read_message(message.data(), message.size());
  switch (res.outcome) {
    case HOOKD_OK:
      out.outcome = Outcome::ok;
      break;
    case HOOKD_RETRY:
      out.outcome = Outcome::retry;
      out.retry_after = std::chrono::milliseconds(res.retry_after_ms);
      break;
    case HOOKD_FAIL:
      out.outcome = Outcome::fail;
      break;
    default:
      out.outcome = Outcome::retry;
      out.message = "plugin '" + library_->name_ + "' returned invalid outcome " +
                    std::to_string(res.outcome) +
                    (out.message.empty() ? std::string() : ": " + out.message);
      break;
  }
  return out;
}

}  // namespace hookd::plugin
