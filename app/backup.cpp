// `hookd backup DEST [-c FILE] [--force]`: an online copy of the store (outbox/backup.hpp).
#include <fmt/format.h>

#include <system_error>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/outbox/backup.hpp"
#include "hookd/outbox/sqlite.hpp"

namespace hookd::app {

Command add_backup(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "backup",
      "Write a consistent copy of the store to DEST, atomically (works while the server runs)");
  struct Options {
    std::string config = kDefaultConfig;
    std::string dest;
    bool force = false;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("dest", o->dest, "The backup file (a new file, mode 0600)")->required();
  sub->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  sub->add_flag("--force", o->force, "Replace DEST when it exists");
  return {sub, [o] {
            return with_store(o->config, false, [&](const config::Config& cfg, sqlite3* db) {
              try {
                const auto bytes = outbox::backup_store(
                    db, o->dest, o->force ? outbox::Overwrite::replace : outbox::Overwrite::refuse);
                fmt::print("backed up {} to {} ({} bytes)\n", cfg.storage.path, o->dest, bytes);
                return kExitOk;
              } catch (const outbox::StoreError& e) {
                fmt::print(stderr, "backup to {} failed: {}\n", o->dest, e.what());
              } catch (const std::system_error& e) {
                fmt::print(stderr, "backup to {} failed: {}\n", o->dest, e.what());
              }
              return kExitRuntimeError;
            });
          }};
}

}  // namespace hookd::app
