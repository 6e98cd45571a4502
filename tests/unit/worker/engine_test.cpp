// The delivery engine against a real store and the "script" fixture plugin: fan-out with
// independent retries, dead letters, replay, ordering keys, concurrency limits, timeouts,
// lease rescue, wake-ups without polling, and the graceful stop.
#include <boost/test/unit_test.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "engine_fixture.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"
#include "hookd/plugin/host.hpp"

using namespace hookd::worker;
using namespace hookd::worker::test;
using namespace std::chrono_literals;

namespace {

// Polling this rarely means a test passes only if the engine is woken when it should be.
EngineOptions no_polling(std::uint32_t threads = 4) {
  EngineOptions o;
  o.threads = threads;
  o.poll_interval = std::chrono::hours(1);
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(worker_engine)

BOOST_AUTO_TEST_CASE(fan_out_to_two_handlers_with_independent_retries) {
  EngineFixture f;
  f.start({f.handler("a"), f.handler("b")}, no_polling());
  f.append("e1", "flaky:3", {"a", "b"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a") && f.settled("e1", "b"); }));
  BOOST_TEST(f.state("e1", "a") == "done");
  BOOST_TEST(f.state("e1", "b") == "done");
  BOOST_TEST(f.attempts("e1", "a") == 3);  // each retried on its own schedule (woken by due time)
  BOOST_TEST(f.attempts("e1", "b") == 3);
  BOOST_TEST((f.history("e1", "b") == std::vector<std::string>{"retry", "retry", "ok"}));
  BOOST_TEST(f.last_error("e1", "b").empty());
  BOOST_TEST(f.count_mismatches() == 0);  // each result moved its own (route, handler)
}

BOOST_AUTO_TEST_CASE(one_handler_retries_while_the_other_is_done) {
  EngineFixture f;
  auto a = f.handler("a");
  auto b = f.handler("b", 4, 2);
  f.start({a, b}, no_polling());
  f.append("e1", "retry", {"a", "b"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a") && f.settled("e1", "b"); }));
  BOOST_TEST(f.attempts("e1", "a") == 5);
  BOOST_TEST(f.attempts("e1", "b") == 2);  // its own max_attempts
  BOOST_TEST(f.state("e1", "b") == "dead");
  BOOST_TEST(f.last_error("e1", "b") == "gave up after 2 attempts: scripted retry");
  BOOST_TEST(f.count_mismatches() == 0);
}

BOOST_AUTO_TEST_CASE(fail_is_dead_at_once_and_replay_brings_it_back) {
  EngineFixture f;
  f.start({f.handler("a", 4, 2)}, no_polling());
  const std::string flag = f.tmp.file("flag");
  f.append("e1", "fail", {"a"});
  f.append("e2", "exists:" + flag, {"a"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a") && f.settled("e2", "a"); }));
  BOOST_TEST(f.state("e1", "a") == "dead");
  BOOST_TEST(f.attempts("e1", "a") == 1);
  BOOST_TEST(f.last_error("e1", "a") == "scripted failure");
  BOOST_TEST(f.state("e2", "a") == "dead");
  BOOST_TEST(f.attempts("e2", "a") == 2);

  std::ofstream(flag) << "now";
  {
    auto db = hookd::outbox::open_store(f.path(), true);
    BOOST_TEST(hookd::outbox::replay(db.get(), {{"e2"}, false, {}}, 0) == 1u);
  }
  f.engine->wake();  // what the poll does for a replay from another process
  BOOST_REQUIRE(eventually([&] { return f.state("e2", "a") == "done"; }));
  BOOST_TEST(f.attempts("e2", "a") == 1);
}

BOOST_AUTO_TEST_CASE(the_poll_finds_work_written_by_another_process) {
  EngineFixture f;
  EngineOptions options = no_polling();
  options.poll_interval = 50ms;
  f.start({f.handler("a")}, options);
  f.append("e1", "fail", {"a"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a"); }));
  const auto calls = f.calls("a").size();
  {
    auto db = hookd::outbox::open_store(f.path(), true);
    hookd::outbox::replay(db.get(), {{"e1"}, false, {}}, 0);
  }
  BOOST_REQUIRE(eventually([&] { return f.calls("a").size() > calls && f.settled("e1", "a"); }));
}

BOOST_AUTO_TEST_CASE(concurrency_limit_is_never_exceeded) {
  EngineFixture f;
  f.start({f.handler("a", 2)}, no_polling(6));
  for (int i = 0; i < 12; ++i) f.append("e" + std::to_string(i), "sleep:20", {"a"});
  BOOST_REQUIRE(eventually([&] {
    for (int i = 0; i < 12; ++i) {
      if (f.state("e" + std::to_string(i), "a") != "done") return false;
    }
    return true;
  }));
  BOOST_TEST(f.max_overlap("a") <= 2);
  BOOST_TEST(f.calls("a").size() == 24u);
}

// How far claims run ahead: 2 per slot until calls are measured; for a call much shorter
// than a claim's round trip, enough calls to cover two claims (at most 256); for slow calls
// 2; never more than a quarter of handler_timeout of queued calls.
BOOST_AUTO_TEST_CASE(claims_run_ahead_of_fast_handlers_and_not_of_slow_ones) {
  BOOST_TEST(Engine::claim_ahead(0, 2000, 30s) == 2u);         // nothing measured yet
  BOOST_TEST(Engine::claim_ahead(100, 2000, 30s) == 40u);      // 2 × 2 ms / 0.1 ms
  BOOST_TEST(Engine::claim_ahead(100, 200, 30s) == 20u);       // a claim counts as 1 ms at least
  BOOST_TEST(Engine::claim_ahead(1, 5000, 30s) == 256u);       // capped
  BOOST_TEST(Engine::claim_ahead(1'000'000, 5000, 30s) == 2u);  // slow: 2 per slot
  BOOST_TEST(Engine::claim_ahead(40'000, 1'000'000, 1s) == 7u);  // 250 ms of calls queued at most
}

// A fast handler drains a backlog in claims of many deliveries, and their results share
// commits: far fewer transactions than the one claim per 2 deliveries that a fixed 2 per
// slot took (a thread, one slot), let alone a commit per result. In process, whatever the
// suite's isolation: a host's round trip varies too much on a loaded machine for a count.
BOOST_AUTO_TEST_CASE(a_fast_handler_drains_a_backlog_in_large_claims) {
  EngineFixture f;
  constexpr int kEvents = 400;
  for (int i = 0; i < kEvents; ++i) f.append("e" + std::to_string(i), "ok", {"a"});
  const auto before = f.writer->stats().batches;
  f.start({f.handler("a", 1, 5, false, true)}, no_polling(1));
  BOOST_REQUIRE(eventually([&] { return f.settled("e" + std::to_string(kEvents - 1), "a"); }));
  for (int i = 0; i < kEvents; ++i) BOOST_TEST(f.state("e" + std::to_string(i), "a") == "done");
  const auto transactions = f.writer->stats().batches - before;
  BOOST_TEST_MESSAGE(transactions << " transactions for " << kEvents << " deliveries");
  BOOST_TEST(transactions < static_cast<std::uint64_t>(kEvents / 4));
}

// With room in its handler, a new delivery is claimed by its append's own transaction and
// runs from memory: no claim transaction (the first claim, at start, found the store
// empty; no polling), one attempt, the count tables in step.
BOOST_AUTO_TEST_CASE(new_deliveries_are_claimed_at_append_without_a_claim_transaction) {
  EngineFixture f;
  f.start({f.handler("a", 4, 5, false, true)}, no_polling());
  BOOST_REQUIRE(eventually([&] { return f.writer->stats().claims >= 1; }));
  const auto claims = f.writer->stats().claims;
  constexpr int kEvents = 20;
  for (int i = 0; i < kEvents; ++i) {
    const std::string id = "e" + std::to_string(i);
    f.append(id, "ok", {"a"});
    BOOST_REQUIRE(eventually([&] { return f.settled(id, "a"); }));
    BOOST_TEST(f.state(id, "a") == "done");
    BOOST_TEST((f.history(id, "a") == std::vector<std::string>{"ok"}));
  }
  BOOST_TEST(f.writer->stats().claimed_at_append == static_cast<std::uint64_t>(kEvents));
  BOOST_TEST(f.writer->stats().claims == claims);
  BOOST_TEST(f.count_mismatches() == 0);
}

// Under overload (a call takes longer than the time between events) deliveries queue up
// pending; new ones are then not claimed at append ahead of them: one thread runs them in
// commit order, some claimed at append, the rest by claims.
BOOST_AUTO_TEST_CASE(deliveries_run_in_commit_order_when_claims_at_append_meet_a_backlog) {
  EngineFixture f;
  f.start({f.handler("a", 1, 5, false, true)}, no_polling(1));
  BOOST_REQUIRE(eventually([&] { return f.writer->stats().claims >= 1; }));
  constexpr int kEvents = 150;
  // Event 0 holds the one thread until the gate opens, halfway through: the overload is
  // made, not left to the pace of this loop against the calls' (a backlog surely forms).
  const std::string gate = f.tmp.file("gate");
  f.append("0", "await:" + gate, {"a"});
  BOOST_REQUIRE(eventually([&] { return !f.calls("a").empty(); }));  // 0 holds the thread
  std::vector<std::future<hookd::outbox::AppendStatus>> appended;
  for (int i = 1; i < kEvents; ++i) {
    if (i == kEvents / 2) std::ofstream(gate) << "go";
    appended.push_back(f.submit(std::to_string(i), "sleep:3", {"a"}));
    // Pacing only, so that the rest arrive while the backlog drains; the checks below hold
    // at any pace.
    std::this_thread::sleep_for(2ms);
  }
  for (auto& status : appended) BOOST_REQUIRE((status.get() == hookd::outbox::AppendStatus::accepted));
  BOOST_REQUIRE(eventually([&] {
    const auto calls = f.calls("a");
    return std::count_if(calls.begin(), calls.end(), [](const Call& c) { return !c.start; }) ==
           kEvents;
  }));
  std::vector<int> started;
  for (const Call& call : f.calls("a")) {
    if (call.start) started.push_back(std::stoi(call.id));
  }
  BOOST_REQUIRE(started.size() == static_cast<std::size_t>(kEvents));
  int out_of_order = 0;
  for (int i = 0; i < kEvents; ++i) out_of_order += started[static_cast<std::size_t>(i)] != i;
  BOOST_TEST(out_of_order == 0);
  const auto stats = f.writer->stats();
  BOOST_TEST_MESSAGE(stats.claimed_at_append << " claimed at append, " << stats.claims
                                             << " claims");
  BOOST_TEST(stats.claimed_at_append > 0u);
  BOOST_TEST(stats.claimed_at_append < static_cast<std::uint64_t>(kEvents));
  BOOST_TEST(f.count_mismatches() == 0);
}

// Claims run far ahead of a fast handler, but the bodies waiting in memory stay within
// the queue's budget (64 MiB): with the one thread held, of twelve 8 MiB events eight are
// claimed at append and the rest wait pending in the store; all run once it is free.
BOOST_AUTO_TEST_CASE(the_bodies_waiting_for_a_thread_stay_within_the_budget) {
  EngineFixture f;
  f.start({f.handler("a", 1, 5, false, true)}, no_polling(1));
  for (int i = 0; i < 20; ++i) f.append("fast" + std::to_string(i), "ok", {"a"});  // call_us
  BOOST_REQUIRE(eventually([&] { return f.settled("fast19", "a"); }));
  const std::string gate = f.tmp.file("gate");
  f.append("hold", "await:" + gate, {"a"});
  BOOST_REQUIRE(eventually([&] {
    const auto calls = f.calls("a");
    return !calls.empty() && calls.back().start && calls.back().id == "hold";
  }));
  const std::string big(8u << 20, 'x');
  for (int i = 0; i < 12; ++i) f.append("big" + std::to_string(i), big, {"a"});
  int running = 0;
  int pending = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string state = f.state("big" + std::to_string(i), "a");
    running += state == "running";
    pending += state == "pending";
  }
  // 64 MiB: seven of them beside the running call's body (it counts too).
  BOOST_TEST(running == 7);
  BOOST_TEST(pending == 5);
  std::ofstream(gate) << "go";
  BOOST_REQUIRE(eventually([&] { return f.settled("big11", "a"); }));
  for (int i = 0; i < 12; ++i) BOOST_TEST(f.state("big" + std::to_string(i), "a") == "done");
  BOOST_TEST(f.count_mismatches() == 0);
}

// The body budget is a bound, whatever the mix: bodies of different sizes (a claim's
// average says little about the next ones), a backlog claimed by the dispatcher while new
// events are claimed at append (possibly in the same transaction), and running calls'
// bodies counted with the queued ones.
BOOST_AUTO_TEST_CASE(the_body_budget_holds_for_mixed_bodies_and_claims_in_flight) {
  EngineFixture f;
  EngineOptions options = no_polling(2);
  options.max_held_body_bytes = 1u << 20;
  f.start({f.handler("a", 2, 5, false, true)}, options);
  const std::string pad(300 * 1024, 'x');
  std::vector<std::future<hookd::outbox::AppendStatus>> appended;
  for (int i = 0; i < 60; ++i) {
    // "sleep:2" then padding: the script reads the number and ignores the rest.
    appended.push_back(f.submit("m" + std::to_string(i), i % 3 == 0 ? "sleep:2" : "sleep:2 " + pad,
                                {"a"}));
  }
  for (auto& a : appended) BOOST_REQUIRE((a.get() == hookd::outbox::AppendStatus::accepted));
  BOOST_REQUIRE(eventually([&] {
    for (int i = 0; i < 60; ++i) {
      if (f.state("m" + std::to_string(i), "a") != "done") return false;
    }
    return true;
  }));
  const auto stats = f.engine->stats();
  BOOST_TEST(stats.held_body_bytes == 0u);
  BOOST_TEST(stats.held_body_bytes_peak <= options.max_held_body_bytes);
  BOOST_TEST(stats.held_body_bytes_peak >= 2 * pad.size());  // it did fill up
  for (int i = 0; i < 60; ++i) BOOST_TEST(f.attempts("m" + std::to_string(i), "a") == 1);
  BOOST_TEST(f.count_mismatches() == 0);
}

BOOST_AUTO_TEST_CASE(ordering_keys_run_one_at_a_time_in_commit_order) {
  EngineFixture f;
  f.start({f.handler("a", 4, 5, true)}, no_polling(4));
  // Three keys interleaved; some deliveries retry once, which must hold up their key.
  std::map<std::string, std::vector<std::string>> expected;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "k" + std::to_string(i % 3);
    const std::string id = "e" + std::to_string(i);
    f.append(id, i % 7 == 0 ? "flaky:2" : "sleep:5", {"a"}, key);
    expected[key].push_back(id);
  }
  BOOST_REQUIRE(eventually([&] {
    for (int i = 0; i < 30; ++i) {
      if (f.state("e" + std::to_string(i), "a") != "done") return false;
    }
    return true;
  }));
  std::map<std::string, std::string> key_of;
  for (const auto& [key, ids] : expected) {
    for (const auto& id : ids) key_of[id] = key;
  }
  std::map<std::string, std::vector<std::string>> started;  // first attempts, per key
  std::map<std::string, int> open;
  for (const Call& c : f.calls("a")) {
    const std::string& key = key_of[c.id];
    if (c.start) {
      BOOST_TEST(open[key] == 0, "two calls of key " << key << " at once (" << c.id << ")");
      ++open[key];
      if (c.attempt == 1) started[key].push_back(c.id);
    } else {
      --open[key];
    }
  }
  BOOST_TEST(started == expected);
}

BOOST_AUTO_TEST_CASE(a_call_past_the_timeout_counts_as_a_retry) {
  EngineFixture f;
  EngineOptions options = no_polling();
  options.handler_timeout = 100ms;
  f.start({f.handler("a", 4, 1)}, options);
  f.append("e1", "sleep:600", {"a"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a"); }));
  BOOST_TEST(f.state("e1", "a") == "dead");
  BOOST_TEST(f.last_error("e1", "a").find("handler_timeout") != std::string::npos);
  BOOST_TEST((f.history("e1", "a") == std::vector<std::string>{"timeout"}));
  if (!EngineFixture::hosted()) {
    // In a thread the call goes on; its late return changes nothing (fenced). (A host is
    // killed with its call: no "end" line.)
    BOOST_REQUIRE(eventually([&] { return f.calls("a").size() == 2u; }));
  }
  f.engine->stop(5s);
  BOOST_TEST(f.state("e1", "a") == "dead");
  BOOST_TEST(f.calls("a").size() == (EngineFixture::hosted() ? 1u : 2u));
}

// A call in a thread cannot be interrupted: after its timeout (an attempt used), the
// delivery's retry waits until that call has returned, given back (no attempt used) each
// time it is claimed meanwhile. In a host the call is killed with its host instead (the
// plugin host tests, and the workers integration suite in both isolations).
BOOST_AUTO_TEST_CASE(a_retry_waits_for_its_timed_out_call_to_return) {
  EngineFixture f;
  EngineOptions options = no_polling();
  options.handler_timeout = 200ms;
  options.poll_interval = 50ms;  // the held retry is due again after a second
  f.start({f.handler("a", 4, 3, false, true)}, options);
  const std::string go = f.tmp.file("go");
  f.append("e1", "await:" + go, {"a"});
  BOOST_REQUIRE(eventually([&] {
    return f.last_error("e1", "a").find("waiting for an earlier call") != std::string::npos;
  }));
  std::ofstream(go) << "go";  // the first call returns; the retry may run
  BOOST_REQUIRE(eventually([&] { return f.state("e1", "a") == "done"; }));
  BOOST_TEST((f.history("e1", "a") == std::vector<std::string>{"timeout", "ok"}));
  const auto calls = f.calls("a");
  BOOST_REQUIRE(calls.size() == 4u);
  BOOST_TEST((calls[0].start && calls[0].attempt == 1));
  BOOST_TEST((!calls[1].start && calls[1].attempt == 1));  // ended before attempt 2 began
  BOOST_TEST((calls[2].start && calls[2].attempt == 2));
}

// The same for an ordering key: the key's next delivery waits for a call of the key that
// timed out (and left its delivery dead) until that call returns.
BOOST_AUTO_TEST_CASE(an_ordering_key_waits_for_its_timed_out_call_to_return) {
  EngineFixture f;
  EngineOptions options = no_polling();
  options.handler_timeout = 200ms;
  options.poll_interval = 50ms;
  f.start({f.handler("a", 4, 1, true, true)}, options);
  const std::string go = f.tmp.file("go");
  f.append("e1", "await:" + go, {"a"}, "k");
  f.append("e2", "ok", {"a"}, "k");
  BOOST_REQUIRE(eventually([&] {
    return f.state("e1", "a") == "dead" &&
           f.last_error("e2", "a").find("waiting for an earlier call") != std::string::npos;
  }));
  std::ofstream(go) << "go";
  BOOST_REQUIRE(eventually([&] { return f.state("e2", "a") == "done"; }));
  BOOST_TEST(f.attempts("e2", "a") == 1);  // waiting used no attempt
  const auto calls = f.calls("a");
  BOOST_REQUIRE(calls.size() == 4u);
  BOOST_TEST((calls[1].id == "e1" && !calls[1].start));  // e1's call ended first
  BOOST_TEST((calls[2].id == "e2" && calls[2].start));
}

// The lease outlasts what the engine itself allows a claimed delivery: handler_timeout in
// the queue, handler_timeout in the call, and the 2 s a hosted call may overstay before
// the engine reports it; so a lease expires only when hookd went away.
BOOST_AUTO_TEST_CASE(the_lease_outlasts_the_queue_the_call_and_its_slack) {
  for (const auto timeout : {100ms, 1000ms, 2000ms, 30000ms}) {
    BOOST_TEST((Engine::lease_for(timeout) > 2 * timeout + 2s), timeout.count());
  }
  BOOST_TEST(Engine::lease_for(30s).count() == 72000);
}

BOOST_AUTO_TEST_CASE(an_expired_lease_is_rescued_and_runs_again) {
  EngineFixture f;
  f.append("e1", "ok", {"a"});
  {
    // What a crash leaves behind: running, with a lease that has run out.
    auto db = hookd::outbox::open_store(f.path(), true);
    hookd::outbox::exec(db.get(),
                        "UPDATE deliveries SET state = 'running', attempts = 1, lease_until = 5");
  }
  f.start({f.handler("a")}, no_polling());
  BOOST_REQUIRE(eventually([&] { return f.state("e1", "a") == "done"; }));
  BOOST_TEST(f.attempts("e1", "a") == 2);
  BOOST_TEST((f.history("e1", "a") == std::vector<std::string>{"lease_expired", "ok"}));
}

// A delivery claimed while the only thread is in a call that then overruns
// handler_timeout (and holds the thread long past the lease) must not have its lease
// expire in the queue: that counted an attempt (dead, with max_attempts 1) without the
// handler ever running for it, and then ran it anyway from the stale queue.
BOOST_AUTO_TEST_CASE(a_queued_delivery_behind_an_overrunning_call_is_not_dead_without_running) {
  EngineFixture f;
  EngineOptions options = no_polling(1);
  // Lease 6 s, which e1 outlasts. Under process isolation e1's timeout restarts the host,
  // and e2's call (a new host's start included) must fit in the timeout even in a
  // sanitizer's build on a loaded machine: 400 ms did not, under ASan.
  options.handler_timeout = 2s;
  f.start({f.handler("a", 1, 1)}, options);
  f.append("e1", "sleep:7000", {"a"});
  BOOST_REQUIRE(eventually([&] { return !f.calls("a").empty(); }));  // e1 holds the thread
  // e2 is claimed and queued behind e1; it takes a moment, so that a claim made once e1
  // has returned (which rescued expired leases) cannot miss it.
  f.append("e2", "sleep:100", {"a"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e2", "a"); }));
  f.engine->stop(10s);
  BOOST_TEST(f.state("e1", "a") == "dead");  // it did run, and timed out
  BOOST_TEST(f.state("e2", "a") == "done", f.last_error("e2", "a"));
  BOOST_TEST(f.attempts("e2", "a") == 1);
  BOOST_TEST((f.history("e2", "a") == std::vector<std::string>{"ok"}));
  // In a thread e1's call goes on to its end; a host is killed with it.
  BOOST_REQUIRE(
      eventually([&] { return f.calls("a").size() == (EngineFixture::hosted() ? 3u : 4u); }));
  int starts = 0;
  for (const Call& c : f.calls("a")) starts += c.start && c.id == "e2" ? 1 : 0;
  BOOST_TEST(starts == 1);
}

// Destroying a plugin's host waits for it to exit (up to its shutdown_grace), and the
// writer takes the engine's lock for every batch that claims at append: the last
// reference to a host a reload removed must never be dropped under that lock. Here a
// queued delivery of the removed handler holds it, and is given back after handler_timeout
// (the only thread is in a call past it); the host's destroy() hangs, so it lives out its
// 60 s grace. Appends must commit meanwhile.
BOOST_AUTO_TEST_CASE(a_removed_host_going_away_never_holds_up_appends) {
  EngineFixture f;
  hookd::test::TempDir marks;
  EngineOptions options = no_polling(1);
  options.handler_timeout = 2s;
  const Handler a = f.handler("a", 1, 5, false, true);  // in process: its call holds the thread
  hookd::plugin::HostOptions o;
  o.name = "b";
  o.binary = HOOKD_BINARY;
  o.library = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_crashy.so";
  o.config_yaml = "{ hang_destroy: true, marks: " + marks.file("mark-") + " }";
  o.shutdown_grace = 60s;
  auto host = std::make_shared<hookd::plugin::Host>(o);
  BOOST_REQUIRE((host->ensure_started(20s).status == hookd::plugin::Host::StartResult::Status::ready));
  const pid_t pid = host->pid();
  Handler b;
  b.route = "r";
  b.plugin = "b";
  b.callee.host = std::move(host);
  std::vector<Handler> handlers{a};
  handlers.push_back(std::move(b));  // the engine's references to the host are the only ones
  f.start(std::move(handlers), options);
  const std::string go = f.tmp.file("go");
  f.append("e1", "await:" + go, {"a"});
  BOOST_REQUIRE(eventually([&] { return !f.calls("a").empty(); }));  // e1 holds the thread
  f.append("e2", "ok", {"b"});
  BOOST_REQUIRE(eventually([&] { return f.state("e2", "b") == "running"; }));  // queued
  f.engine->set_handlers({a});  // the queued job holds the last reference to b's host
  BOOST_REQUIRE(eventually([&] { return std::filesystem::exists(marks.file("mark-destroy")); }));
  auto appended = f.submit("e3", "ok", {"a"});
  BOOST_TEST((appended.wait_for(20s) == std::future_status::ready));
  // End the host's 60 s grace now (if it is still the host: a stress run once found it gone
  // here, not yet explained).
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  const std::string command((std::istreambuf_iterator<char>(cmdline)), {});
  if (command.find("plugin-host") != std::string::npos) ::kill(pid, SIGKILL);
  std::ofstream(go) << "go";
  BOOST_TEST(f.state("e2", "b") == "pending");  // given back, no attempt used
  BOOST_TEST(f.attempts("e2", "b") == 0);
}

// A COMMIT can report an error and yet be durable (an I/O error after the WAL frames were
// written). Deliveries claimed by such a transaction are running with a lease and no one to
// run them: the next transaction gives them back (pending, no attempt used), so they run
// at once, instead of losing an attempt to their lease (dead with max_attempts 1).
BOOST_AUTO_TEST_CASE(claims_of_a_commit_that_failed_but_was_durable_are_given_back) {
  std::atomic<bool> fail_next{false};
  EngineFixture f([&](hookd::outbox::WriterOptions& o) {
    o.fail_after_commit = [&] { return fail_next.exchange(false); };
  });
  f.start({f.handler("a", 4, 1)}, no_polling());
  // The engine's first claim has found nothing: new deliveries are claimed at append.
  BOOST_REQUIRE(eventually([&] { return f.writer->stats().claims >= 1u; }));
  fail_next = true;
  BOOST_TEST((f.submit("e1", "ok", {"a"}).get() == hookd::outbox::AppendStatus::unavailable));
  BOOST_REQUIRE(f.state("e1", "a") == "running");  // stored and claimed after all
  BOOST_TEST(f.attempts("e1", "a") == 1);
  f.append("e2", "ok", {"a"});  // the next transaction
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a") && f.settled("e2", "a"); }));
  BOOST_TEST(f.state("e1", "a") == "done", f.last_error("e1", "a"));
  BOOST_TEST(f.attempts("e1", "a") == 1);
  BOOST_TEST((f.history("e1", "a") == std::vector<std::string>{"ok"}));
  BOOST_TEST(f.count_mismatches() == 0);
}

// The store fails every claim (here: it cannot be opened) while the engine polls often:
// one warning, not one per poll.
BOOST_AUTO_TEST_CASE(failing_claims_are_logged_at_a_bounded_rate) {
  EngineFixture f;  // for its handler; this test brings its own writer
  // The sinks are changed while no other thread logs: the fixture's writer has logged its
  // start (it committed an append since), this test's has not started.
  f.append("warmup", "ok", {});
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  spdlog::default_logger()->sinks().push_back(sink);
  const std::string blocker = f.tmp.write("blocker", "a file where a directory should be");
  hookd::outbox::WriterOptions writer_options;
  writer_options.path = blocker + "/sub/hookd.db";
  hookd::outbox::Writer writer(writer_options);
  {
    EngineOptions options;
    options.threads = 1;
    options.poll_interval = 5ms;
    Engine engine(writer, options, {f.handler("a")});
    BOOST_TEST(eventually([&] { return writer.stats().batches >= 20u; }));
    engine.stop(5s);
  }
  writer.stop();
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::find(sinks.begin(), sinks.end(), sink));
  int warnings = 0;
  for (const std::string& line : sink->last_formatted()) {
    warnings += line.find("claiming deliveries") != std::string::npos ? 1 : 0;
  }
  BOOST_TEST(warnings == 1);
}

BOOST_AUTO_TEST_CASE(stop_waits_for_running_calls_and_releases_the_rest) {
  EngineFixture f;
  f.start({f.handler("a", 1)}, no_polling(1));
  BOOST_REQUIRE(eventually([&] { return f.writer->stats().claims >= 1; }));
  // e1 runs until the gate opens, which happens only once stop() has begun: e2 and e3
  // cannot start before it, however slow this test is.
  const std::string gate = f.tmp.file("gate");
  f.append("e1", "await:" + gate, {"a"});
  BOOST_REQUIRE(eventually([&] { return !f.calls("a").empty(); }));  // e1 started
  f.append("e2", "ok", {"a"});
  f.append("e3", "ok", {"a"});
  // e2 is claimed at append (queued behind e1, running in the store), e3 left pending: e2
  // becomes pending again only when stop() gives it back, which then lets e1 end.
  BOOST_REQUIRE(f.state("e2", "a") == "running");
  std::thread opener([&] {
    eventually([&] { return f.state("e2", "a") == "pending"; });
    std::ofstream(gate) << "go";
  });
  BOOST_TEST(f.engine->stop(10s) == 0u);
  opener.join();
  f.writer->stop();
  BOOST_TEST(f.state("e1", "a") == "done");  // finished within the grace period
  for (const char* id : {"e2", "e3"}) {
    BOOST_TEST(f.state(id, "a") == "pending");
    BOOST_TEST(f.attempts(id, "a") == 0);  // a release uses no attempt
  }
}

BOOST_AUTO_TEST_CASE(handlers_can_be_replaced_while_running) {
  EngineFixture f;
  f.start({f.handler("a")}, no_polling());
  f.append("e1", "ok", {"a", "b"});
  BOOST_REQUIRE(eventually([&] { return f.state("e1", "a") == "done"; }));
  BOOST_TEST(f.state("e1", "b") == "pending");  // no handler "b" configured: it waits
  f.engine->set_handlers({f.handler("a"), f.handler("b")});
  BOOST_REQUIRE(eventually([&] { return f.state("e1", "b") == "done"; }));
}

BOOST_AUTO_TEST_CASE(metrics_count_attempts_and_the_queue) {
  hookd::metrics::Registry registry;
  EngineFixture f;
  EngineOptions options = no_polling();
  options.store_path = f.path();
  options.gauge_interval = 20ms;
  f.start({f.handler("a", 4, 2)}, options, &registry);
  f.append("e1", "ok", {"a"});
  f.append("e2", "retry", {"a"});
  BOOST_REQUIRE(eventually([&] { return f.settled("e1", "a") && f.settled("e2", "a"); }));
  const hookd::metrics::Labels pair{{"route", "r"}, {"handler", "a"}};
  auto attempts = [&](const char* outcome) {
    auto labels = pair;
    labels.emplace_back("outcome", outcome);
    return registry.counter("hookd_delivery_attempts_total", "", labels).value();
  };
  BOOST_TEST(attempts("ok") == 1u);
  BOOST_TEST(attempts("retry") == 2u);
  BOOST_TEST(registry.counter("hookd_retries_scheduled_total", "", pair).value() == 1u);
  BOOST_TEST(registry.counter("hookd_deliveries_dead_total", "", pair).value() == 1u);
  BOOST_TEST(registry.counter("hookd_deliveries_done_total", "", pair).value() == 1u);
  BOOST_TEST(eventually([&] {
    return registry.gauge("hookd_deliveries", "", {{"state", "dead"}}).value() == 1.0 &&
           registry.gauge("hookd_deliveries", "", {{"state", "done"}}).value() == 1.0;
  }));
  f.append("e3", "sleep:100", {"a"});  // pending or running for a moment
  f.engine->stop(5s);
  BOOST_TEST(registry.histogram("hookd_handler_duration_seconds", "", {}, pair).count() >= 3u);
}

BOOST_AUTO_TEST_SUITE_END()
