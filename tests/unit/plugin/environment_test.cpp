// The environment of a plugin host: which of hookd's variables pass (the defaults and the
// plugin's `env` list), that nothing else does, and that a real host process and the
// commands of the bundled exec plugin in it start with exactly that.
#include "hookd/plugin/environment.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/plugin/host.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using namespace hookd::plugin;

namespace {

using Names = std::set<std::string>;

// Sets variables of this process for a test and puts back what was there before.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// What a host would be given of this process's environment when allowed `allowed`.
std::vector<std::string> from_this_process(const std::vector<std::string>& allowed) {
  return host_environment(allowed, ::environ);
}

Names names_of(const std::vector<std::string>& vars) {
  Names out;
  for (const auto& v : vars) out.insert(v.substr(0, v.find('=')));
  return out;
}

// The defaults this process has set, plus `more`.
Names defaults_set_here(const Names& more = {}) {
  Names out = more;
  for (const auto name : kDefaultEnvironment) {
    if (std::getenv(std::string(name).c_str()) != nullptr) out.emplace(name);
  }
  return out;
}

// `env`'s NAME=value lines (from `env` or /proc/PID/environ with NULs made newlines) as
// names, without those a shell adds for itself.
Names names_in_listing(const std::string& text) {
  Names out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const std::string name = line.substr(0, line.find('='));
    if (name != "PWD" && name != "OLDPWD" && name != "SHLVL" && name != "_") out.insert(name);
  }
  return out;
}

const std::map<std::string, std::string> kSecrets = {
    {"HOOKD_TEST_SECRET", "s3cret-value"},
    {"NOTIFY_SOCKET", "/run/systemd/notify"},
    {"WATCHDOG_USEC", "30000000"},
    {"WATCHDOG_PID", "1"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_environment)

BOOST_AUTO_TEST_CASE(only_the_defaults_and_the_allowed_names_pass) {
  const char* const from[] = {"PATH=/usr/bin:/bin",
                              "HOOKD_TEST_SECRET=s3cret",
                              "AWS_PROFILE=deploy",
                              "LANG=C.UTF-8",
                              "NOTIFY_SOCKET=/run/systemd/notify",
                              "TZ=Europe/Zurich",
                              "WATCHDOG_USEC=30000000",
                              "https_proxy=http://proxy:3128",
                              "HTTPS_PROXY=http://proxy:3128",
                              "http_proxy=http://proxy:3128",
                              "HTTP_PROXY=http://proxy:3128",
                              "no_proxy=localhost",
                              "NO_PROXY=localhost",
                              "HOME=/var/lib/hookd",
                              "PATHOLOGICAL=not PATH",
                              "not a variable",
                              "AWS_PROFILE=second",  // getenv() would return the first
                              "PATH=/second",
                              nullptr};
  using Vars = std::vector<std::string>;
  const Vars proxies = {"https_proxy=http://proxy:3128",
                        "HTTPS_PROXY=http://proxy:3128",
                        "http_proxy=http://proxy:3128",
                        "HTTP_PROXY=http://proxy:3128",
                        "no_proxy=localhost",
                        "NO_PROXY=localhost"};
  Vars plain = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TZ=Europe/Zurich"};
  plain.insert(plain.end(), proxies.begin(), proxies.end());
  BOOST_TEST(host_environment({}, from) == plain, boost::test_tools::per_element());

  // In the order of `from`; a name allowed but not set is simply absent.
  Vars allowed = {"PATH=/usr/bin:/bin", "AWS_PROFILE=deploy", "LANG=C.UTF-8", "TZ=Europe/Zurich"};
  allowed.insert(allowed.end(), proxies.begin(), proxies.end());
  BOOST_TEST(host_environment({"AWS_PROFILE", "UNSET_ONE", "AWS_PROFILE"}, from) == allowed,
             boost::test_tools::per_element());

  const char* const nothing[] = {nullptr};
  BOOST_TEST(host_environment({"AWS_PROFILE"}, nothing).empty());
  BOOST_TEST(host_environment({"AWS_PROFILE"}, nullptr).empty());
}

BOOST_AUTO_TEST_CASE(secrets_of_this_process_stay_behind) {
  auto vars = kSecrets;
  vars.emplace("HOOKD_TEST_ALLOWED", "passed on");
  vars.emplace("HTTPS_PROXY", "http://proxy.invalid:3128");
  const ScopedEnv env(vars);
  const std::vector<std::string> out = from_this_process({"HOOKD_TEST_ALLOWED"});
  BOOST_TEST(names_of(out) == defaults_set_here({"HOOKD_TEST_ALLOWED"}),
             boost::test_tools::per_element());
  for (const auto& [name, value] : kSecrets) {
    for (const auto& v : out) BOOST_TEST(!v.starts_with(name + "="), v);
  }
  BOOST_TEST(names_of(from_this_process({})) == defaults_set_here(),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(variable_names) {
  for (const char* good : {"A", "_", "PATH", "aws_profile", "_X9", "Z_2_"}) {
    BOOST_TEST(is_variable_name(good), good);
  }
  for (const char* bad : {"", "9LIVES", "FOO=bar", "$FOO", "A-B", "A B", "Ä", "A.B"}) {
    BOOST_TEST(!is_variable_name(bad), bad);
  }
}

// A real `hookd plugin-host` child running the exec plugin: the host's own environment
// (its /proc/PID/environ, read by the command as its parent's) and the command's.
BOOST_AUTO_TEST_CASE(a_host_and_its_exec_commands_get_only_what_is_passed) {
  hookd::test::TempDir dir;
  auto vars = kSecrets;
  vars.emplace("HOOKD_TEST_ALLOWED", "passed on");
  vars.emplace("no_proxy", "localhost");
  const ScopedEnv env(vars);

  HostOptions o;
  o.name = "exec";
  o.binary = HOOKD_BINARY;
  o.library = hookd::test::bundled_plugin("exec");
  o.config_yaml = "command: ['/bin/sh', '-c', 'tr \"\\0\" \"\\n\" < /proc/$PPID/environ > " +
                  dir.file("host.env") + " && env > " + dir.file("command.env") +
                  "']\n"
                  "env: { EXEC_OWN: mine }\n";
  o.env = {"HOOKD_TEST_ALLOWED"};
  Host host(o);
  hookd::test::TestEvent ev;
  const CallResult r = host.call(ev.view(), std::chrono::seconds(20));
  BOOST_REQUIRE_MESSAGE(r.status == CallResult::Status::answered, r.result.message);
  BOOST_TEST((r.result.outcome == Outcome::ok), r.result.message);

  const std::string host_env = hookd::test::file_text(dir.file("host.env"));
  BOOST_TEST(names_in_listing(host_env) == defaults_set_here({"HOOKD_TEST_ALLOWED"}),
             boost::test_tools::per_element());
  BOOST_TEST(hookd::test::contains(host_env, "HOOKD_TEST_ALLOWED=passed on\n"), host_env);

  // The command: the host's environment (the defaults and the allowed names), exec's `env`
  // and the event's variables.
  const std::string command_env = hookd::test::file_text(dir.file("command.env"));
  BOOST_TEST(names_in_listing(command_env) ==
                 defaults_set_here({"HOOKD_TEST_ALLOWED", "EXEC_OWN", "HOOKD_EVENT_ID",
                                    "HOOKD_EVENT_TYPE", "HOOKD_ROUTE", "HOOKD_ATTEMPT"}),
             boost::test_tools::per_element());
  BOOST_TEST(!hookd::test::contains(host_env + command_env, "s3cret"));
}

BOOST_AUTO_TEST_SUITE_END()
