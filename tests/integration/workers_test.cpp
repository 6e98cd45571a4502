// The delivery engine through the real binary: events run on a handler plugin, a delivery
// cut off by SIGKILL runs again after restart (lease), SIGHUP reloads a good config and
// refuses a bad one, `hookd check` loads the plugins, and plugins get a minimal environment.
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "db.hpp"
#include "eventually.hpp"
#include "plugins.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

std::string workers_config(const std::string& routes_extra = "",
                           const std::string& handler_extra = "") {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  io_threads: 1\n"
         "  shutdown_grace: 5s\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }\n"
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n"
         "workers:\n"
         "  threads: 2\n"
         "  handler_timeout: 1s\n"
         "  retry: { max_attempts: 3, initial_backoff: 50ms, max_backoff: 100ms }\n"
         "plugins:\n"
         "  script: { library: " +
         fixture_plugin("script") +
         ", config: { log: calls.log } }\n"
         "routes:\n"
         "  - name: w\n"
         "    path: /webhooks/w\n"
         "    auth: none\n"
         "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n"
         "    handlers:\n"
         "      - { plugin: script, types: [\"order.*\"]" +
         handler_extra + " }\n" + routes_extra;
}

int post(std::uint16_t port, const std::string& path, const std::string& id,
         const std::string& type, const std::string& body) {
  TlsClient c(port);
  return c.post(path, body, {{"X-Event-Id", id}, {"X-Event-Type", type}}).status;
}

