// The bundled `exec` plugin through the real loader: exit codes to outcomes, environment
// and stdin, big bodies, timeouts, output in messages, shell mode, and no zombies.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hookd/plugin/loader.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using namespace hookd::plugin;
using namespace std::string_literals;

using hookd::test::contains;
using hookd::test::create_error;
using hookd::test::file_text;

namespace {

Instance make_exec(const std::string& yaml) {
  return Library::load(hookd::test::bundled_plugin("exec"))->create(yaml);
}

// A YAML single-quoted scalar.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? "''" : std::string(1, c);
  return out + "'";
}

// Config running `script` with /bin/sh -c (argv form, no shell: option), plus `extra`.
std::string sh(const std::string& script, const std::string& extra = "") {
  return "command: ['/bin/sh', '-c', " + quoted(script) + "]\n" + extra;
}

Result run(const Instance& instance, hookd::test::TestEvent ev = {}) {
  return instance.handle(ev.view());
}

// True when this process has no child left, neither running nor a zombie. Reaps what it
// finds, so call it only when no handle() call is running.
bool no_children() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

// True once `pid` is gone or a zombie (of whoever is its parent now), waiting up to 5 s.
bool ends(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    const std::string stat = file_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close_paren = stat.rfind(')');
    if (stat.empty() || (close_paren != std::string::npos && stat[close_paren + 2] == 'Z')) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_exec)

BOOST_AUTO_TEST_CASE(exit_status_maps_to_outcome) {
  BOOST_TEST((run(make_exec(sh("exit 0"))).outcome == Outcome::ok));
  BOOST_TEST((run(make_exec("command: [/bin/true]\n")).outcome == Outcome::ok));

  const Result tempfail = run(make_exec(sh("exit 75")));
  BOOST_TEST((tempfail.outcome == Outcome::retry));
  BOOST_TEST(contains(tempfail.message, "status 75"), tempfail.message);

  const Result failed = run(make_exec(sh("exit 3")));
  BOOST_TEST((failed.outcome == Outcome::fail));
  BOOST_TEST(contains(failed.message, "exited with status 3"), failed.message);

  const Result killed = run(make_exec(sh("kill -TERM $$")));
  BOOST_TEST((killed.outcome == Outcome::retry));
  BOOST_TEST(contains(killed.message, "signal 15"), killed.message);
  BOOST_TEST(no_children());
}

BOOST_AUTO_TEST_CASE(body_on_stdin_and_event_in_environment) {
  hookd::test::TempDir dir;
  setenv("HOOKD_TEST_INHERITED", "from-parent", 1);
  const Instance exec =
      make_exec(sh("cat > " + dir.file("body") + " && env > " + dir.file("env"),
                   "env:\n  EXTRA_ONE: 'with spaces'\n  HOOKD_TEST_INHERITED: overridden\n"));
  unsetenv("HOOKD_TEST_INHERITED");

  hookd::test::TestEvent ev;
  ev.id = "evt-77";
  ev.route = "jofi";
  ev.type = "test_taker.created";
  ev.attempt = 4;
  ev.body = "line one\nbinary: \xff\x00\x01 end"s;
  const Result r = run(exec, ev);
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  BOOST_TEST(file_text(dir.file("body")) == ev.body);

  const std::string env = "\n" + file_text(dir.file("env"));
  BOOST_TEST(contains(env, "\nHOOKD_EVENT_ID=evt-77\n"), env);
  BOOST_TEST(contains(env, "\nHOOKD_EVENT_TYPE=test_taker.created\n"));
  BOOST_TEST(contains(env, "\nHOOKD_ROUTE=jofi\n"));
  BOOST_TEST(contains(env, "\nHOOKD_ATTEMPT=4\n"));
  BOOST_TEST(contains(env, "\nEXTRA_ONE=with spaces\n"));
  BOOST_TEST(contains(env, "\nHOOKD_TEST_INHERITED=overridden\n"));
  BOOST_TEST(!contains(env, "from-parent"));
  BOOST_TEST(contains(env, "\nPATH="));  // the inherited environment
}

