// plugin::Host's lifecycle as the engine uses it: blame (`sole`) only for a host's only
// call, a call past its timeout taking its host with it, ensure_started() telling a refusal
// from a crash, available_in() during the restart backoff, the restart callback.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>

#include "hookd/plugin/host.hpp"
#include "host_fixture.hpp"

using namespace hookd::plugin;
using namespace hookd::plugin::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(plugin_host_lifecycle)

BOOST_AUTO_TEST_CASE(a_crash_is_blamed_only_on_the_hosts_only_call) {
  CallMarks marks;
  Host host(crashy(marks.config()));
  // Alone: the crash is this call's doing.
  const CallResult alone = host.call(event("poison", "segv"), 10s);
  BOOST_TEST(alone.crashed());
  BOOST_TEST(alone.sole);
  BOOST_TEST(contains(alone.result.message, "died: SIGSEGV"), alone.result.message);

  // Beside an innocent call in flight: neither is blamed.
  auto innocent =
      std::async(std::launch::async, [&] { return host.call(event("sleep", "sleep"), 20s); });
  BOOST_REQUIRE(marks.started("sleep"));  // the call is in the host
  const CallResult poison = host.call(event("poison", "segv"), 10s);
  const CallResult beside = innocent.get();
  BOOST_TEST(poison.crashed());
  BOOST_TEST(!poison.sole);
  BOOST_TEST(beside.crashed());
  BOOST_TEST(!beside.sole);
}

// Nothing of a call runs on once it has returned timeout: its host is gone by then (the
// engine may retry the event at once). Its neighbours end crashed, blamed on none; the next
// call starts a new host at once (a timeout is not a death for the backoff).
BOOST_AUTO_TEST_CASE(a_call_past_its_timeout_takes_its_host_with_it) {
  std::atomic<int> restarts{0};
  CallMarks marks;
  HostOptions o = crashy(marks.config());
  o.on_restart = [&] { ++restarts; };
  Host host(o);
  // Started first: on a loaded machine a start can take longer than the call's 200 ms, and
  // the call would be unavailable (never sent), not timed out.
  BOOST_REQUIRE((host.ensure_started(20s).status == Host::StartResult::Status::ready));
  const pid_t old_pid = host.pid();
  auto innocent =
      std::async(std::launch::async, [&] { return host.call(event("sleep", "sleep"), 20s); });
  BOOST_REQUIRE(marks.started("sleep"));  // the 30 s call is in the host
  const CallResult hung = host.call(event("hang", "hang"), 200ms);
  BOOST_TEST((hung.status == CallResult::Status::timeout));
  BOOST_TEST(contains(hung.result.message, "did not answer within 200 ms"), hung.result.message);
  BOOST_TEST(!alive(old_pid));  // already reaped when the call returned
  const CallResult beside = innocent.get();
  BOOST_TEST(beside.crashed());
  BOOST_TEST(!beside.sole);  // hookd killed it: not the event's doing
  BOOST_TEST(contains(beside.result.message,
                      "was killed: a call ran past handler_timeout (event hang)"),
             beside.result.message);
  const CallResult next = host.call(event("next", "ok"), 10s);
  BOOST_TEST((next.status == CallResult::Status::answered), next.result.message);
  BOOST_TEST(next.host_generation == hung.host_generation + 1);
  BOOST_TEST(host.pid() != old_pid);
  BOOST_TEST(restarts.load() == 1);
}

BOOST_AUTO_TEST_CASE(ensure_started_tells_a_refusal_from_a_crash) {
  using Status = Host::StartResult::Status;
  Host good(crashy());
  BOOST_TEST((good.ensure_started(10s).status == Status::ready));
  BOOST_TEST(good.pid() > 0);

  Host refusing(crashy("{ fail_create: true }"));
  const auto refused = refusing.ensure_started(10s);
  BOOST_TEST((refused.status == Status::refused));
  BOOST_TEST(contains(refused.message, "refused: fail_create is set"), refused.message);

  // A first delay far longer than this test: the checks of the backoff below cannot see it
  // run out on a loaded machine.
  HostOptions crash_options = crashy("{ crash_create: true }");
  crash_options.backoff.first_delay = 20s;
  Host crashing(crash_options);
  const auto failed = crashing.ensure_started(10s);
  BOOST_TEST((failed.status == Status::failed));
  BOOST_TEST(contains(failed.message, "died while starting: SIGSEGV"), failed.message);
  // The first death allows a start at once; the second backs off (first_delay 20 s).
  BOOST_TEST(crashing.available_in().count() == 0);
  BOOST_TEST((crashing.ensure_started(10s).status == Status::failed));
  BOOST_TEST(crashing.available_in().count() > 1000);
  const auto backing_off = crashing.ensure_started(10s);
  BOOST_TEST(contains(backing_off.message, "backing off"), backing_off.message);
}

BOOST_AUTO_TEST_SUITE_END()