std::string state(const TempDir& dir, const std::string& id) {
  return delivery_state(dir.file("hookd.db"), id);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Names of `env`-style NAME=value lines, without those a shell sets for itself.
std::set<std::string> variable_names(const std::string& listing) {
  std::set<std::string> out;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find('='));
    if (name != "PWD" && name != "OLDPWD" && name != "SHLVL" && name != "_") out.insert(name);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(workers)

BOOST_AUTO_TEST_CASE(events_run_on_their_handlers_and_the_cli_shows_it) {
  TempDir dir;
  ServerProcess server(dir, workers_config());
  BOOST_TEST(post(server.port(), "/webhooks/w", "e1", "order.paid", "ok") == 202);
  BOOST_TEST(post(server.port(), "/webhooks/w", "e2", "order.paid", "flaky:2") == 202);
  BOOST_TEST(post(server.port(), "/webhooks/w", "e3", "order.paid", "fail") == 202);
  BOOST_TEST(post(server.port(), "/webhooks/w", "e4", "user.created", "ok") == 202);
  BOOST_REQUIRE(eventually([&] {
    return state(dir, "e1") == "done" && state(dir, "e2") == "done" && state(dir, "e3") == "dead";
  }));
  BOOST_TEST(state(dir, "e4") == "(none)");  // matched no handler
  {
    Db db(dir.file("hookd.db"));
    BOOST_TEST(db.integer("SELECT unmatched FROM events WHERE id = 'e4'") == 1);
  }
  auto show = run_hookd(dir.path().string(), "events show e2 -c hookd.yaml");
  BOOST_TEST(show.code == 0);
  BOOST_TEST(show.output.find("script") != std::string::npos, show.output);
  BOOST_TEST(show.output.find("flaky attempt 1") != std::string::npos, show.output);  // history
  auto json = run_hookd(dir.path().string(), "events show e2 --json -c hookd.yaml");
  BOOST_TEST(json.output.find(R"("history":[{"attempt":1,"outcome":"retry")") != std::string::npos,
             json.output);
  BOOST_TEST(json.output.find(R"({"attempt":2,"outcome":"ok")") != std::string::npos, json.output);
  // A plugin's message on ok is kept with its attempt (not as the delivery's last error).
  BOOST_TEST(json.output.find(R"("message":"flaky succeeded at attempt 2","error":null)") !=
                 std::string::npos,
             json.output);
  BOOST_TEST(json.output.find(R"("message":"flaky attempt 1","error":"flaky attempt 1")") !=
                 std::string::npos,
             json.output);
  BOOST_TEST(show.output.find("flaky succeeded at attempt 2") != std::string::npos, show.output);
  BOOST_TEST(show.output.find("DELIVERY") != std::string::npos, show.output);
  BOOST_TEST(json.output.find(R"("delivery":)") != std::string::npos, json.output);
  // The server's lines about a delivery name its route and event, not just its number.
  BOOST_TEST(server.log().find("(route w, event e2, handler script) attempt 1 failed") !=
                 std::string::npos,
             server.log());
  BOOST_TEST(
      json.output.find(R"("state":"done","attempts":2,"last_error":null)") != std::string::npos,
      json.output);
  auto stats = run_hookd(dir.path().string(), "stats --json -c hookd.yaml");
  BOOST_TEST(stats.output.find("\"dead\":1") != std::string::npos, stats.output);
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

BOOST_AUTO_TEST_CASE(a_delivery_cut_off_by_sigkill_runs_again_after_restart) {
  TempDir dir;
  // The call waits for a file that is written only after the kill: it is surely still
  // running when the SIGKILL comes, up to handler_timeout after its start, 3 s here.
  std::string yaml = workers_config();
  yaml.replace(yaml.find("handler_timeout: 1s"), 19, "handler_timeout: 3s");
  const std::string gate = dir.file("gate");
  {
    ServerProcess server(dir, yaml);
    BOOST_TEST(post(server.port(), "/webhooks/w", "slow", "order.paid", "await:" + gate) == 202);
    // The call has begun, and the store knows (written lazily: a start the store does not
    // know of would be given back without counting the attempt).
    BOOST_REQUIRE(eventually([&] {
      return read_file(dir.file("calls.log")).find("start slow 1") != std::string::npos &&
             Db(dir.file("hookd.db")).integer("SELECT started FROM deliveries") == 1;
    }));
    server.kill_hard();  // mid-handler
  }
  BOOST_TEST(state(dir, "slow") == "running");
  std::ofstream(gate) << "go";  // the next attempt ends at once
  ServerProcess again(dir, yaml);
  // No other process runs it (the store lock): it is rescued at once and runs again.
  BOOST_REQUIRE(eventually([&] { return state(dir, "slow") == "done"; }, 30s));
  const auto log = read_file(dir.file("calls.log"));
  BOOST_TEST(log.find("start slow 2") != std::string::npos, log);
  Db db(dir.file("hookd.db"));
  BOOST_TEST(db.column("SELECT outcome FROM attempts ORDER BY attempt") ==
             (std::vector<std::string>{"lease_expired", "ok"}));
}

// Deliveries claimed (at append, or by a claim) but not yet running when hookd dies wait in
// the store as `running`: the restart gives them back without counting the attempt, so
// each runs once, attempt 1, and none ends dead unrun (max_attempts 1 here). The call that
// was running counts its attempt.
BOOST_AUTO_TEST_CASE(claimed_deliveries_that_never_ran_lose_no_attempt_to_a_sigkill) {
  TempDir dir;
  std::string yaml = workers_config("", ", concurrency: 1");
  yaml.replace(yaml.find("threads: 2"), 10, "threads: 1");
  yaml.replace(yaml.find("handler_timeout: 1s"), 19, "handler_timeout: 30s");
  yaml.replace(yaml.find("max_attempts: 3"), 15, "max_attempts: 1");
  const std::string gate = dir.file("gate");
  {
    ServerProcess server(dir, yaml);
    // h0 holds the only thread; q1 and q2 are claimed behind it (claims run ahead).
    BOOST_TEST(post(server.port(), "/webhooks/w", "h0", "order.paid", "await:" + gate) == 202);
    BOOST_REQUIRE(eventually(
        [&] { return read_file(dir.file("calls.log")).find("start h0 1") != std::string::npos; }));
    BOOST_TEST(post(server.port(), "/webhooks/w", "q1", "order.paid", "ok") == 202);
    BOOST_REQUIRE(eventually([&] { return state(dir, "q1") == "running"; }));
    server.kill_hard();
  }
  std::ofstream(gate) << "go";
  ServerProcess again(dir, yaml);
  BOOST_REQUIRE_MESSAGE(eventually([&] { return state(dir, "q1") == "done"; }), again.log());
  BOOST_TEST(again.log().find("never started (pending again, no attempt used)") !=
                 std::string::npos,
             again.log());
  Db db(dir.file("hookd.db"));
  const std::string q1 = "(SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq "
                         "WHERE e.id = 'q1')";
  BOOST_TEST(db.integer("SELECT attempts FROM deliveries WHERE id = " + q1) == 1);
  BOOST_TEST(db.column("SELECT outcome FROM attempts WHERE delivery_id = " + q1) ==
             (std::vector<std::string>{"ok"}));
  // h0 ran: done when its start had not reached the store (run again, uncounted), dead
  // when it had (the cut-off call counted: max_attempts 1).
  BOOST_TEST(eventually([&] { return state(dir, "h0") == "done" || state(dir, "h0") == "dead"; }));
  again.signal(SIGTERM);
  BOOST_TEST(again.wait() == 0);
}

BOOST_AUTO_TEST_CASE(sighup_reloads_a_good_config_and_refuses_a_bad_one) {
  TempDir dir;
  ServerProcess server(dir, workers_config());
  BOOST_TEST(post(server.port(), "/webhooks/new", "n0", "order.paid", "ok") == 404);

  // A bad config (a handler naming an unknown plugin) changes nothing.
  std::ofstream(dir.file("hookd.yaml")) << workers_config(
      "  - name: new\n    path: /webhooks/new\n    auth: none\n"
      "    handlers: [{ plugin: nope, types: [\"*\"] }]\n");
  server.signal(SIGHUP);
  BOOST_REQUIRE(
      eventually([&] { return server.log().find("reload refused") != std::string::npos; }));
  BOOST_TEST(server.log().find("'nope' is not in the `plugins` section") != std::string::npos);
  BOOST_TEST(post(server.port(), "/webhooks/new", "n1", "order.paid", "ok") == 404);
  BOOST_TEST(post(server.port(), "/webhooks/w", "w1", "order.paid", "ok") == 202);

  // A good one adds the route and a handler type, without a restart.
  std::ofstream(dir.file("hookd.yaml")) << workers_config(
      "  - name: new\n    path: /webhooks/new\n    auth: none\n"
      "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n"
      "    handlers: [{ plugin: script, types: [\"*\"] }]\n");
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return server.log().find("reloaded") != std::string::npos; }));
  BOOST_TEST(post(server.port(), "/webhooks/new", "n2", "anything", "ok") == 202);
  BOOST_REQUIRE(eventually([&] { return state(dir, "n2") == "done"; }));
  // Posted before the reload, but nothing orders its call before n2's.
  BOOST_TEST(eventually([&] { return state(dir, "w1") == "done"; }));
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