// In this process, as under thread isolation (hookd's own environment): of the environment a
// command gets only PATH, LANG, TZ and the proxy variables; `env` may replace one of them.
BOOST_AUTO_TEST_CASE(secrets_of_the_environment_do_not_reach_a_command) {
  hookd::test::TempDir dir;
  const char* const kSet[] = {"HOOKD_TEST_SECRET", "NOTIFY_SOCKET", "WATCHDOG_USEC", "no_proxy"};
  for (const char* name : kSet) BOOST_REQUIRE(std::getenv(name) == nullptr);
  for (const char* name : kSet) setenv(name, "s3cret-or-not", 1);
  const Instance exec =
      make_exec(sh("env > " + dir.file("env"), "env:\n  PATH: /usr/bin:/bin\n  EXTRA_TWO: x\n"));
  for (const char* name : kSet) unsetenv(name);
  BOOST_TEST((run(exec).outcome == Outcome::ok));

  std::set<std::string> expected{"PATH",           "no_proxy",         "EXTRA_TWO",
                                 "HOOKD_EVENT_ID", "HOOKD_EVENT_TYPE", "HOOKD_ROUTE",
                                 "HOOKD_ATTEMPT"};
  for (const char* name :
       {"LANG", "TZ", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY"}) {
    if (std::getenv(name) != nullptr) expected.insert(name);
  }
  const std::string env = file_text(dir.file("env"));
  std::set<std::string> names;
  std::istringstream lines(env);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find('='));
    if (name != "PWD") names.insert(name);  // the shell's own
  }
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST(contains("\n" + env, "\nPATH=/usr/bin:/bin\n"), env);
  BOOST_TEST(contains(env, "no_proxy=s3cret-or-not\n"), env);
}

BOOST_AUTO_TEST_CASE(big_body_to_a_command_that_does_not_read_it) {
  hookd::test::TestEvent ev;
  ev.body = std::string(4 << 20, 'x');
  // Exits at once (the write gets EPIPE, which must not kill us) ...
  BOOST_TEST((run(make_exec(sh("exit 0")), ev).outcome == Outcome::ok));
  // ... or runs a while with the pipe full, then exits.
  BOOST_TEST((run(make_exec(sh("sleep 0.2; exit 4")), ev).outcome == Outcome::fail));
  // And one that reads it all gets it all.
  hookd::test::TempDir dir;
  BOOST_TEST((run(make_exec(sh("wc -c > " + dir.file("n"))), ev).outcome == Outcome::ok));
  BOOST_TEST(std::stoul(file_text(dir.file("n"))) == ev.body.size());
  BOOST_TEST(no_children());
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_process_group_and_retries) {
  hookd::test::TempDir dir;
  const std::string pid_file = dir.file("pid");
  // The timeout must not come before the shell has started `sleep` and written its pid,
  // which takes a loaded machine a while: 2 s, not a few hundred ms.
  const Instance exec =
      make_exec(sh("sleep 30 & echo $! > " + pid_file + "; wait", "timeout: 2s\n"));
  const Result r = run(exec);
  BOOST_TEST_MESSAGE("message: " << r.message);
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(contains(r.message, "timed out after 2s"), r.message);
  BOOST_TEST(no_children());
  // The background `sleep`, a grandchild in the same process group, was killed too.
  BOOST_REQUIRE(!file_text(pid_file).empty());
  const pid_t grandchild = std::stoi(file_text(pid_file));
  BOOST_TEST(ends(grandchild));
}

BOOST_AUTO_TEST_CASE(output_tail_is_in_the_message) {
  const Instance exec =
      make_exec(sh("echo start-marker >&2; echo to-stdout; i=0; while [ $i -lt 300 ]; do "
                   "echo noise-line-$i >&2; i=$((i+1)); done; echo 'the end' >&2; exit 2"));
  const Result r = run(exec);
  BOOST_TEST_MESSAGE("message: " << r.message);
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "exited with status 2"), r.message);
  BOOST_TEST(contains(r.message, "the end"), r.message);
  BOOST_TEST(!contains(r.message, "start-marker"), r.message);  // only the tail
  BOOST_TEST(contains(r.message, "to-stdout"), r.message);
  BOOST_TEST(!contains(r.message, "\n"), r.message);
  BOOST_TEST(r.message.size() < kMessageCapacity);

  const Result ok = run(make_exec(sh("echo fine >&2")));
  BOOST_TEST((ok.outcome == Outcome::ok));
}

