// The retry policy: backoff bounds with and without jitter, and the outcome → state rules.
#include <boost/test/unit_test.hpp>

#include "hookd/worker/retry.hpp"

using namespace hookd::worker;
using hookd::config::RetryConfig;
using hookd::outbox::DeliveryResult;
using namespace std::chrono_literals;

namespace {

RetryConfig policy(RetryConfig::Jitter jitter = RetryConfig::Jitter::full) {
  RetryConfig p;
  p.max_attempts = 5;
  p.initial_backoff = 1s;
  p.max_backoff = 10s;
  p.multiplier = 2.0;
  p.jitter = jitter;
  return p;
}

Attempt attempt(std::uint32_t n, DeliveryResult::Outcome outcome, std::string message = "boom") {
  Attempt a;
  a.delivery_id = 7;
  a.attempt = n;
  a.outcome = outcome;
  a.message = std::move(message);
  a.started_at_us = 1'000'000;
  a.finished_at_us = 2'000'000;
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(worker_retry)

BOOST_AUTO_TEST_CASE(without_jitter_the_backoff_doubles_up_to_the_cap) {
  const auto p = policy(RetryConfig::Jitter::none);
  BOOST_TEST(backoff(p, 1, 0.5).count() == 1000);
  BOOST_TEST(backoff(p, 2, 0.5).count() == 2000);
  BOOST_TEST(backoff(p, 3, 0.5).count() == 4000);
  BOOST_TEST(backoff(p, 4, 0.5).count() == 8000);
  BOOST_TEST(backoff(p, 5, 0.5).count() == 10000);
  BOOST_TEST(backoff(p, 1000, 0.5).count() == 10000);  // no overflow
}

BOOST_AUTO_TEST_CASE(full_jitter_stays_between_initial_and_the_ceiling) {
  const auto p = policy();
  for (std::uint32_t n = 1; n <= 8; ++n) {
    const std::int64_t ceiling = std::min<std::int64_t>(10000, 1000LL << (n - 1));
    BOOST_TEST(backoff(p, n, 0.0).count() == 1000);
    BOOST_TEST(backoff(p, n, 0.999999).count() <= ceiling);
    BOOST_TEST(backoff(p, n, 0.999999).count() >= ceiling - 1);
    const auto mid = backoff(p, n, 0.5).count();
    BOOST_TEST((mid >= 1000 && mid <= ceiling));
  }
}

BOOST_AUTO_TEST_CASE(ok_is_done_and_fail_is_dead_at_once) {
  auto done = decide(attempt(1, DeliveryResult::Outcome::ok, "fine"), policy(), 0.5);
  BOOST_TEST((done.state == DeliveryResult::State::done));
  BOOST_TEST(done.error == "fine");  // the plugin's ok message, kept in the history
  auto dead = decide(attempt(1, DeliveryResult::Outcome::fail, "bad payload"), policy(), 0.5);
  BOOST_TEST((dead.state == DeliveryResult::State::dead));
  BOOST_TEST(dead.error == "bad payload");
  BOOST_TEST(dead.id == 7);
  BOOST_TEST(dead.attempt == 1u);
}

BOOST_AUTO_TEST_CASE(retry_and_timeout_wait_the_backoff) {
  for (auto outcome : {DeliveryResult::Outcome::retry, DeliveryResult::Outcome::timeout}) {
    auto r = decide(attempt(3, outcome), policy(RetryConfig::Jitter::none), 0.5);
    BOOST_TEST((r.state == DeliveryResult::State::pending));
    BOOST_TEST(r.scheduled_at_us == 2'000'000 + 4'000'000);  // finished + 4 s
    BOOST_TEST(r.error == "boom");
  }
}

BOOST_AUTO_TEST_CASE(the_handlers_own_delay_wins) {
  auto a = attempt(1, DeliveryResult::Outcome::retry);
  a.retry_after = 90s;  // beyond max_backoff: still the handler's word
  auto r = decide(a, policy(), 0.5);
  BOOST_TEST(r.scheduled_at_us == 2'000'000 + 90'000'000);
}

BOOST_AUTO_TEST_CASE(the_last_attempt_ends_dead) {
  auto r = decide(attempt(5, DeliveryResult::Outcome::retry, "still down"), policy(), 0.5);
  BOOST_TEST((r.state == DeliveryResult::State::dead));
  BOOST_TEST(r.error == "gave up after 5 attempts: still down");
  auto t = decide(attempt(5, DeliveryResult::Outcome::timeout), policy(), 0.5);
  BOOST_TEST((t.state == DeliveryResult::State::dead));
}

BOOST_AUTO_TEST_CASE(a_release_is_pending_now_without_an_error) {
  auto r = decide(attempt(5, DeliveryResult::Outcome::released, ""), policy(), 0.5);
  BOOST_TEST((r.state == DeliveryResult::State::pending));  // not dead: no attempt was made
  BOOST_TEST(r.scheduled_at_us == 2'000'000);
  BOOST_TEST(r.error.empty());
}

BOOST_AUTO_TEST_CASE(a_release_for_want_of_a_plugin_host_waits_and_says_why) {
  auto a = attempt(5, DeliveryResult::Outcome::released, "plugin host for 'x' is backing off");
  a.retry_after = std::chrono::milliseconds(1500);
  auto r = decide(a, policy(), 0.5);
  BOOST_TEST((r.state == DeliveryResult::State::pending));
  BOOST_TEST(r.scheduled_at_us == 2'000'000 + 1'500'000);
  BOOST_TEST(r.error == "plugin host for 'x' is backing off");
}

// A host crash is retried like a failure; once max_crashes crashes are blamed on the
// delivery (it ran alone in the host each time) it is quarantined (dead). A crash that is
// not blamed on it (other calls were in flight) never makes it dead by itself.
BOOST_AUTO_TEST_CASE(crashes_are_retried_then_quarantined) {
  auto a = attempt(1, DeliveryResult::Outcome::crashed, "plugin host for 'x' died: SIGSEGV");
  a.count_crash = true;
  a.crashes_before = 1;
  auto r = decide(a, policy(RetryConfig::Jitter::none), 0.5, 3);
  BOOST_TEST((r.state == DeliveryResult::State::pending));
  BOOST_TEST(r.scheduled_at_us == 2'000'000 + 1'000'000);
  BOOST_TEST(r.count_crash);
  BOOST_TEST((r.outcome == DeliveryResult::Outcome::crashed));
  a.crashes_before = 2;
  auto dead = decide(a, policy(), 0.5, 3);
  BOOST_TEST((dead.state == DeliveryResult::State::dead));
  BOOST_TEST(dead.error.find("died 3 times") != std::string::npos, dead.error);
  BOOST_TEST(dead.error.find("SIGSEGV") != std::string::npos, dead.error);
  a.count_crash = false;  // a suspect among several calls in flight
  a.crashes_before = 7;
  auto suspect = decide(a, policy(), 0.5, 3);
  BOOST_TEST((suspect.state == DeliveryResult::State::pending));
  BOOST_TEST(!suspect.count_crash);
  // max_attempts still applies.
  auto last = decide(attempt(5, DeliveryResult::Outcome::crashed, ""), policy(), 0.5, 3);
  BOOST_TEST((last.state == DeliveryResult::State::dead));
  BOOST_TEST(last.error == "gave up after 5 attempts: the plugin host died during the call");
}

BOOST_AUTO_TEST_SUITE_END()