// A plugin rebuilt in place (a new file renamed over the old one, as a linker or a package
// upgrade does) is picked up by SIGHUP: dlopen would hand back the library still loaded
// under that path, so the old code kept running (issue 15, item 1).
BOOST_AUTO_TEST_CASE(sighup_loads_a_plugin_rebuilt_in_place) {
  TempDir dir;
  const std::string fixtures = HOOKD_FIXTURE_DIR;
  auto install = [&](const std::string& fixture) {  // write aside, then rename over
    std::filesystem::copy_file(fixtures + "/" + fixture, dir.file("plugin.so.new"),
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(dir.file("plugin.so.new"), dir.file("plugin.so"));
  };
  install("libhookd_fixture_ok.so");  // ok, with its config text as the message
  const std::string yaml =
      "server:\n  listen: 127.0.0.1:0\n  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
      "admin: { listen: 127.0.0.1:0 }\n"
      "storage: { path: hookd.db }\n"
      "plugins:\n  p: { library: ./plugin.so, config: { marker: first-build } }\n"
      "routes:\n  - name: w\n    path: /webhooks/w\n    auth: none\n"
      "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n"
      "    handlers: [{ plugin: p, types: [\"*\"] }]\n";
  ServerProcess server(dir, yaml);
  BOOST_TEST(server.log().find("plugin 'p' (") != std::string::npos, server.log());
  BOOST_TEST(server.log().find(") loaded from ./plugin.so") != std::string::npos, server.log());
  auto message = [&](const std::string& id) {
    Db db(dir.file("hookd.db"));
    return db
        .text(
            "SELECT a.error FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "JOIN events e ON e.seq = d.event_seq WHERE e.id = ?",
            {id})
        .value_or("(none)");
  };
  BOOST_TEST(post(server.port(), "/webhooks/w", "before", "t", "x") == 202);
  BOOST_REQUIRE(eventually([&] { return state(dir, "before") == "done"; }));
  BOOST_TEST(message("before").find("first-build") != std::string::npos, message("before"));

  install("libhookd_fixture_retry_fail.so");  // ok, with "id route type attempt ..."
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return server.log().find("reloaded") != std::string::npos; }));
  BOOST_TEST(server.log().find("the file changed since it was last loaded") != std::string::npos,
             server.log());
  BOOST_TEST(post(server.port(), "/webhooks/w", "after", "t", "x") == 202);
  BOOST_REQUIRE(eventually([&] { return state(dir, "after") == "done"; }));
  BOOST_TEST(message("after").starts_with("after w t 1"), message("after"));
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_lets_a_running_handler_finish) {
  TempDir dir;
  ServerProcess server(dir, workers_config());
  BOOST_TEST(post(server.port(), "/webhooks/w", "s1", "order.paid", "sleep:500") == 202);
  BOOST_REQUIRE(eventually(
      [&] { return read_file(dir.file("calls.log")).find("start s1 1") != std::string::npos; }));
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
  BOOST_TEST(state(dir, "s1") == "done");
  BOOST_TEST(count(read_file(dir.file("calls.log")), "end s1") == 1u);
}

