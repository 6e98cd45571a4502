// restart_only_changes: every section a reload does not apply is named when it changed, and
// only those.
#include "hookd/config/restart.hpp"

#include <boost/test/unit_test.hpp>

using namespace hookd::config;

BOOST_AUTO_TEST_SUITE(config_restart)

BOOST_AUTO_TEST_CASE(names_each_changed_section) {
  Config running;
  BOOST_TEST(restart_only_changes(running, running).empty());

  Config next = running;
  next.server.limits.max_body *= 2;
  next.storage.retention.done = std::chrono::hours(1);
  BOOST_TEST(
      restart_only_changes(running, next) == (std::vector<std::string>{"server.limits", "storage"}),
      boost::test_tools::per_element());

  next = running;
  next.server.listen = {"127.0.0.1:1"};
  next.server.tls.min_version = "1.3";
  next.server.io_threads = 3;
  next.server.shutdown_grace = std::chrono::seconds(1);
  next.admin.listen.clear();
  next.storage.batch.max_events = 1;
  next.workers.threads = 9;
  BOOST_TEST(
      restart_only_changes(running, next) ==
          (std::vector<std::string>{"server.listen", "server.tls.min_version", "server.io_threads",
                                    "server.shutdown_grace", "admin", "storage", "workers"}),
      boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tls_certificates_reload_but_the_listeners_do_not) {
  Config running;
  Config next = running;
  next.server.tls.cert = "other.pem";  // re-read at each reload
  next.server.tls.key = "other.key";
  BOOST_TEST(restart_only_changes(running, next).empty());

  next.server.tls.acme.emplace();  // files → ACME
  BOOST_TEST(restart_only_changes(running, next) == (std::vector<std::string>{"server.tls.acme"}),
             boost::test_tools::per_element());

  running = next;
  next.server.tls.acme->names = {"b.example.com"};  // names, CA, renew_before: applied
  next.server.tls.acme->renew_before = std::chrono::hours(24);
  BOOST_TEST(restart_only_changes(running, next).empty());
  next.server.tls.acme->challenge = AcmeConfig::Challenge::http_01;  // a listener to bind
  BOOST_TEST(restart_only_changes(running, next) ==
                 (std::vector<std::string>{"server.tls.acme.challenge/http_listen"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(what_a_reload_applies_is_not_named) {
  Config running;
  Config next = running;
  next.workers.retry.max_attempts = 2;  // resolved into each handler, which a reload replaces
  next.routes.push_back(RouteConfig{});
  next.plugins.push_back(PluginConfig{});
  next.oauth.emplace();
  BOOST_TEST(restart_only_changes(running, next).empty());
}

BOOST_AUTO_TEST_SUITE_END()
