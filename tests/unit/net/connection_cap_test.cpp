// webhook_connection_cap: the webhook listener's share of the descriptor limit, beside the
// reserve and the caps of the plain-HTTP listeners that are configured.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>

#include "hookd/config/config.hpp"
#include "hookd/net/server.hpp"

using hookd::net::kDescriptorReserve;
using hookd::net::webhook_connection_cap;

BOOST_AUTO_TEST_SUITE(net_connection_cap)

BOOST_AUTO_TEST_CASE(the_descriptor_limit_bounds_the_webhook_listener) {
  hookd::config::Config c;
  c.server.limits.max_connections = 10000;
  c.server.limits.max_admin_connections = 64;
  c.server.limits.max_acme_http_connections = 16;
  c.admin.listen = {"127.0.0.1:9090"};
  // No limit, or a generous one: max_connections.
  BOOST_TEST(webhook_connection_cap(c, std::numeric_limits<std::uint64_t>::max()) == 10000u);
  BOOST_TEST(webhook_connection_cap(c, 1'048'576) == 10000u);
  // 256 files: the reserve and the admin listener's cap come first.
  BOOST_TEST(webhook_connection_cap(c, 256) == 256u - kDescriptorReserve - 64u);
  // Without an admin listener its cap keeps nothing; with http-01 that listener's does.
  c.admin.listen.clear();
  BOOST_TEST(webhook_connection_cap(c, 256) == 256u - kDescriptorReserve);
  c.server.tls.acme.emplace();
  c.server.tls.acme->challenge = hookd::config::AcmeConfig::Challenge::http_01;
  BOOST_TEST(webhook_connection_cap(c, 256) == 256u - kDescriptorReserve - 16u);
  // A limit below what is kept still serves one connection.
  BOOST_TEST(webhook_connection_cap(c, 100) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
