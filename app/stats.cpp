// `hookd stats`: delivery counts per route and state, and the age of the oldest pending
// delivery, read from the store while the server runs.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/config/config.hpp"
#include "hookd/outbox/queries.hpp"

namespace hookd::app {
namespace {

namespace json = boost::json;

int print_stats(const config::Config& cfg, sqlite3* db, bool as_json) {
  auto s = outbox::stats(db, outbox::unix_now_us());
  // Configured routes without events yet show as zeros, so a script sees every route.
  for (const auto& route : cfg.routes) s.routes.try_emplace(route.name);
  if (as_json) {
    json::object routes;
    for (const auto& [name, r] : s.routes) {
      routes[name] =
          json::object{{"pending", r.pending}, {"running", r.running},     {"done", r.done},
                       {"dead", r.dead},       {"unmatched", r.unmatched}, {"events", r.events}};
    }
    json::object o;
    o["routes"] = std::move(routes);
    o["oldest_pending_age_seconds"] = s.oldest_pending_age_seconds
                                          ? json::value(*s.oldest_pending_age_seconds)
                                          : json::value(nullptr);
    fmt::print("{}\n", json::serialize(o));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{
      {"ROUTE", "EVENTS", "UNMATCHED", "PENDING", "RUNNING", "DONE", "DEAD"}};
  for (const auto& [name, r] : s.routes) {
    rows.push_back({name, std::to_string(r.events), std::to_string(r.unmatched),
                    std::to_string(r.pending), std::to_string(r.running), std::to_string(r.done),
                    std::to_string(r.dead)});
  }
  print_table(rows);
  if (s.oldest_pending_age_seconds) {
    fmt::print("\noldest pending delivery: received {:.1f} s ago\n", *s.oldest_pending_age_seconds);
  } else {
    fmt::print("\noldest pending delivery: none pending\n");
  }
  return kExitOk;
}

}  // namespace

Command add_stats(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "stats", "Delivery counts per route and state, and the oldest pending delivery's age");
  struct Options {
    std::string config = kDefaultConfig;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  sub->add_flag("--json", o->json, "One JSON object");
  return {sub, [o] {
            return with_store(o->config, false, [&](const config::Config& cfg, sqlite3* db) {
              return print_stats(cfg, db, o->json);
            });
          }};
}

}  // namespace hookd::app
