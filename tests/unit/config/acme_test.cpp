// server.tls.acme: a good block, and each mistake an order would only reveal at the CA
// reported at its FILE:LINE:COL.
#include <boost/test/unit_test.hpp>

#include "helpers.hpp"

using namespace hookd::config;
using namespace hookd::config::test;

namespace {

std::string with_acme(const std::string& acme_lines) {
  return "server:\n  listen: 127.0.0.1:8443\n  tls:\n    acme:\n" + acme_lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_acme)

BOOST_AUTO_TEST_CASE(reads_every_key) {
  auto c = load_ok(with_acme("      names: [Hooks.Example.com, 192.0.2.7, \"2001:db8::1\"]\n"
                             "      email: ops@example.com\n"
                             "      agree_tos: true\n"
                             "      directory: https://127.0.0.1:14000/dir\n"
                             "      challenge: http-01\n"
                             "      http_listen: 127.0.0.1:8080\n"
                             "      ca_bundle: /etc/hookd/acme-ca.pem\n"
                             "      eab: { kid: kid-1, hmac_key: \"${env:EAB}\" }\n"
                             "      renew_before: 30d\n"),
                   {{"EAB", "c2VjcmV0LWtleQ"}});
  BOOST_REQUIRE(c.server.tls.acme.has_value());
  const AcmeConfig& a = *c.server.tls.acme;
  BOOST_TEST(a.names == (std::vector<std::string>{"hooks.example.com", "192.0.2.7", "2001:db8::1"}),
             boost::test_tools::per_element());
  BOOST_TEST(a.email == "ops@example.com");
  BOOST_TEST(a.agree_tos);
  BOOST_TEST(a.directory == "https://127.0.0.1:14000/dir");
  BOOST_TEST((a.challenge == AcmeConfig::Challenge::http_01));
  BOOST_TEST(a.http_listen == "127.0.0.1:8080");
  BOOST_TEST(a.ca_bundle == "/etc/hookd/acme-ca.pem");
  BOOST_TEST(a.eab_kid == "kid-1");
  BOOST_TEST(a.eab_hmac_key.str() == "c2VjcmV0LWtleQ");
  BOOST_REQUIRE(a.renew_before.has_value());
  BOOST_TEST(a.renew_before->count() == 30LL * 24 * 3600 * 1000);
}

BOOST_AUTO_TEST_CASE(defaults) {
  auto c = load_ok(with_acme("      names: [hooks.example.com]\n      agree_tos: true\n"));
  const AcmeConfig& a = *c.server.tls.acme;
  BOOST_TEST(a.directory == "https://acme-v02.api.letsencrypt.org/directory");
  BOOST_TEST((a.challenge == AcmeConfig::Challenge::tls_alpn_01));
  BOOST_TEST(a.http_listen == "0.0.0.0:80");
  BOOST_TEST(!a.renew_before.has_value());
  BOOST_TEST(a.eab_kid.empty());
  BOOST_TEST(!load_ok("{}").server.tls.acme.has_value());
}

BOOST_AUTO_TEST_CASE(a_wildcard_is_an_error_at_its_position) {
  auto e =
      one_error(with_acme("      names: [hooks.example.com, \"*.example.com\"]\n"
                          "      agree_tos: true\n"));
  BOOST_TEST(e.str().find("test.yaml:5:") == 0, e.str());
  BOOST_TEST(e.str().find("wildcard") != std::string::npos, e.str());
}

BOOST_AUTO_TEST_CASE(each_mistake_is_named) {
  struct Case {
    std::string lines;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"      names: [hooks.example.com]\n", "agree_tos: true"},
      {"      names: [hooks.example.com]\n      agree_tos: false\n", "agree_tos: true"},
      {"      agree_tos: true\n", "needs names"},
      {"      names: []\n      agree_tos: true\n", "at least one name"},
      {"      names: [hooks_example.com]\n      agree_tos: true\n", "expected a DNS name"},
      {"      names: [a.example.com, A.example.com]\n      agree_tos: true\n", "listed twice"},
      {"      names: [a.example.com]\n      agree_tos: true\n      directory: http://ca/dir\n",
       "https:// URL"},
      {"      names: [a.example.com]\n      agree_tos: true\n      challenge: dns-01\n",
       "dns-01 is not supported"},
      {"      names: [a.example.com]\n      agree_tos: true\n      email: nobody\n",
       "email address"},
      {"      names: [a.example.com]\n      agree_tos: true\n      eab: { kid: k }\n",
       "needs both kid and hmac_key"},
      {"      names: [a.example.com]\n      agree_tos: true\n"
       "      eab: { kid: k, hmac_key: \"not base64url!\" }\n",
       "base64url"},
      {"      names: [a.example.com]\n      agree_tos: true\n      http_listen: 127.0.0.1:8443\n",
       "the same address as server.listen"},
      {"      names: [a.example.com]\n      agree_tos: true\n      renew_before: 0s\n",
       "renew_before"},
      {"      names: [a.example.com]\n      agree_tos: true\n      colour: blue\n", "colour"},
  };
  for (const auto& c : cases) {
    auto r = load(with_acme(c.lines));
    std::string errors = all_errors(r);
    BOOST_TEST_INFO(c.lines);
    BOOST_TEST(!r.ok());
    BOOST_TEST(errors.find(c.expected) != std::string::npos, errors);
    BOOST_TEST(errors.find("test.yaml:") == 0, errors);
  }
}

BOOST_AUTO_TEST_CASE(the_eab_key_never_appears_in_an_error) {
  auto r =
      load(with_acme("      names: [a.example.com]\n      agree_tos: true\n"
                     "      eab: { kid: k, hmac_key: \"s3cr3t!value\" }\n"));
  BOOST_TEST(!r.ok());
  BOOST_TEST(all_errors(r).find("s3cr3t") == std::string::npos, all_errors(r));
}

BOOST_AUTO_TEST_SUITE_END()
