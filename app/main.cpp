// hookd: the command line. One file per command; this one wires them together and sets
// up logging (logging.cpp).
#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "commands.hpp"
#include "hookd_version.hpp"
#include "logging.hpp"

int main(int argc, char** argv) {
  // Everything hookd creates is private to the user it runs as: the store and its -wal and
  // -shm (webhook bodies and headers), the plugins' files, keys, directories (0700). Also
  // inherited by the children of the exec plugin.
  ::umask(077);
  // Started with stdin, stdout or stderr closed, the first files opened (a listening
  // socket, the store) would take their numbers and be handed to every plugin host and
  // exec child as such: hold them with /dev/null.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd) return 2;
  }
  hookd::app::setup_logging();

  CLI::App app{"hookd: an HTTPS webhook receiver with a durable outbox"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hookd " HOOKD_VERSION " (" HOOKD_GIT_REVISION ")",
                       "Print the version and the git revision it was built from");
  std::vector<hookd::app::Command> commands{
      hookd::app::add_serve(app),      hookd::app::add_check(app),
      hookd::app::add_sign(app),       hookd::app::add_events(app),
      hookd::app::add_stats(app),      hookd::app::add_replay(app),
      hookd::app::add_backup(app),     hookd::app::add_plugin_run(app),
      hookd::app::add_plugin_host(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : hookd::app::kExitUserError;
  }
  for (auto& c : commands) {
    if (c.sub->parsed()) return c.run();
  }
  return hookd::app::kExitUserError;
}
