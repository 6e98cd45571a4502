// Optional header-only C++17 convenience over plugin.h: write one class and one
// HOOKD_PLUGIN(Class, "name") line; no C++ exception ever crosses the C ABI.
//
//   struct Echo {
//     explicit Echo(std::string_view yaml_config);       // may throw: config refused
//     hookd::Outcome handle(const hookd::Event& event);  // may throw: retried
//   };
//   HOOKD_PLUGIN(Echo, "echo")
//
// Threading: handle() may be called concurrently on one object from several worker
// threads (unless every route handler naming the plugin has `concurrency: 1`); the
// constructor and destructor are never concurrent with handle() on the same object. Ownership: an Event
// and every view it hands out are valid only during the handle() call.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "hookd/plugin.h"

namespace hookd {

// One request header as received. Views into hookd's memory: copy to keep.
struct Header {
  std::string_view name;
  std::string_view value;
};

// Read-only view of one delivery attempt (a thin wrapper over hookd_event).
class Event {
 public:
  explicit Event(const hookd_event& raw) noexcept : raw_(raw) {}

  std::string_view id() const noexcept { return view(raw_.id); }
  std::string_view route() const noexcept { return view(raw_.route); }
  std::string_view type() const noexcept { return view(raw_.type); }
  std::chrono::system_clock::time_point received_at() const noexcept {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(raw_.received_at_us)));
  }
  std::int64_t received_at_us() const noexcept { return raw_.received_at_us; }
  std::uint32_t attempt() const noexcept { return raw_.attempt; }  // 1-based
  std::string_view body() const noexcept {
    return raw_.body_size == 0 ? std::string_view() : std::string_view(raw_.body, raw_.body_size);
  }

  std::size_t header_count() const noexcept { return raw_.header_count; }
  Header header(std::size_t i) const noexcept {
    return {view(raw_.headers[i].name), view(raw_.headers[i].value)};
  }
  // The first header named `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < raw_.header_count; ++i) {
      if (iequals(view(raw_.headers[i].name), name)) return view(raw_.headers[i].value);
    }
    return std::nullopt;
  }

  const hookd_event& raw() const noexcept { return raw_; }

 private:
  static std::string_view view(hookd_str s) noexcept {
    return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size);
  }
  static bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }

  const hookd_event& raw_;
};

// What handle() returns: ok, retry (optionally not before `after`), or fail, each with an
// optional message (cut to hookd's buffer, see plugin.h).
class Outcome {
 public:
  static Outcome ok(std::string message = {}) {
    return Outcome(HOOKD_OK, std::move(message), std::chrono::milliseconds(0));
  }
  // after == 0: the handler's retry policy decides when.
  static Outcome retry(std::string message = {},
                       std::chrono::milliseconds after = std::chrono::milliseconds(0)) {
    return Outcome(HOOKD_RETRY, std::move(message), after);
  }
  static Outcome fail(std::string message) {
    return Outcome(HOOKD_FAIL, std::move(message), std::chrono::milliseconds(0));
  }

  hookd_outcome code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  std::chrono::milliseconds retry_after() const noexcept { return after_; }

 private:
  Outcome(hookd_outcome code, std::string message, std::chrono::milliseconds after)
      : code_(code), message_(std::move(message)), after_(after) {}

  hookd_outcome code_;
  std::string message_;
  std::chrono::milliseconds after_;
};

namespace detail {

inline void copy_message(char* buf, std::size_t cap, const char* text) noexcept {
  if (buf == nullptr || cap == 0) return;
  hookd_result r{};
  r.message = buf;
  r.message_capacity = cap;
  hookd_result_set_message(&r, text);
}

template <class Handler>
void* create(const char* config, std::size_t len, char* error_buf, std::size_t error_len) noexcept {
  try {
    return new Handler(std::string_view(config, len));
  } catch (const std::exception& e) {
    copy_message(error_buf, error_len, e.what());
  } catch (...) {
    copy_message(error_buf, error_len, "unknown exception in the plugin's constructor");
  }
  return nullptr;
}

template <class Handler>
void handle(void* instance, const hookd_event* event, hookd_result* result) noexcept {
  try {
    const Outcome outcome = static_cast<Handler*>(instance)->handle(Event(*event));
    result->outcome = outcome.code();
    const auto ms = outcome.retry_after().count();
    result->retry_after_ms = outcome.code() != HOOKD_RETRY || ms <= 0 ? 0u
                             : ms > static_cast<long long>(UINT32_MAX)
                                 ? UINT32_MAX
                                 : static_cast<std::uint32_t>(ms);
    hookd_result_set_message(result, outcome.message().c_str());
    return;
  } catch (const std::exception& e) {
    hookd_result_set_message(result, e.what());
  } catch (...) {
    hookd_result_set_message(result, "unknown exception in the plugin's handle()");
  }
  result->outcome = HOOKD_RETRY;  // an exception is a transient failure: retry
  result->retry_after_ms = 0;
}

template <class Handler>
void destroy(void* instance) noexcept {
  delete static_cast<Handler*>(instance);  // destructors are noexcept
}

template <class Handler>
constexpr hookd_plugin_descriptor make_descriptor(const char* name) noexcept {
  return hookd_plugin_descriptor{HOOKD_PLUGIN_ABI_MAJOR,
                                 HOOKD_PLUGIN_ABI_MINOR,
                                 sizeof(hookd_plugin_descriptor),
                                 name,
                                 &create<Handler>,
                                 &handle<Handler>,
                                 &destroy<Handler>};
}

}  // namespace detail
}  // namespace hookd

// Defines the exported entry point for `Handler` under the plugin name `name` (a string
// literal). Use once per library, at namespace scope.
#define HOOKD_PLUGIN(Handler, name)                                                     \
  extern "C" HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) { \
    static constexpr hookd_plugin_descriptor descriptor =                               \
        ::hookd::detail::make_descriptor<Handler>(name);                                \
    return &descriptor;                                                                 \
  }