// A call past handler_timeout never runs beside its own retry, nor beside the next
// delivery of its ordering key: in a host the call is killed with its host before the
// timeout is reported; in a thread (which cannot be interrupted) the retry and the key wait
// until the call returns. The script plugin holds a flock(2) per event id and per type (the
// ordering key here) during each call and logs "overlap" when one is taken: the kernel
// drops a host's locks only when the host is gone.
BOOST_AUTO_TEST_CASE(a_timed_out_call_never_overlaps_its_retry_or_its_key) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("locks"));
  std::string yaml = workers_config("", ", ordered_by: \"header:X-Event-Type\"");
  yaml.replace(yaml.find("handler_timeout: 1s"), 19, "handler_timeout: 500ms");
  yaml.replace(yaml.find("{ log: calls.log }"), 18, "{ log: calls.log, locks: locks }");
  ServerProcess server(dir, yaml);
  // Each call sleeps 1.5 s, three times its timeout: every attempt times out.
  BOOST_TEST(post(server.port(), "/webhooks/w", "t1", "order.k", "sleep:1500") == 202);
  BOOST_TEST(post(server.port(), "/webhooks/w", "t2", "order.k", "sleep:1500") == 202);
  BOOST_REQUIRE_MESSAGE(
      eventually([&] { return state(dir, "t1") == "dead" && state(dir, "t2") == "dead"; }, 60s),
      server.log());
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
  const std::string calls = read_file(dir.file("calls.log"));
  BOOST_TEST(count(calls, "overlap") == 0u, calls);
  BOOST_TEST(count(calls, "start t1") == 3u, calls);  // max_attempts, each a timeout
  BOOST_TEST(count(calls, "start t2") == 3u, calls);
  // The key's order: t2 starts only after t1's last call.
  BOOST_TEST(calls.find("start t2") > calls.rfind("start t1"), calls);
  Db db(dir.file("hookd.db"));
  BOOST_TEST(db.integer("SELECT count(*) FROM attempts WHERE outcome = 'timeout'") == 6);
}

// A call that outlasts the grace of a SIGTERM is cut off: serve exits 0 without running
// the plugins' destroy() beside it or unloading their code under it, and the delivery,
// whose call had begun, runs again at the next start (the attempt counted).
BOOST_AUTO_TEST_CASE(sigterm_cuts_off_a_call_that_outlasts_the_grace) {
  TempDir dir;
  std::string yaml = workers_config();
  yaml.replace(yaml.find("shutdown_grace: 5s"), 18, "shutdown_grace: 1s");
  yaml.replace(yaml.find("handler_timeout: 1s"), 19, "handler_timeout: 30s");
  const std::string gate = dir.file("gate");
  {
    ServerProcess server(dir, yaml);
    BOOST_TEST(post(server.port(), "/webhooks/w", "long", "order.paid", "await:" + gate) == 202);
    BOOST_REQUIRE(eventually([&] {
      return read_file(dir.file("calls.log")).find("start long 1") != std::string::npos &&
             Db(dir.file("hookd.db")).integer("SELECT started FROM deliveries") == 1;
    }));
    server.signal(SIGTERM);
    BOOST_TEST(server.wait() == 0);
    BOOST_TEST(server.log().find("stopped with 1 handler call(s) still running (cut off)") !=
                   std::string::npos,
               server.log());
  }
  BOOST_TEST(state(dir, "long") == "running");
  std::ofstream(gate) << "go";
  ServerProcess again(dir, yaml);
  BOOST_REQUIRE(eventually([&] { return state(dir, "long") == "done"; }));
  Db db(dir.file("hookd.db"));
  BOOST_TEST(db.column("SELECT outcome FROM attempts ORDER BY attempt") ==
             (std::vector<std::string>{"lease_expired", "ok"}));
}

