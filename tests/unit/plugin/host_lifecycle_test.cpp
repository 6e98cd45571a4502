// plugin::Host's lifecycle as the engine uses it: blame (`sole`) only for a host's only
// call, retire() letting the other calls finish, ensure_started() telling a refusal from a
// crash, available_in() during the restart backoff, the restart callback.
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

BOOST_AUTO_TEST_CASE(a_call_whose_caller_timed_out_still_counts_as_running) {
  Host host(crashy());
  // Started first: on a loaded machine a start can take longer than the call's 200 ms, and
  // the call would be unavailable (never sent), not timed out.
  BOOST_REQUIRE((host.ensure_started(20s).status == Host::StartResult::Status::ready));
  const CallResult hung = host.call(event("hang", "hang"), 200ms);
  BOOST_TEST((hung.status == CallResult::Status::timeout));
  // The hung call still runs in the host: a crash now has two suspects.
  const CallResult poison = host.call(event("poison", "segv"), 10s);
  BOOST_TEST(poison.crashed());
  BOOST_TEST(!poison.sole);
}

BOOST_AUTO_TEST_CASE(retire_lets_the_other_calls_finish_and_new_calls_go_to_a_new_host) {
  std::atomic<int> restarts{0};
  CallMarks marks;
  HostOptions o = crashy(marks.config());
  o.on_restart = [&] { ++restarts; };
  Host host(o);
  // Started first, as above: the hung call must reach the host within its 200 ms.
  BOOST_REQUIRE((host.ensure_started(20s).status == Host::StartResult::Status::ready));
  const CallResult hung = host.call(event("hang", "hang"), 200ms);
  BOOST_REQUIRE((hung.status == CallResult::Status::timeout));
  const pid_t old_pid = host.pid();
  auto innocent =
      std::async(std::launch::async, [&] { return host.call(event("doze", "doze"), 10s); });
  BOOST_REQUIRE(marks.started("doze"));  // the 1 s call is in the old host
  host.retire("a call ran past handler_timeout", hung.host_generation, 3s);
  // New calls: a new host at once (no backoff: retiring is not a death).
  const CallResult next = host.call(event("next", "ok"), 10s);
  BOOST_TEST((next.status == CallResult::Status::answered));
  BOOST_TEST(host.pid() != old_pid);
  BOOST_TEST(next.host_generation == hung.host_generation + 1);
  // The call finishes in the retired host; its answer arrives.
  const CallResult doze = innocent.get();
  BOOST_TEST((doze.status == CallResult::Status::answered), doze.result.message);
  BOOST_TEST(restarts.load() == 1);
  // A second retire of the old generation does nothing to the new host.
  host.retire("late", hung.host_generation, 1s);
  BOOST_TEST((host.call(event("again", "ok"), 10s).status == CallResult::Status::answered));
}

BOOST_AUTO_TEST_CASE(a_retired_host_that_keeps_running_a_call_is_killed_after_the_grace) {
  CallMarks marks;
  Host host(crashy(marks.config()));
  BOOST_REQUIRE((host.ensure_started(20s).status == Host::StartResult::Status::ready));
  auto long_call =
      std::async(std::launch::async, [&] { return host.call(event("sleep", "sleep"), 20s); });
  // In the host: retired before, the call would go to a new host and sleep its 30 s.
  BOOST_REQUIRE(marks.started("sleep"));
  const auto start = std::chrono::steady_clock::now();
  host.retire("reload", 0, 300ms);
  const CallResult r = long_call.get();
  BOOST_TEST(r.crashed());
  BOOST_TEST(!r.sole);  // hookd killed it: not the event's doing
  BOOST_TEST(contains(r.result.message, "was killed: reload"), r.result.message);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));
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
