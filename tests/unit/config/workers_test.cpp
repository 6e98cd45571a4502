// The workers and plugins sections and route handlers: defaults, retry overrides, type
// patterns, references to unknown plugins, plugin config blocks with substitution, plugin
// environment lists.
#include <boost/test/unit_test.hpp>

#include <yaml-cpp/yaml.h>

#include "helpers.hpp"

using namespace hookd::config;
using hookd::config::test::all_errors;
using hookd::config::test::load;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

namespace {

const std::string kPlugins =
    "plugins:\n"
    "  log: { library: plugins/libhookd_log.so, config: { path: data/events.jsonl } }\n"
    "  jofi: { library: /opt/hookd/libhookd_jofi.so }\n";

std::string with_handlers(const std::string& handlers, const std::string& extra = "") {
  return kPlugins + extra + "routes:\n  - name: r\n    path: /r\n    auth: none\n    handlers:\n" +
         handlers;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_workers)

BOOST_AUTO_TEST_CASE(defaults_match_the_contract) {
  auto c = load_ok("routes: []\n");
  BOOST_TEST(c.workers.threads == 4u);
  BOOST_TEST(c.workers.handler_timeout.count() == 30000);
  BOOST_TEST(c.workers.retry.max_attempts == 12u);
  BOOST_TEST(c.workers.retry.initial_backoff.count() == 1000);
  BOOST_TEST(c.workers.retry.max_backoff.count() == 3600 * 1000);
  BOOST_TEST(c.workers.retry.multiplier == 2.0);
  BOOST_TEST((c.workers.retry.jitter == RetryConfig::Jitter::full));
  BOOST_TEST((c.workers.isolation == Isolation::process));
  BOOST_TEST(c.workers.max_crashes == 3u);
  BOOST_TEST(c.plugins.empty());
}

BOOST_AUTO_TEST_CASE(isolation_and_limits) {
  auto c = load_ok(
      "workers: { isolation: thread, max_crashes: 5 }\n"
      "plugins:\n"
      "  a: { library: a.so }\n"
      "  b: { library: b.so, isolation: process, memory_limit: 512MiB, cpu_limit: 2s }\n"
      "routes: []\n");
  BOOST_TEST((c.workers.isolation == Isolation::thread));
  BOOST_TEST(c.workers.max_crashes == 5u);
  BOOST_TEST(!c.plugins[0].isolation.has_value());
  BOOST_TEST((c.plugins[0].isolation_or(c.workers.isolation) == Isolation::thread));
  BOOST_TEST((c.plugins[1].isolation_or(c.workers.isolation) == Isolation::process));
  BOOST_TEST(c.plugins[1].memory_limit == 512ull << 20);
  BOOST_TEST(c.plugins[1].cpu_limit.count() == 2000);
  BOOST_TEST(c.plugins[0].memory_limit == 0u);

  auto errors = load(
                    "workers: { isolation: fork, max_crashes: 0 }\n"
                    "plugins:\n"
                    "  a: { library: a.so, isolation: none, memory_limit: 1MiB, cpu_limit: 0s }\n"
                    "routes: []\n")
                    .errors;
  BOOST_REQUIRE_EQUAL(errors.size(), 5u);
  BOOST_TEST(errors[0].str() ==
             "test.yaml:1:23: workers.isolation: expected process or thread, got 'fork'");
  BOOST_TEST(errors[1].message.find("workers.max_crashes") != std::string::npos);
  BOOST_TEST(errors[2].message.find("plugins.a.isolation: expected process or thread") !=
             std::string::npos);
  BOOST_TEST(errors[3].message.find("plugins.a.memory_limit: must be at least 67108864 bytes") !=
                 std::string::npos,
             errors[3].message);
  BOOST_TEST(errors[4].message.find("plugins.a.cpu_limit: must be greater than 0") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(full_example) {
  auto c = load_ok(with_handlers(
      "      - { plugin: log, types: [\"*\"] }\n"
      "      - plugin: jofi\n"
      "        types: [\"test_taker.*\", \"invitation.*\"]\n"
      "        concurrency: 4\n"
      "        ordered_by: json:/data/participant_id\n"
      "        retry: { max_attempts: 5 }\n",
      "workers:\n  threads: 2\n  handler_timeout: 5s\n"
      "  retry: { max_attempts: 3, initial_backoff: 100ms, max_backoff: 1m, multiplier: 3, "
      "jitter: none }\n"));
  BOOST_TEST(c.workers.threads == 2u);
  BOOST_TEST(c.workers.handler_timeout.count() == 5000);
  BOOST_REQUIRE_EQUAL(c.plugins.size(), 2u);
  BOOST_TEST(c.plugins[0].name == "log");
  BOOST_TEST(c.plugins[0].library == "plugins/libhookd_log.so");
  BOOST_TEST(YAML::Load(c.plugins[0].config_yaml)["path"].as<std::string>() == "data/events.jsonl");
  BOOST_TEST(c.plugins[1].config_yaml.empty());
  const auto& hs = c.routes[0].handlers;
  BOOST_REQUIRE_EQUAL(hs.size(), 2u);
  BOOST_TEST(hs[0].retry.max_attempts == 3u);  // the global policy
  BOOST_TEST(hs[0].retry.multiplier == 3.0);
  BOOST_TEST(hs[0].concurrency == 0u);
  BOOST_TEST(!hs[0].ordered_by.set());
  BOOST_TEST(hs[1].retry.max_attempts == 5u);              // overridden ...
  BOOST_TEST(hs[1].retry.initial_backoff.count() == 100);  // ... the rest inherited
  BOOST_TEST((hs[1].retry.jitter == RetryConfig::Jitter::none));
  BOOST_TEST(hs[1].concurrency == 4u);
  BOOST_TEST((hs[1].ordered_by.kind == FieldRef::Kind::json));
  BOOST_TEST(hs[1].ordered_by.name == "/data/participant_id");
}

BOOST_AUTO_TEST_CASE(type_patterns) {
  HandlerConfig h;
  h.types = {"invitation.*", "test_taker.assessment_completed"};
  BOOST_TEST(h.matches("invitation.created"));
  BOOST_TEST(h.matches("invitation.a.b"));
  BOOST_TEST(!h.matches("invitation"));
  BOOST_TEST(!h.matches("invitations.created"));
  BOOST_TEST(h.matches("test_taker.assessment_completed"));
  BOOST_TEST(!h.matches("test_taker.started"));
  BOOST_TEST(!h.matches(""));
  h.types = {"*"};
  BOOST_TEST(h.matches(""));
  BOOST_TEST(h.matches("anything"));
}

BOOST_AUTO_TEST_CASE(bad_type_patterns) {
  auto e = one_error(with_handlers("      - { plugin: log, types: [\"invitation*\"] }\n"));
  BOOST_TEST(e.message.find("'*' only stands alone or ends a prefix") != std::string::npos);
  auto f = one_error(with_handlers("      - { plugin: log, types: [\"*.created\"] }\n"));
  BOOST_TEST(f.message.find("routes[0].handlers[0].types[0]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_plugin_is_an_error_at_the_handler) {
  auto e = one_error(with_handlers("      - { plugin: lgo, types: [\"*\"] }\n"));
  BOOST_TEST(e.str() ==
             "test.yaml:9:9: route 'r': handler plugin 'lgo' is not in the "
             "`plugins` section");
}

// The docs once said plugins are configured in a handler: the error says where it goes.
BOOST_AUTO_TEST_CASE(a_handler_config_key_points_at_the_plugins_section) {
  auto e = one_error(with_handlers("      - { plugin: log, types: [\"*\"], config: { a: 1 } }\n"));
  BOOST_TEST(e.str().starts_with("test.yaml:9:38: routes[0].handlers[0].config: "), e.str());
  BOOST_TEST(e.message.find("plugins.NAME.config") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(required_keys_and_duplicates) {
  auto errors = load(with_handlers("      - { plugin: log }\n"
                                   "      - { types: [a] }\n"
                                   "      - { plugin: log, types: [b] }\n"))
                    .errors;
  BOOST_REQUIRE_EQUAL(errors.size(), 3u);
  BOOST_TEST(errors[0].message.find("missing the required key 'types'") != std::string::npos);
  BOOST_TEST(errors[1].message.find("missing the required key 'plugin'") != std::string::npos);
  BOOST_TEST(errors[2].message.find("already a handler of this route") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_worker_values) {
  auto errors = load(
                    "workers:\n  threads: 0\n  handler_timeout: 0s\n"
                    "  retry: { max_attempts: 0, multiplier: 0.5, jitter: half, backoff: 1s }\n")
                    .errors;
  BOOST_REQUIRE_EQUAL(errors.size(), 6u);
  BOOST_TEST(errors[0].str() ==
             "test.yaml:2:12: workers.threads: expected a positive integer, got '0'");
  BOOST_TEST(errors[1].message.find("must be greater than 0") != std::string::npos);
  BOOST_TEST(errors[2].message.find("workers.retry.max_attempts") != std::string::npos);
  BOOST_TEST(errors[3].message.find("a number from 1 to 10") != std::string::npos);
  BOOST_TEST(errors[4].message.find("expected full or none") != std::string::npos);
  BOOST_TEST(errors[5].message.find("unknown key 'backoff'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(max_backoff_below_initial_is_refused) {
  auto e =
      one_error(with_handlers("      - { plugin: log, types: [\"*\"], retry: { initial_backoff: "
                              "1m, max_backoff: 1s } }\n"));
  BOOST_TEST(e.message.find("max_backoff is shorter than initial_backoff") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(plugin_config_is_substituted_and_must_be_a_map) {
  auto c = load_ok(
      "plugins:\n  fwd: { library: x.so, config: { resign: { secret: \"${env:S}\" }, "
      "n: [1, \"${env:S}\"] } }\n",
      {{"S", "whsec_abc"}});
  auto node = YAML::Load(c.plugins[0].config_yaml);
  BOOST_TEST(node["resign"]["secret"].as<std::string>() == "whsec_abc");
  BOOST_TEST(node["n"][1].as<std::string>() == "whsec_abc");
  auto e = one_error("plugins:\n  log: { library: x.so, config: [a] }\n");
  BOOST_TEST(e.message.find("expected a map") != std::string::npos);
  auto f = one_error("plugins:\n  log: { config: {} }\n");
  BOOST_TEST(f.message.find("missing the required key 'library'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(plugin_env_lists_variable_names) {
  auto c = load_ok(
      "plugins:\n"
      "  a: { library: a.so, env: [AWS_PROFILE, _private, ssh_auth_sock2] }\n"
      "  b: { library: b.so, env: GIT_SSH_COMMAND }\n"
      "  c: { library: c.so, env: [] }\n"
      "  d: { library: d.so }\n"
      "routes: []\n");
  using Names = std::vector<std::string>;
  BOOST_TEST(c.plugins[0].env == (Names{"AWS_PROFILE", "_private", "ssh_auth_sock2"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.plugins[1].env == Names{"GIT_SSH_COMMAND"}, boost::test_tools::per_element());
  BOOST_TEST(c.plugins[2].env.empty());
  BOOST_TEST(c.plugins[3].env.empty());

  // Each bad element at its own line and column; a secret's value is never shown.
  const auto r = load(
      "plugins:\n"
      "  a:\n"
      "    library: a.so\n"
      "    env: [GOOD, 9LIVES, 'FOO=bar', GOOD, '${env:TOKEN}']\n"
      "  b: { library: b.so, env: { A: x } }\n"
      "routes: []\n",
      {{"TOKEN", "not a name"}});
  BOOST_TEST_INFO("errors:\n" << all_errors(r));
  BOOST_REQUIRE_EQUAL(r.errors.size(), 5u);
  BOOST_TEST(r.errors[0].str() ==
             "test.yaml:4:17: plugins.a.env[1]: expected an environment variable name (letters, "
             "digits and '_', not starting with a digit), got '9LIVES'");
  BOOST_TEST(r.errors[1].str().starts_with("test.yaml:4:25: plugins.a.env[2]: expected an "),
             r.errors[1].str());
  BOOST_TEST(r.errors[1].str().ends_with("got 'FOO=bar'"), r.errors[1].str());
  BOOST_TEST(r.errors[2].str() == "test.yaml:4:36: plugins.a.env[3]: 'GOOD' is listed twice");
  BOOST_TEST(r.errors[3].str().starts_with("test.yaml:4:42: plugins.a.env[4]: "),
             r.errors[3].str());
  BOOST_TEST(all_errors(r).find("not a name") == std::string::npos);
  BOOST_TEST(r.errors[4].str() ==
             "test.yaml:5:28: plugins.b.env: expected a list of environment variable names, "
             "got a map");
}

BOOST_AUTO_TEST_CASE(plugin_env_under_thread_isolation_is_a_note) {
  const auto r = load(
      "workers: { isolation: thread }\n"
      "plugins:\n"
      "  a: { library: a.so, env: [AWS_PROFILE] }\n"
      "  b: { library: b.so, env: [AWS_PROFILE], isolation: process }\n"
      "  c: { library: c.so }\n"
      "routes: []\n");
  BOOST_TEST(r.ok(), all_errors(r));
  BOOST_REQUIRE_EQUAL(r.notes.size(), 1u);
  BOOST_TEST(r.notes[0].starts_with("plugins.a.env (test.yaml:3:28) has no effect"), r.notes[0]);
}

BOOST_AUTO_TEST_SUITE_END()
