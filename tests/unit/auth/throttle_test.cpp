// Throttle: the failure bucket (burst, refill, Retry-After), its bounded table that a flood
// of new keys cannot flush, the overflow bucket, and peer keys.
#include "hookd/auth/throttle.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using hookd::auth::Throttle;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
const auto kT0 = std::chrono::system_clock::time_point(seconds(1'700'000'000));
}

BOOST_AUTO_TEST_SUITE(throttle)

BOOST_AUTO_TEST_CASE(blocks_after_burst_and_earns_one_try_per_refill) {
  Throttle t({3, seconds(10), 100});
  BOOST_TEST(t.retry_after("k", kT0).count() == 0);
  BOOST_TEST(!t.record_failure("k", kT0));
  BOOST_TEST(!t.record_failure("k", kT0));
  BOOST_TEST(t.retry_after("k", kT0).count() == 0);
  BOOST_TEST(t.record_failure("k", kT0));  // the third failure blocks
  BOOST_TEST(t.retry_after("k", kT0).count() == 10);
  BOOST_TEST(t.retry_after("k", kT0 + seconds(4)).count() == 6);
  BOOST_TEST(t.retry_after("other", kT0).count() == 0);  // keys are independent
  // After one refill, one more try; failing it blocks again at once.
  BOOST_TEST(t.retry_after("k", kT0 + seconds(10)).count() == 0);
  BOOST_TEST(t.record_failure("k", kT0 + seconds(10)));
  BOOST_TEST(t.retry_after("k", kT0 + seconds(10)).count() == 10);
  // Fully refilled after burst refills: the key is dropped as if never seen.
  BOOST_TEST(!t.record_failure("x", kT0 + seconds(100)));
  BOOST_TEST(t.size() == 1);
}

BOOST_AUTO_TEST_CASE(retry_after_is_rounded_up_and_at_least_a_second) {
  Throttle t({1, milliseconds(1500), 10});
  BOOST_TEST(t.record_failure("k", kT0));
  BOOST_TEST(t.retry_after("k", kT0).count() == 2);
  BOOST_TEST(t.retry_after("k", kT0 + milliseconds(1400)).count() == 1);
  BOOST_TEST(t.retry_after("k", kT0 + milliseconds(1500)).count() == 0);
}

BOOST_AUTO_TEST_CASE(a_clock_going_back_does_not_stretch_the_wait) {
  Throttle t({2, seconds(10), 10});
  t.record_failure("k", kT0);
  t.record_failure("k", kT0);
  BOOST_TEST(t.retry_after("k", kT0 - std::chrono::hours(1)).count() == 10);
}

BOOST_AUTO_TEST_CASE(forget_clears_a_key) {
  Throttle t({1, seconds(60), 10});
  BOOST_TEST(t.record_failure("k", kT0));
  BOOST_TEST(!t.empty());
  t.forget("k");
  BOOST_TEST(t.retry_after("k", kT0).count() == 0);
  BOOST_TEST(t.size() == 0);
  BOOST_TEST(t.empty());
}

BOOST_AUTO_TEST_CASE(burst_zero_turns_it_off) {
  Throttle t({0, seconds(60), 10});
  for (int i = 0; i < 100; ++i) BOOST_TEST(!t.record_failure("k", kT0));
  BOOST_TEST(t.retry_after("k", kT0).count() == 0);
}

// The defect of the old OAuth throttle: failures from many fresh keys evicted the counter
// of a blocked key, which then had a fresh burst.
BOOST_AUTO_TEST_CASE(a_flood_of_new_keys_never_unblocks_a_blocked_key) {
  Throttle t({5, seconds(12), 100});
  for (int i = 0; i < 5; ++i) t.record_failure("victim", kT0);
  BOOST_TEST(t.retry_after("victim", kT0).count() > 0);
  for (int i = 0; i < 10'050; ++i) t.record_failure("fresh-" + std::to_string(i), kT0 + seconds(1));
  BOOST_TEST(t.size() <= 100);
  BOOST_TEST(t.retry_after("victim", kT0 + seconds(1)).count() > 0);
}

BOOST_AUTO_TEST_CASE(new_keys_evict_the_least_indebted_key_first) {
  Throttle t({3, seconds(10), 2});
  t.record_failure("a", kT0);
  t.record_failure("a", kT0);  // a: two failures
  t.record_failure("b", kT0);  // b: one failure, least debt
  t.record_failure("c", kT0);  // evicts b
  BOOST_TEST(t.size() == 2);
  BOOST_TEST(t.record_failure("a", kT0));  // a kept its count: the third failure blocks
}

BOOST_AUTO_TEST_CASE(when_every_kept_key_blocks_new_keys_share_an_overflow_bucket) {
  Throttle t({2, seconds(10), 2});
  for (std::string k : {"a", "b"}) {
    t.record_failure(k, kT0);
    t.record_failure(k, kT0);
  }
  BOOST_TEST(t.retry_after("new1", kT0).count() == 0);
  BOOST_TEST(!t.record_failure("new1", kT0));
  BOOST_TEST(t.record_failure("new2", kT0));  // the overflow bucket is shared
  BOOST_TEST(t.retry_after("new3", kT0).count() == 10);
  BOOST_TEST(t.size() == 2);
  // Once a kept key stops blocking, new keys get their own bucket again.
  BOOST_TEST(t.retry_after("new3", kT0 + seconds(10)).count() == 0);
}

// IPv4 as is, v4-mapped IPv6 as IPv4, IPv6 by its prefix (server.limits.ipv6_prefix):
// the default /48 puts a site's 65,536 /64s in one bucket (issue 24 item 12).
BOOST_AUTO_TEST_CASE(peer_keys) {
  BOOST_TEST(Throttle::peer_key("192.0.2.1", 48) == "192.0.2.1");
  BOOST_TEST(Throttle::peer_key("::ffff:192.0.2.1", 48) == "192.0.2.1");
  BOOST_TEST(Throttle::peer_key("2001:db8:1:2::1", 48) == "2001:db8:1::/48");
  BOOST_TEST(Throttle::peer_key("2001:db8:1:ffff::1", 48) == Throttle::peer_key("2001:db8:1::9", 48));
  BOOST_TEST(Throttle::peer_key("2001:db8:1::1", 48) != Throttle::peer_key("2001:db8:2::1", 48));
  BOOST_TEST(Throttle::peer_key("2001:db8::1", 64) == Throttle::peer_key("2001:db8::2", 64));
  BOOST_TEST(Throttle::peer_key("2001:db8::1", 64) != Throttle::peer_key("2001:db8:0:1::1", 64));
  BOOST_TEST(Throttle::peer_key("2001:db8:abcd::1", 36) == "2001:db8:a000::/36");  // mid-byte
  BOOST_TEST(Throttle::peer_key("2001:db8::1", 128) == "2001:db8::1/128");
}

BOOST_AUTO_TEST_SUITE_END()
