// `hookd plugin-host`: internal, started by the engine (plugin::Host) to run one plugin out
// of process. Not for people: hidden from --help. The work is in plugin::serve_host().
#include <signal.h>
#include <sys/prctl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "commands.hpp"
#include "hookd/plugin/host_server.hpp"

namespace hookd::app {

Command add_plugin_host(CLI::App& app) {
  auto* sub = app.add_subcommand("plugin-host", "run one plugin for hookd serve (internal)");
  sub->group("");  // hidden from --help
  struct Options {
    std::string library;
    int fd = -1;
    unsigned threads = 1;
    std::uint64_t memory_limit = 0;
    std::uint64_t cpu_limit_ms = 0;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("--library", options->library, "the plugin library")->required();
  sub->add_option("--fd", options->fd, "the control socket to the engine; the lanes follow it")
      ->required();
  sub->add_option("--threads", options->threads, "lanes: handle() calls run at once")
      ->check(CLI::Range(1u, 1024u));
  sub->add_option("--memory-limit", options->memory_limit, "RLIMIT_AS in bytes (0: none)");
  sub->add_option("--cpu-limit", options->cpu_limit_ms,
                  "CPU ms one handle() call may use (0: none)");
  return {sub, [options] {
            // Never outlive the engine (the engine also sets this before exec).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            // Stop signals are serve's (a service manager sends them to every process of
            // the service): serve drains its hosts by closing their sockets.
            ::signal(SIGINT, SIG_IGN);
            ::signal(SIGTERM, SIG_IGN);
            ::signal(SIGHUP, SIG_IGN);
            plugin::HostServerOptions o;
            o.library = options->library;
            o.fd = options->fd;
            o.threads = options->threads;
            o.memory_limit = options->memory_limit;
            o.cpu_limit = std::chrono::milliseconds(options->cpu_limit_ms);
            return plugin::serve_host(o);
          }};
}

}  // namespace hookd::app
