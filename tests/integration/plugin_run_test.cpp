// `hookd plugin-run`: one delivery through a fixture plugin in both isolation modes, the
// printed result and exit codes, the event fields reaching the plugin, the config text
// serve would give it, the host's environment, and a crash that ends the host, not the
// command.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "server_process.hpp"

using namespace hookd::test;

namespace {

std::string fixture(const std::string& name) {
  return std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_" + name + ".so";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs plugin-run on `library` with the body file `body.txt` holding `body`.
CommandResult plugin_run(const TempDir& dir, const std::string& library, const std::string& body,
                         const std::string& args = "") {
  dir.write("body.txt", body);
  return run_hookd(dir.path().string(),
                   "plugin-run --library " + fixture(library) + " --body body.txt " + args);
}

const char* const kIsolations[] = {"process", "thread"};

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_plugin_run)

BOOST_AUTO_TEST_CASE(outcomes_and_exit_codes) {
  for (const std::string isolation : kIsolations) {
    TempDir dir;
    const std::string mode = "--isolation " + isolation;
    auto ok = plugin_run(dir, "retry_fail", "hello", mode);
    BOOST_TEST(ok.code == 0, isolation << ": " << ok.output);
    BOOST_TEST(contains(ok.output, "outcome: ok\n"), ok.output);
    BOOST_TEST(contains(ok.output, "message: plugin-run-1 plugin-run test 1 0 0 "), ok.output);

    auto retry = plugin_run(dir, "retry_fail", "retry", mode);
    BOOST_TEST(retry.code == 3, isolation << ": " << retry.output);
    BOOST_TEST(
        contains(retry.output, "outcome: retry\nretry_after: 250 ms\nmessage: downstream busy\n"),
        retry.output);

    auto fail = plugin_run(dir, "retry_fail", "fail", mode + " --json");
    BOOST_TEST(fail.code == 4, isolation << ": " << fail.output);
    BOOST_TEST(fail.output ==
                   R"({"outcome":"fail","retry_after_ms":0,"message":"unknown participant"})"
                   "\n",
               fail.output);

    auto invalid = plugin_run(dir, "retry_fail", "invalid", mode);
    BOOST_TEST(invalid.code == 3, invalid.output);
    BOOST_TEST(contains(invalid.output,
                        "retry_after: 0 (the handler's backoff decides)\n"
                        "message: plugin 'retry_fail' returned invalid outcome 42: "
                        "confused\n"),
               invalid.output);
  }
}

BOOST_AUTO_TEST_CASE(event_fields_reach_the_plugin) {
  for (const std::string isolation : kIsolations) {
    TempDir dir;
    auto r = plugin_run(dir, "crashy", "hi",
                        "--isolation " + isolation +
                            " --type invitation.created --route jofi --id evt_7 --attempt 2"
                            " --header 'X-Event-Id: evt_7' --header 'Authorization: Basic eA=='"
                            " --header 'X-Empty:'");
    BOOST_TEST(r.code == 0, isolation << ": " << r.output);
    // id|route|type|received_at|attempt|headers|hex of body
    BOOST_TEST(contains(r.output, "message: evt_7|jofi|invitation.created|"), r.output);
    BOOST_TEST(contains(r.output, "|2|X-Event-Id=evt_7;Authorization=[redacted];X-Empty=;|6869\n"),
               r.output);
  }
  // The body from stdin.
  TempDir dir;
  auto r = run_command(dir.path().string(), "printf 'ab' | " + std::string(HOOKD_BINARY) +
                                                " plugin-run --library " + fixture("crashy") +
                                                " --body -");
  BOOST_TEST(r.code == 0, r.output);
  BOOST_TEST(contains(r.output, "|6162\n"), r.output);
}

BOOST_AUTO_TEST_CASE(the_config_text_is_what_serve_gives) {
  TempDir dir;
  ::setenv("HOOKD_TEST_PLUGIN_RUN_TOKEN", "s3cret", 1);
  dir.write("plugin.yaml",
            "path: \"data/counts.txt\"\nevery: 10\ntags: [a, b]\n"
            "nested: { token: \"${env:HOOKD_TEST_PLUGIN_RUN_TOKEN}\" }\n");
  auto r = plugin_run(dir, "ok", "x", "--config plugin.yaml --json");
  ::unsetenv("HOOKD_TEST_PLUGIN_RUN_TOKEN");
  BOOST_TEST(r.code == 0, r.output);
  // The block docs/plugins.md promises (the ok fixture echoes its config).
  BOOST_TEST(contains(r.output, R"("message":"path: data/counts.txt\nevery: 10\ntags:\n  - a\n  - )"
                                R"(b\nnested:\n  token: s3cret"})"),
             r.output);

  auto none = plugin_run(dir, "ok", "x");
  BOOST_TEST(none.code == 0, none.output);
  BOOST_TEST(contains(none.output, "message: \n"), none.output);
}

