// basic, ip_allow, any and the chain: verdicts, reasons, challenges, build errors.
#include <boost/test/unit_test.hpp>

#include "auth_values.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

using namespace hookd;
using namespace hookd::auth;

namespace {

http::Request with_auth(const std::string& value, std::string peer = "127.0.0.1") {
  http::Request r;
  static std::string stored;  // the view must outlive the request in these tests
  stored = value;
  r.headers = {{"Authorization", stored}};
  r.peer = std::move(peer);
  return r;
}

std::string basic_header(const std::string& user, const std::string& pass) {
  return "Basic " + crypto::base64_encode(user + ":" + pass);
}

config::BasicAuthConfig basic_config(const std::string& user, const std::string& pass,
                                     bool hashed = false) {
  config::BasicAuthConfig c;
  c.username = user;
  if (hashed) {
    c.password_sha256 = config::Secret(crypto::hex_encode(crypto::sha256(pass)));
  } else {
    c.password = config::Secret(pass);
  }
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_basic)

BOOST_AUTO_TEST_CASE(accepts_the_right_credentials_only) {
  for (bool hashed : {false, true}) {
    auto check = make_basic(basic_config("jofi", "p:ss w\xc3\xb6rd", hashed));
    Context ctx;
    BOOST_TEST(check->check(with_auth(basic_header("jofi", "p:ss w\xc3\xb6rd")), ctx).passed());
    BOOST_TEST(
        check->check(with_auth("basic   " + crypto::base64_encode("jofi:p:ss w\xc3\xb6rd")), ctx)
            .passed());
    auto wrong = check->check(with_auth(basic_header("jofi", "p:ss w\xc3\xb6rD")), ctx);
    BOOST_TEST((wrong.verdict == Verdict::unauthorized));
    BOOST_TEST(wrong.reason == "bad_credentials");
    BOOST_TEST(wrong.challenge.starts_with("Basic realm=\"hookd\""));
    BOOST_TEST(check->check(with_auth(basic_header("Jofi", "p:ss w\xc3\xb6rd")), ctx).reason ==
               "bad_credentials");
  }
}

BOOST_AUTO_TEST_CASE(missing_and_malformed) {
  auto check = make_basic(basic_config("u", "p"));
  Context ctx;
  http::Request none;
  BOOST_TEST(check->check(none, ctx).reason == "missing_credentials");
  BOOST_TEST(check->check(with_auth("Bearer abc"), ctx).reason == "missing_credentials");
  BOOST_TEST(check->check(with_auth("Basic !!!"), ctx).reason == "bad_credentials");
  BOOST_TEST(check->check(with_auth("Basic " + crypto::base64_encode("nocolon")), ctx).reason ==
             "bad_credentials");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_ip_allow)

BOOST_AUTO_TEST_CASE(ipv4_and_ipv6_networks) {
  auto check = make_ip_allow({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1/128"}, kWhere);
  Context ctx;
  auto from = [&](const std::string& peer) {
    http::Request r;
    r.peer = peer;
    return check->check(r, ctx);
  };
  BOOST_TEST(from("10.255.0.1").passed());
  BOOST_TEST(from("192.168.1.7").passed());
  BOOST_TEST(from("::ffff:10.1.2.3").passed());
  BOOST_TEST(from("2001:db8:ffff::1").passed());
  BOOST_TEST(from("::1").passed());
  auto denied = from("11.0.0.1");
  BOOST_TEST((denied.verdict == Verdict::forbidden));
  BOOST_TEST(denied.reason == "ip_denied");
  BOOST_TEST(!from("192.168.1.8").passed());
  BOOST_TEST(!from("2001:db9::1").passed());
  BOOST_TEST(!from("").passed());
  BOOST_TEST(!from("garbage").passed());
}

BOOST_AUTO_TEST_CASE(odd_prefixes) {
  auto check = make_ip_allow({"172.16.0.0/12", "0.0.0.0/0"}, kWhere);
  http::Request r;
  r.peer = "8.8.8.8";
  BOOST_TEST(check->check(r, Context{}).passed());
  auto narrow = make_ip_allow({"172.16.0.0/12"}, kWhere);
  r.peer = "172.31.255.255";
  BOOST_TEST(narrow->check(r, Context{}).passed());
  r.peer = "172.32.0.0";
  BOOST_TEST(!narrow->check(r, Context{}).passed());
}

BOOST_AUTO_TEST_CASE(bad_cidrs_fail_at_build_with_location) {
  for (std::string bad :
       {"10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "host.example", "10.0.0.0/8x"}) {
    try {
      make_ip_allow({bad}, kWhere);
      BOOST_FAIL("accepted " + bad);
    } catch (const BuildError& e) {
      BOOST_TEST(e.str().starts_with("hooks.yaml:12:9: ip_allow: '" + bad + "'"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_chain)

BOOST_AUTO_TEST_CASE(all_items_must_pass_in_order) {
  std::vector<std::unique_ptr<Check>> items;
  items.push_back(make_ip_allow({"127.0.0.0/8"}, kWhere));
  items.push_back(make_basic(basic_config("u", "p")));
  Chain chain(std::move(items));
  Context ctx;
  BOOST_TEST(chain.check(with_auth(basic_header("u", "p")), ctx).passed());
  BOOST_TEST(chain.check(with_auth(basic_header("u", "p"), "10.0.0.1"), ctx).reason == "ip_denied");
  BOOST_TEST(chain.check(with_auth(basic_header("u", "x")), ctx).reason == "bad_credentials");
  BOOST_TEST(Chain({}).check(http::Request{}, ctx).passed());
}

BOOST_AUTO_TEST_CASE(any_passes_on_one_and_answers_with_the_first_failure) {
  std::vector<std::unique_ptr<Check>> items;
  items.push_back(make_basic(basic_config("a", "1")));
  items.push_back(make_basic(basic_config("b", "2")));
  auto any = make_any(std::move(items));
  Context ctx;
  BOOST_TEST(any->check(with_auth(basic_header("a", "1")), ctx).passed());
  BOOST_TEST(any->check(with_auth(basic_header("b", "2")), ctx).passed());
  auto r = any->check(with_auth(basic_header("c", "3")), ctx);
  BOOST_TEST(r.reason == "bad_credentials");
  BOOST_TEST(!r.challenge.empty());
}

BOOST_AUTO_TEST_CASE(build_chain_from_config) {
  config::AuthConfig cfg;
  config::AuthItemConfig ip;
  ip.kind = config::AuthItemConfig::Kind::ip_allow;
  ip.ip_allow = {"127.0.0.1/32"};
  config::AuthItemConfig any;
  any.kind = config::AuthItemConfig::Kind::any;
  config::AuthItemConfig b;
  b.kind = config::AuthItemConfig::Kind::basic;
  b.basic = basic_config("u", "p");
  any.any = {b};
  cfg.items = {ip, any};
  auto chain = build_chain(cfg, BuildContext{});
  BOOST_TEST(chain->check(with_auth(basic_header("u", "p")), Context{}).passed());
  BOOST_TEST(!chain->check(with_auth(basic_header("u", "q")), Context{}).passed());

  config::AuthItemConfig bad = ip;
  bad.ip_allow = {"nope"};
  bad.where = kWhere;
  cfg.items = {bad};
  BOOST_CHECK_THROW(build_chain(cfg, BuildContext{}), BuildError);
}

BOOST_AUTO_TEST_SUITE_END()
