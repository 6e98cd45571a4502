// What the plugin host tests share: a Host on the "crashy" fixture (see its header comment
// for what each body does), and events to send it.
#pragma once

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "eventually.hpp"
#include "hookd/plugin/host.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

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

// Tells when a call is inside the plugin: the fixture's `marks:` config makes each call
// create a file named after its event first thing. Waiting for that file, not sleeping for
// "long enough", is what makes a call surely in flight on a loaded machine. Declare it
// before the Host, so that the Host (and its child) goes first.
class CallMarks {
 public:
  // crashy()'s config with the marks on.
  std::string config() const { return "{ marks: " + dir_.file("started-") + " }"; }
  // True once the call of event `id` has entered handle(); false after 20 s.
  bool started(const std::string& id) const {
    return hookd::test::eventually(
        [&] { return std::filesystem::exists(dir_.file("started-" + id)); });
  }

 private:
  hookd::test::TempDir dir_;
};

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

using hookd::test::contains;

// The process exists (a zombie too: not yet reaped).
inline bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace hookd::plugin::test