BOOST_AUTO_TEST_CASE(shell_mode) {
  hookd::test::TempDir dir;
  const Instance exec = make_exec(
      "shell: true\ncommand: " +
      quoted("printf '%s|%s' \"$HOOKD_ROUTE\" \"$(cat)\" > " + dir.file("out") + " && exit 75") +
      "\n");
  hookd::test::TestEvent ev;
  ev.route = "orders";
  ev.body = "hello";
  BOOST_TEST((run(exec, ev).outcome == Outcome::retry));
  BOOST_TEST(file_text(dir.file("out")) == "orders|hello");

  const std::string list = create_error("exec", "shell: true\ncommand: [a, b]\n");
  BOOST_TEST(contains(list, "command"), list);
  const std::string line = create_error("exec", "command: 'echo hi'\n");  // without shell: true
  BOOST_TEST(contains(line, "shell: true"), line);
}

BOOST_AUTO_TEST_CASE(missing_executable) {
  const std::string e = create_error("exec", "command: [/no/such/program, --flag]\n");
  BOOST_TEST(contains(e, "/no/such/program"), e);
  BOOST_TEST(contains(e, "No such file or directory"), e);

  // Searched in PATH at run time: a permanent failure with a clear message.
  const Result r = run(make_exec("command: [hookd-no-such-program-xyz]\n"));
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "cannot run hookd-no-such-program-xyz"), r.message);
  BOOST_TEST(contains(r.message, "No such file or directory"), r.message);
  BOOST_TEST(no_children());
}

BOOST_AUTO_TEST_CASE(bad_config_is_refused) {
  BOOST_TEST(contains(create_error("exec", sh("true", "retries: 3\n")), "unknown key"));
  BOOST_TEST(contains(create_error("exec", "timeout: 5s\n"), "command"));
  BOOST_TEST(contains(create_error("exec", sh("true", "timeout: soon\n")), "timeout"));
  BOOST_TEST(contains(create_error("exec", sh("true", "env:\n  HOOKD_ROUTE: x\n")), "HOOKD_ROUTE"));
  BOOST_TEST(contains(create_error("exec", sh("true", "env:\n  'BAD NAME': x\n")), "BAD NAME"));
  BOOST_TEST(contains(create_error("exec", sh("true", "env: [A]\n")), "env"));
}

BOOST_AUTO_TEST_CASE(child_gets_no_inherited_descriptors) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  BOOST_REQUIRE(leaked > 2);
  const Result r =
      run(make_exec(sh("test -e /proc/$$/fd/" + std::to_string(leaked) + " && exit 9; exit 0")));
  ::close(leaked);
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
}

BOOST_AUTO_TEST_CASE(concurrent_calls_leave_no_zombies) {
  hookd::test::TempDir dir;
  const Instance exec =
      make_exec(sh("cat > /dev/null; echo \"$HOOKD_EVENT_ID\" >> " + dir.file("ids") +
                   "; [ $((HOOKD_ATTEMPT % 3)) -eq 0 ] && exit 75; exit 0"));
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<int> ok(kThreads, 0), retry(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        hookd::test::TestEvent ev;
        ev.id = "t" + std::to_string(t) + "-" + std::to_string(i);
        ev.attempt = static_cast<std::uint32_t>(i + 1);
        ev.body = std::string(100'000, 'b');
        const Result r = exec.handle(ev.view());
        ++(r.outcome == Outcome::ok ? ok : retry)[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  int oks = 0, retries = 0;
  for (int t = 0; t < kThreads; ++t) {
    oks += ok[t];
    retries += retry[t];
  }
  BOOST_TEST(retries == kThreads * 8);  // attempts 3, 6, ..., 24
  BOOST_TEST(oks == kThreads * (kPerThread - 8));
  BOOST_TEST(no_children());
  std::ifstream ids(dir.file("ids"));
  int lines = 0;
  for (std::string line; std::getline(ids, line);) ++lines;
  BOOST_TEST(lines == kThreads * kPerThread);
}

BOOST_AUTO_TEST_SUITE_END()