BOOST_AUTO_TEST_CASE(the_host_gets_the_environment_serve_gives_it) {
  // The exec plugin's command reads its parent's, the host's, environment.
  TempDir dir;
  dir.write("body.txt", "x");
  dir.write("exec.yaml",
            "command: ['/bin/sh', '-c', 'tr \"\\0\" \"\\n\" < /proc/$PPID/environ > host.env']\n");
  const std::string run = "HOOKD_TEST_SECRET=s3cret-value HOOKD_TEST_ALLOWED=yes WATCHDOG_USEC=1 " +
                          std::string(HOOKD_BINARY) + " plugin-run --library " +
                          std::string(HOOKD_PLUGIN_DIR) +
                          "/libhookd_exec.so --config exec.yaml --body body.txt";
  auto r = run_command(dir.path().string(), run + " --env HOOKD_TEST_ALLOWED");
  BOOST_TEST(r.code == 0, r.output);
  const std::string env = text_of(dir.file("host.env"));
  BOOST_TEST(contains(env, "HOOKD_TEST_ALLOWED=yes\n"), env);
  BOOST_TEST(contains(env, "PATH="), env);
  BOOST_TEST(!contains(env, "s3cret"), env);
  BOOST_TEST(!contains(env, "WATCHDOG_USEC"), env);

  r = run_command(dir.path().string(), run);
  BOOST_TEST(r.code == 0, r.output);
  BOOST_TEST(!contains(text_of(dir.file("host.env")), "HOOKD_TEST_ALLOWED"),
             text_of(dir.file("host.env")));

  auto bad = run_command(dir.path().string(), run + " --env FOO=bar");
  BOOST_TEST(bad.code == 1, bad.output);
  BOOST_TEST(contains(bad.output, "expected a variable name, got 'FOO=bar'"), bad.output);
}

BOOST_AUTO_TEST_CASE(a_bad_config_file_is_a_located_error) {
  TempDir dir;
  dir.write("list.yaml", "# not a map\n- a\n- b\n");
  auto list = plugin_run(dir, "ok", "x", "--config list.yaml");
  BOOST_TEST(list.code == 1, list.output);
  BOOST_TEST(contains(list.output, "list.yaml:2:1: config: expected a map"), list.output);

  dir.write("broken.yaml", "path: [unclosed\n");
  auto broken = plugin_run(dir, "ok", "x", "--config broken.yaml");
  BOOST_TEST(broken.code == 1, broken.output);
  BOOST_TEST(contains(broken.output, "broken.yaml:2:1: invalid YAML"), broken.output);

  auto missing = plugin_run(dir, "ok", "x", "--config nowhere.yaml");
  BOOST_TEST(missing.code == 1, missing.output);
  BOOST_TEST(contains(missing.output, "nowhere.yaml"), missing.output);
}

BOOST_AUTO_TEST_CASE(a_crash_is_reported_not_shared) {
  TempDir dir;
  auto segv = plugin_run(dir, "crashy", "segv");
  BOOST_TEST(segv.code == 5, segv.output);
  BOOST_TEST(contains(segv.output, "outcome: crashed\n"), segv.output);
  BOOST_TEST(contains(segv.output, "died: SIGSEGV"), segv.output);

  auto exited = plugin_run(dir, "crashy", "exit3", "--json");
  BOOST_TEST(exited.code == 5, exited.output);
  BOOST_TEST(contains(exited.output, R"({"outcome":"crashed")"), exited.output);
  BOOST_TEST(contains(exited.output, "exit status 3"), exited.output);

  for (const std::string isolation : kIsolations) {
    auto hang = plugin_run(dir, "crashy", "hang", "--timeout 2s --isolation " + isolation);
    BOOST_TEST(hang.code == 5, isolation << ": " << hang.output);
    BOOST_TEST(contains(hang.output, "outcome: timeout\n"), hang.output);
  }
}

BOOST_AUTO_TEST_CASE(a_plugin_that_does_not_start_is_a_user_error) {
  for (const std::string isolation : kIsolations) {
    TempDir dir;
    const std::string mode = " --isolation " + isolation;
    dir.write("refuse.yaml", "fail_create: true\n");
    auto refused = plugin_run(dir, "crashy", "x", "--config refuse.yaml" + mode);
    BOOST_TEST(refused.code == 1, isolation << ": " << refused.output);
    BOOST_TEST(contains(refused.output, "refused its config: refused: fail_create is set"),
               refused.output);

    auto wrong = plugin_run(dir, "wrong_abi", "x", mode);
    BOOST_TEST(wrong.code == 1, isolation << ": " << wrong.output);
    BOOST_TEST(contains(wrong.output, "was built for plugin ABI 2"), wrong.output);
  }
  TempDir dir;
  auto no_body = run_hookd(dir.path().string(),
                           "plugin-run --library " + fixture("ok") + " --body nowhere.txt");
  BOOST_TEST(no_body.code == 1, no_body.output);
  auto bad_header = plugin_run(dir, "ok", "x", "--header nocolon");
  BOOST_TEST(bad_header.code == 1, bad_header.output);
  BOOST_TEST(contains(bad_header.output, "expected 'Name: value'"), bad_header.output);
  auto bad_timeout = plugin_run(dir, "ok", "x", "--timeout 5");
  BOOST_TEST(bad_timeout.code == 1, bad_timeout.output);
}

BOOST_AUTO_TEST_SUITE_END()
