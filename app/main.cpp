// hookd: the command line. One file per command; this one wires them together.
#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"hookd: an HTTPS webhook receiver with a durable outbox"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
