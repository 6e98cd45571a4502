// `hookd plugin-host`: internal, started by the engine (plugin::Host) to run one plugin out
// of process. Not for people: hidden from --help. The work is in plugin::serve_host().
#include <signal.h>
#include <sys/prctl.h>

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
  };
  auto options = std::make_shared<Options>();
  sub->add_option("--library", options->library, "the plugin library")->required();
  sub->add_option("--fd", options->fd, "the connected socket to the engine")->required();
  sub->add_option("--threads", options->threads, "handle() calls run at once")
      ->check(CLI::Range(1u, 1024u));
  return {sub, [options] {
            // Never outlive the engine (the engine also sets this before exec).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            plugin::HostServerOptions o;
            o.library = options->library;
            o.fd = options->fd;
            o.threads = options->threads;
            return plugin::serve_host(o);
          }};
}

}  // namespace hookd::app
