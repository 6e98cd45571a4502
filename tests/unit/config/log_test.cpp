// The `log` section (format, level; strict keys) and server.limits.max_event_id.
#include <boost/test/unit_test.hpp>

#include "helpers.hpp"
#include "hookd/config/restart.hpp"

using namespace hookd::config;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

BOOST_AUTO_TEST_SUITE(config_log)

BOOST_AUTO_TEST_CASE(defaults_are_text_at_info) {
  auto c = load_ok("");
  BOOST_TEST((c.log.format == LogConfig::Format::text));
  BOOST_TEST(c.log.level == "info");
  BOOST_TEST(c.server.limits.max_event_id == 256u);
}

BOOST_AUTO_TEST_CASE(format_and_level_are_read) {
  auto c = load_ok("log: { format: json, level: warn }\n");
  BOOST_TEST((c.log.format == LogConfig::Format::json));
  BOOST_TEST(c.log.level == "warn");
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    BOOST_TEST(load_ok(std::string("log: { level: ") + level + " }\n").log.level == level);
  }
}

BOOST_AUTO_TEST_CASE(bad_values_and_unknown_keys_are_errors_at_their_place) {
  auto e = one_error("log:\n  format: xml\n");
  BOOST_TEST(e.str() == "test.yaml:2:11: log.format: expected text or json, got 'xml'");
  e = one_error("log:\n  level: warning\n");
  BOOST_TEST(e.str().starts_with("test.yaml:2:10: log.level: expected trace, debug, info"),
             e.str());
  e = one_error("log:\n  levle: info\n");
  BOOST_TEST(e.where.line == 2);
  BOOST_TEST(e.where.column == 3);
  BOOST_TEST(e.message.find("levle") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(level_may_come_from_the_environment) {
  auto c = load_ok("log: { level: \"${env:LEVEL:-info}\" }\n", {{"LEVEL", "debug"}});
  BOOST_TEST(c.log.level == "debug");
}

BOOST_AUTO_TEST_CASE(max_event_id_is_a_limit_with_bounds) {
  auto c = load_ok("server: { limits: { max_event_id: 64 } }\n");
  BOOST_TEST(c.server.limits.max_event_id == 64u);
  auto e = one_error("server: { limits: { max_event_id: 0 } }\n");
  BOOST_TEST(e.message.find("server.limits.max_event_id") != std::string::npos, e.message);
  e = one_error("server: { limits: { max_event_id: 1000000 } }\n");
  BOOST_TEST(e.message.find("server.limits.max_event_id") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(a_reload_applies_level_and_id_limit_but_not_the_format) {
  auto a = load_ok("");
  auto b = load_ok("log: { level: debug }\nserver: { limits: { max_event_id: 64 } }\n");
  BOOST_TEST(restart_only_changes(a, b).empty());
  auto c = load_ok("log: { format: json }\n");
  BOOST_TEST(restart_only_changes(a, c) == std::vector<std::string>{"log.format"});
}

BOOST_AUTO_TEST_SUITE_END()