BOOST_AUTO_TEST_CASE(bundled_log_and_jofi_plugins_end_to_end) {
  // The JOFI route of the default config, on this build's plugins: the sample payloads
  // (out of order on purpose) end in the jofi plugin's table and the log plugin's file.
  TempDir dir;
  const std::string plugins = HOOKD_PLUGIN_DIR;
  std::string yaml = workers_config();
  yaml.replace(yaml.find("plugins:\n"), std::string("plugins:\n").size(),
               "plugins:\n"
               "  log: { library: " +
                   plugins +
                   "/libhookd_log.so, config: { path: data/events.jsonl } }\n"
                   "  jofi: { library: " +
                   plugins + "/libhookd_jofi.so, config: { database: data/jofi.db } }\n");
  yaml +=
      "  - name: jofi\n"
      "    path: /webhooks/incoming/jofi\n"
      "    auth: none\n"
      "    event: { id: json:/id, type: json:/type }\n"
      "    handlers:\n"
      "      - { plugin: log, types: [\"*\"] }\n"
      "      - { plugin: jofi, types: [\"invitation.*\", \"test_taker.*\"], "
      "ordered_by: json:/data/participant_id }\n";
  ServerProcess server(dir, yaml);
  const std::string samples = std::string(HOOKD_SOURCE_DIR) + "/config/examples/jofi-payloads/";
  for (const char* name : {"invited", "started", "assessment_completed"}) {
    TlsClient c(server.port());
    BOOST_TEST(c.post("/webhooks/incoming/jofi", read_file(samples + name + ".json")).status == 202,
               name);
  }
  BOOST_REQUIRE(eventually([&] {
    Db db(dir.file("hookd.db"));
    return db.integer("SELECT count(*) FROM deliveries WHERE state = 'done'") == 6;
  }));
  Db jofi(dir.file("data/jofi.db"));
  BOOST_TEST(jofi.text("SELECT status FROM participant_assessments WHERE participant_id = 'p_123'")
                 .value_or("") == "completed");
  BOOST_TEST(jofi.integer("SELECT count(*) FROM notifications") == 1);
  BOOST_TEST(count(read_file(dir.file("data/events.jsonl")), "\"route\":\"jofi\"") == 3u);
}

