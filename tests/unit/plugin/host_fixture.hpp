// What the plugin host tests share: a Host on the "crashy" fixture (see its header comment
// for what each body does), and events to send it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "hookd/plugin/host.hpp"

namespace hookd::plugin::test {

// 4 threads, a short shutdown grace, a 2 s restart backoff after the second death.
inline HostOptions crashy(std::string config = "{}") {
  using namespace std::chrono_literals;
  HostOptions o;
  o.name = "crashy";
  o.binary = HOOKD_BINARY;
  o.library = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_crashy.so";
  o.config_yaml = std::move(config);
  o.threads = 4;
  o.shutdown_grace = 500ms;
  o.backoff.first_delay = 2s;
  return o;
}

// The views point into the arguments: they must outlive the call.
inline Event event(std::string_view id, std::string_view body) {
  Event ev;
  ev.id = id;
  ev.route = "r";
  ev.type = "t";
  ev.received_at_us = 1'700'000'000'000'001;
  ev.attempt = 2;
  ev.body = body;
  return ev;
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace hookd::plugin::test
