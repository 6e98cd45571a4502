// parse_listen_address: host:port and [v6]:port forms, port range, host syntax.
#include "hookd/config/address.hpp"

#include <boost/test/unit_test.hpp>

using namespace hookd::config;

BOOST_AUTO_TEST_SUITE(config_address)

BOOST_AUTO_TEST_CASE(ipv4_ipv6_and_names) {
  auto a = parse_listen_address("0.0.0.0:8443");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "0.0.0.0");
  BOOST_TEST(a->port == 8443);
  BOOST_TEST(!a->v6);

  auto b = parse_listen_address("[::1]:9090");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->host == "::1");
  BOOST_TEST(b->port == 9090);
  BOOST_TEST(b->v6);

  auto c = parse_listen_address("127.0.0.1:0");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->port == 0);

  BOOST_TEST(parse_listen_address("[::]:65535").value().port == 65535);
  BOOST_TEST(parse_listen_address("localhost:9090").value().host == "localhost");
  BOOST_TEST(parse_listen_address("hooks.example.com:443").has_value());
}

BOOST_AUTO_TEST_CASE(rejected) {
  for (const char* bad : {"",
                          "8443",
                          ":8443",
                          "0.0.0.0",
                          "0.0.0.0:",
                          "0.0.0.0:65536",
                          "0.0.0.0:99999",
                          "0.0.0.0:-1",
                          "0.0.0.0:80a",
                          "0.0.0.0:123456",
                          "::1:8443",
                          "[::1]8443",
                          "[::1]:",
                          "[127.0.0.1]:80",
                          "[zz]:80",
                          "1.2.3.4.5:80",
                          "300.1.1.1:80",
                          "bad_host:80",
                          "-host:80",
                          "host-:80",
                          "a..b:80",
                          "exa mple:80"}) {
    BOOST_TEST_INFO("input: '" << bad << "'");
    BOOST_TEST(!parse_listen_address(bad).has_value());
  }
}

BOOST_AUTO_TEST_SUITE_END()
