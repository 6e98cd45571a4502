// The token endpoint's brute-force throttle: per (client id, source), with ceilings per
// client id and per source, counting both secret forms of client_secret_basic, not
// flushable by a flood of fresh keys, and a rate-limited failure warning.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/test/unit_test.hpp>

#include <sstream>

#include "oauth_fixture.hpp"

using namespace hookd;
using namespace hookd::auth;
using namespace hookd::test::oauth;
namespace json = boost::json;
using std::chrono::seconds;

BOOST_AUTO_TEST_SUITE(auth_oauth_throttle)

// issue 24 item 5: the strict bucket is per (client id, source). Five wrong secrets from one
// source block that client from that source, even with the right secret; the client itself
// still gets tokens from its own address (knowing an id no longer locks it out).
BOOST_AUTO_TEST_CASE(throttling_per_client_and_source) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i) {
    auto r = f.post(good, basic("jofi", "guess" + std::to_string(i)), "203.0.113.7");
    BOOST_TEST(r.status == 401u);
  }
  auto blocked = f.post(good, basic("jofi", "s3cret"), "203.0.113.7");
  BOOST_TEST(blocked.status == 429u);
  BOOST_TEST(error_of(blocked) == "temporarily_unavailable");
  BOOST_TEST(header(blocked, "Retry-After") == "12");
  // The real client, elsewhere, is not affected; nor is another client from that source.
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "198.51.100.1"));
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "203.0.113.7"));
  f.now += seconds(5);
  BOOST_TEST(header(f.post(good, basic("jofi", "s3cret"), "203.0.113.7"), "Retry-After") == "7");
  f.now += seconds(7);  // one try earned: a wrong guess blocks again at once
  BOOST_TEST(f.post(good, basic("jofi", "guess5"), "203.0.113.7").status == 401u);
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.7").status == 429u);
  f.now += seconds(12);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "203.0.113.7"));
}

// The client-wide ceiling (here 20, one back per second): many sources failing for one id
// block it everywhere, and each refusal it causes is counted (the metric).
BOOST_AUTO_TEST_CASE(a_client_wide_ceiling_takes_many_sources) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int source = 0; source < 5; ++source) {
    for (int i = 0; i < 4; ++i) {  // under the strict limit of each source
      auto r = f.post(good, basic("jofi", "guess"), "203.0.113." + std::to_string(source));
      BOOST_TEST(r.status == 401u);
    }
  }
  BOOST_TEST(f.ceiling_hits == 0);
  auto r = f.post(good, basic("jofi", "s3cret"), "198.51.100.50");
  BOOST_TEST(r.status == 429u);
  BOOST_TEST(f.ceiling_hits == 1);
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "198.51.100.50"));
  f.now += seconds(1);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "198.51.100.50"));
}

// client_secret_basic tests two secret forms when they differ (the url-decoded pair and
// the raw one): each counts. "gu%21ss" decodes to "gu!ss": 3 requests are 6 guesses.
BOOST_AUTO_TEST_CASE(both_secret_forms_count) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(f.post(good, basic("jofi", "gu%21ss" + std::to_string(i)), "203.0.113.8").status ==
               401u);
  }
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.8").status == 429u);
  // A secret with nothing to decode is one guess: 4 of them leave the 5th try.
  for (int i = 0; i < 4; ++i) f.post(good, basic("jofi", "plain" + std::to_string(i)), "203.0.113.9");
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "203.0.113.9"));
}

// One source spraying a secret over many ids meets the per-source ceiling (20 here); IPv6
// sources count by their /48, so a site's many /64s are one source.
BOOST_AUTO_TEST_CASE(a_source_spraying_ids_meets_its_ceiling) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 20; ++i) {
    f.post(good, basic("user" + std::to_string(i), "change-me"),
           "2001:db8:1:" + std::to_string(i + 1) + "::1");
  }
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "2001:db8:1:ff::1").status == 429u);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "2001:db8:2::1"));
  f.now += seconds(1);
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "2001:db8:1:ff::1"));
}

// Issue 14 (5): 10,050 failures for unknown clients from fresh addresses used to evict the
// blocked client's counter (~5 guesses per 10,000 requests instead of 5 per minute).
BOOST_AUTO_TEST_CASE(throttle_cannot_be_flushed) {
  Fixture f(Throttle::Limits{5, seconds(12), 1000});  // a table the flood overflows 20 times
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 5; ++i) f.post(good, basic("jofi", "guess"), "203.0.113.9");
  BOOST_REQUIRE_EQUAL(f.post(good, basic("jofi", "s3cret"), "203.0.113.9").status, 429u);
  auto address = [](int i) {
    return "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
           std::to_string(i & 255);
  };
  // One unknown id from fresh addresses, then a fresh unknown id each time.
  for (int i = 0; i < 10'050; ++i) f.post(good, basic("nosuch", "x"), address(i));
  for (int i = 0; i < 10'050; ++i) {
    f.post(good, basic("nosuch-" + std::to_string(i), "x"), address(20'000 + i));
  }
  f.now += seconds(1);
  BOOST_TEST(f.post(good, basic("jofi", "guess-6"), "203.0.113.9").status == 429u);
  BOOST_TEST(f.post(good, basic("jofi", "s3cret"), "203.0.113.9").status == 429u);
  // The flood blocked nobody else.
  f.issue_ok(f.post(good, basic("a:b", "p@ss word+%"), "198.51.100.4"));
  f.issue_ok(f.post(good, basic("jofi", "s3cret"), "198.51.100.5"));
}

// Issue 14 (6): a 429 must not tell which client ids exist.
BOOST_AUTO_TEST_CASE(unknown_client_ids_are_throttled_like_known_ones) {
  Fixture f;
  const std::string good = "grant_type=client_credentials";
  for (const std::string id : {"jofi", "nosuch"}) {
    for (int i = 0; i < 5; ++i) {
      auto r = f.post(good, basic(id, "guess"), "203.0.113.10");
      BOOST_TEST(r.status == 401u);
    }
    auto r = f.post(good, basic(id, "guess"), "203.0.113.10");
    BOOST_TEST(r.status == 429u, id);
    BOOST_TEST(header(r, "Retry-After") == "12");
  }
  // client_secret_post the same way.
  auto r =
      f.post("grant_type=client_credentials&client_id=nosuch&client_secret=x", {}, "203.0.113.10");
  BOOST_TEST(r.status == 429u);
}

// The warning per failure is rate-limited: a guesser cannot flood the log.
BOOST_AUTO_TEST_CASE(failure_warnings_are_rate_limited) {
  Fixture f;
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink);
  const std::string good = "grant_type=client_credentials";
  for (int i = 0; i < 1000; ++i) {
    f.post(good, basic("user-" + std::to_string(i), "x"),
           "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250));
  }
  f.now += seconds(1);
  f.post(good, basic("last", "x"), "10.9.9.9");
  logger->sinks().pop_back();
  const std::string text = captured.str();
  std::size_t lines = 0;
  for (auto at = text.find("client authentication failed"); at != std::string::npos;
       at = text.find("client authentication failed", at + 1)) {
    ++lines;
  }
  BOOST_TEST(lines == 2u, text);
  BOOST_TEST(text.find("(999 more failures since the last line, not logged)") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
