// `hookd replay ID... | --dead [--route R]`: puts dead (and, by id, done) deliveries back
// to pending, from a short write transaction next to the running server.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/outbox/queries.hpp"

namespace hookd::app {

Command add_replay(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "replay",
      "Put deliveries back to pending (attempts reset to 0): the dead and done ones of the "
      "given event ids, or with --dead every dead one (of --route R)");
  struct Options {
    std::string config = kDefaultConfig;
    std::vector<std::string> ids;
    bool dead = false;
    std::string route;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* ids = sub->add_option("ids", o->ids, "Event ids");
  auto* dead = sub->add_flag("--dead", o->dead, "Every dead delivery (of --route when given)");
  ids->excludes(dead);
  sub->add_option("--route", o->route, "Only this route (with ids: the route they belong to)");
  sub->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  sub->add_flag("--json", o->json, R"(Print {"replayed": N})");
  return {sub, [o] {
            if (o->ids.empty() && !o->dead) {
              fmt::print(stderr, "replay: give event ids or --dead (see --help)\n");
              return kExitUserError;
            }
            return with_store(o->config, true, [&](const config::Config&, sqlite3* db) {
              outbox::ReplayRequest request;
              request.ids = o->ids;
              request.dead_only = o->dead;
              if (!o->route.empty()) request.route = o->route;
              auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
              std::size_t n = outbox::replay(db, request, now);
              if (o->json) {
                fmt::print("{}\n", boost::json::serialize(boost::json::object{{"replayed", n}}));
              } else {
                fmt::print("{} deliver{} put back to pending\n", n, n == 1 ? "y" : "ies");
              }
              return kExitOk;
            });
          }};
}

}  // namespace hookd::app