BOOST_AUTO_TEST_CASE(plugins_get_only_the_environment_passed_to_them) {
  // The same exec command in a host (process) and in the server (thread): it writes its own
  // environment and, in a host, the host's (its parent's /proc/PID/environ).
  TempDir dir;
  const std::string script =
      "env > " + dir.file("command-") +
      "$WHICH.env; [ $WHICH = thread ] || tr \"\\0\" \"\\n\" < /proc/$PPID/environ > " +
      dir.file("host.env");
  std::string yaml = workers_config();
  const auto exec_plugin = [&](const std::string& which) {
    return "  exec_" + which + ":\n    library: " + bundled_plugin("exec") +
           "\n    isolation: " + which +
           "\n    env: [HOOKD_TEST_ALLOWED]\n"
           "    config: { command: ['/bin/sh', '-c', '" +
           script + "'], env: { WHICH: " + which + " } }\n";
  };
  yaml.replace(yaml.find("plugins:\n"), std::string("plugins:\n").size(),
               "plugins:\n" + exec_plugin("process") + exec_plugin("thread"));
  yaml +=
      "  - name: env\n"
      "    path: /webhooks/env\n"
      "    auth:\n"
      "      - basic: { username: u, password: \"${env:HOOKD_TEST_SECRET}\" }\n"
      "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n"
      "    handlers:\n"
      "      - { plugin: exec_process, types: [\"*\"] }\n"
      "      - { plugin: exec_thread, types: [\"*\"] }\n";
  ServerProcess server(dir, yaml,
                       ServerOptions{.env = {{"HOOKD_TEST_SECRET", "s3cret-value"},
                                             {"HOOKD_TEST_ALLOWED", "passed on"},
                                             {"NOTIFY_SOCKET", dir.file("no-manager")},
                                             {"WATCHDOG_USEC", "60000000"},
                                             {"HTTPS_PROXY", "http://proxy.invalid:3128"}}});
  {
    TlsClient c(server.port());
    BOOST_TEST(c.post("/webhooks/env", "{}",
                      {{"X-Event-Id", "env-1"},
                       {"X-Event-Type", "t"},
                       {"Authorization", "Basic dTpzM2NyZXQtdmFsdWU="}})  // u:s3cret-value
                   .status == 202);
  }
  BOOST_REQUIRE(eventually([&] {
    Db db(dir.file("hookd.db"));
    return db.integer("SELECT count(*) FROM deliveries WHERE state = 'done'") == 2;
  }));

  // PATH, LANG, TZ and the proxy variables as this process (the server's parent) has them.
  std::set<std::string> defaults{"HTTPS_PROXY"};
  for (const char* name :
       {"PATH", "LANG", "TZ", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}) {
    if (std::getenv(name) != nullptr) defaults.insert(name);
  }
  std::set<std::string> host = defaults;
  host.insert("HOOKD_TEST_ALLOWED");
  std::set<std::string> command = defaults;
  command.insert({"WHICH", "HOOKD_EVENT_ID", "HOOKD_EVENT_TYPE", "HOOKD_ROUTE", "HOOKD_ATTEMPT"});

  const std::string host_env = read_file(dir.file("host.env"));
  BOOST_TEST(variable_names(host_env) == host, boost::test_tools::per_element());
  BOOST_TEST(host_env.find("HOOKD_TEST_ALLOWED=passed on\n") != std::string::npos, host_env);
  for (const char* which : {"process", "thread"}) {
    BOOST_TEST_CONTEXT(which) {
      const std::string env = read_file(dir.file("command-") + which + ".env");
      // In a host the command gets the host's environment, the plugin's env list included;
      // under thread isolation that list cannot apply (hookd's own process).
      std::set<std::string> expected = command;
      if (std::string(which) == "process") expected.insert("HOOKD_TEST_ALLOWED");
      BOOST_TEST(variable_names(env) == expected, boost::test_tools::per_element());
      BOOST_TEST(env.find("s3cret") == std::string::npos, env);
    }
  }
  BOOST_TEST(host_env.find("s3cret") == std::string::npos, host_env);
  // Under thread isolation the plugin's env list cannot apply: the operator is told.
  BOOST_TEST(server.log().find("plugins.exec_thread.env (hookd.yaml:") != std::string::npos,
             server.log());
  BOOST_TEST(server.log().find("plugins.exec_process.env (") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_loads_every_plugin_with_its_config) {
  TempDir dir;
  std::ofstream(dir.file("hookd.yaml")) << workers_config();
  auto ok = run_hookd(dir.path().string(), "check -c hookd.yaml");
  BOOST_TEST(ok.code == 0, ok.output);
  BOOST_TEST(ok.output.find("1 plugins") != std::string::npos, ok.output);

  std::string bad = workers_config();
  bad.replace(bad.find(fixture_plugin("script")), fixture_plugin("script").size(),
              dir.file("missing.so"));
  bad += "";
  std::ofstream(dir.file("bad.yaml")) << bad;
  auto r = run_hookd(dir.path().string(), "check -c bad.yaml");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.output.find("bad.yaml:15:3: plugins.script: ") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("missing.so") != std::string::npos, r.output);

  // The plugin refusing its config is reported the same way.
  std::string refused = workers_config();
  refused.replace(refused.find("config: { log: calls.log }"), 26, "config: { other: 1 }");
  std::ofstream(dir.file("refused.yaml")) << refused;
  auto f = run_hookd(dir.path().string(), "check -c refused.yaml");
  BOOST_TEST(f.code == 1);
  BOOST_TEST(f.output.find("script: missing log:") != std::string::npos, f.output);
}

BOOST_AUTO_TEST_SUITE_END()
