// Crash containment through the real binary: a plugin that segfaults, aborts, exits or
// hangs on one marked event, with innocent calls in the same host and signed requests
// arriving all along. Every request is answered 202/200, the innocent events are
// delivered, the marked one ends dead (quarantined after workers.max_crashes crashes it
// caused alone, or after max_attempts timeouts), and no host outlives the server.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "db.hpp"
#include "eventually.hpp"
#include "hookd/crypto/encoding.hpp"
#include "server_process.hpp"
#include "signing.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

const std::string kCrashy = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_crashy.so";
const std::string kSecret = "isolation-secret";

// One route signed GitHub-style, its handler the crashy fixture (a copy in the test's
// directory, so that its hosts can be told apart from other tests'), 4 calls at once.
std::string config(const std::string& plugin_config = "{}", const std::string& plugin_extra = "",
                   const std::string& workers_extra = "") {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  shutdown_grace: 2s\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }\n"
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n"
         "workers:\n"
         "  threads: 4\n"
         "  handler_timeout: 1s\n"
         "  max_crashes: 3\n"
         "  retry: { max_attempts: 8, initial_backoff: 50ms, max_backoff: 200ms }\n" +
         workers_extra +
         "plugins:\n"
         "  c: { library: ./crashy.so, config: " +
         plugin_config + plugin_extra +
         " }\n"
         "routes:\n"
         "  - name: gh\n"
         "    path: /hooks\n"
         "    auth: [ { hmac: { scheme: github, secrets: [" +
         kSecret +
         "] } } ]\n"
         "    handlers: [ { plugin: c, types: [\"*\"], concurrency: 4 } ]\n";
}

void install_plugin(const TempDir& dir) {
  std::filesystem::copy_file(kCrashy, dir.file("crashy.so"));
}

hookd::test::HeaderList signed_headers(const std::string& id, const std::string& body) {
  return {{"X-Hub-Signature-256", "sha256=" + hookd::crypto::hex_encode(hmac_sha256(kSecret, body))},
          {"X-GitHub-Delivery", id},
          {"X-GitHub-Event", "push"}};
}

int post(std::uint16_t port, const std::string& id, const std::string& body) {
  TlsClient c(port);
  return c.post("/hooks", body, signed_headers(id, body)).status;
}

// Signed requests, about 20 a second over keep-alive connections, until stopped; each body
// makes the plugin nap 200 ms, so that several calls share the host at any time.
class Load {
 public:
  explicit Load(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
  ~Load() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Every answer other than 202/200, and every connection error, as text.
  std::vector<std::string> refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  void run() {
    int n = 0;
    while (!stopping_) {
      try {
        TlsClient c(port_);
        for (int k = 0; k < 50 && !stopping_; ++k) {
          const std::string id = "good-" + std::to_string(n++);
          const std::string body = R"({"n":)" + std::to_string(n) + R"(,"nap":true})";
          const int status = c.post("/hooks", body, signed_headers(id, body)).status;
          std::lock_guard lock(mu_);
          if (status == 202 || status == 200) {
            ids_.push_back(id);
          } else {
            refused_.push_back(id + ": HTTP " + std::to_string(status));
          }
          std::this_thread::sleep_for(50ms);
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        refused_.push_back(std::string("connection: ") + e.what());
      }
    }
  }

  const std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<std::string> refused_;
  std::vector<std::string> ids_;
  std::thread thread_;
};

std::string state(const TempDir& dir, const std::string& id) {
  return delivery_state(dir.file("hookd.db"), id);
}

std::string last_error(const TempDir& dir, const std::string& id) {
  Db db(dir.file("hookd.db"));
  return db
      .text(
          "SELECT d.last_error FROM deliveries d JOIN events e ON e.seq = d.event_seq "
          "WHERE e.id = ?",
          {id})
      .value_or("(none)");
}

// Deliveries being handled now (claimed, in a host or about to be).
std::int64_t running_deliveries(const TempDir& dir) {
  Db db(dir.file("hookd.db"));
  return db.integer("SELECT count(*) FROM deliveries WHERE state = 'running'");
}

// Deliveries of the load's events not done.
std::size_t undelivered(const TempDir& dir, const std::vector<std::string>& ids) {
  std::size_t n = 0;
  for (const auto& id : ids) n += state(dir, id) != "done";
  return n;
}

// This test's plugin hosts: `hookd plugin-host` processes working in its directory.
std::vector<int> hosts_of(const TempDir& dir) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // A process may exit while it is looked at (any process of the machine: the other
    // tests' too): its files then fail to read, and libstdc++'s filebuf throws for that.
    std::string cmdline;
    try {
      std::ifstream in(entry.path() / "cmdline");
      cmdline.assign(std::istreambuf_iterator<char>(in), {});
    } catch (const std::ios_base::failure&) {
      continue;
    }
    std::error_code error;
    const auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", error);
    if (!error && cwd == dir.path() && cmdline.find("plugin-host") != std::string::npos &&
        cmdline.find("crashy.so") != std::string::npos) {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

double restarts_metric(std::uint16_t admin_port) {
  const std::string text = http_get(admin_port, "/metrics").body;
  static const std::regex line(R"re(hookd_plugin_host_restarts_total\{plugin="c"\} (\d+))re");
  std::smatch m;
  return std::regex_search(text, m, line) ? std::stod(m[1]) : -1;
}

// AddressSanitizer and ThreadSanitizer reserve terabytes of address space: their hosts do
// not apply memory_limit. A precondition, not enable_if (--run_test overrides that), since
// "alloc" without a limit allocates until the machine runs out.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMemoryLimitApplies = false;
#else
constexpr bool kMemoryLimitApplies = true;
#endif
const auto memory_limit_applies = boost::unit_test::precondition(
    [](boost::unit_test::test_unit_id) { return kMemoryLimitApplies; });

// The poison event `marker` under load: what every case checks.
void poison_under_load(const std::string& marker, const std::string& reason,
                       bool crashes = true, const std::string& plugin_extra = "") {
  TempDir dir;
  install_plugin(dir);
  ServerProcess server(dir, config("{}", plugin_extra));
  Load load(server.port());
  // Innocent calls in flight when the poison comes: the load is accepted and handled.
  BOOST_REQUIRE_MESSAGE(
      eventually([&] { return load.ids().size() >= 10 && running_deliveries(dir) > 0; }),
      server.log());
  const std::string body = R"({"do":")" + marker + R"("})";
  BOOST_TEST(post(server.port(), "poison", body) == 202);
  // Several host restarts with backoff: more time than the default.
  BOOST_REQUIRE_MESSAGE(eventually([&] { return state(dir, "poison") == "dead"; }, 40s),
                        server.log());
  // Requests keep arriving after the quarantine: more of them are accepted (and delivered,
  // checked below) before the load stops.
  const std::size_t at_quarantine = load.ids().size();
  BOOST_TEST(eventually([&] { return load.ids().size() >= at_quarantine + 10; }),
             "no requests accepted after the quarantine\n"
                 << server.log());
  load.stop();
  const auto ids = load.ids();
  BOOST_TEST(load.refused().empty(), "refused: " << load.refused().size() << ", first: "
                                                 << (load.refused().empty() ? "" : load.refused()[0]));
  BOOST_TEST(ids.size() >= 20u);
  BOOST_TEST_MESSAGE(marker << ": " << ids.size() << " requests during the test");
  BOOST_TEST(eventually([&] { return undelivered(dir, ids) == 0; }, 40s),
             undelivered(dir, ids) << " innocent events not delivered\n" << server.log());

  const std::string error = last_error(dir, "poison");
  BOOST_TEST(error.find(reason) != std::string::npos, error);
  auto show = run_hookd(dir.path().string(), "events show poison -c hookd.yaml");
  BOOST_TEST(show.code == 0);
  if (crashes) {
    BOOST_TEST(error.find("quarantined") != std::string::npos, error);
    BOOST_TEST(show.output.find("crashed") != std::string::npos, show.output);
    BOOST_TEST(server.log().find("plugin host for 'c' died: " + reason) != std::string::npos,
               server.log());
    BOOST_TEST(server.log().find("while handling event(s)") != std::string::npos);
    BOOST_TEST(restarts_metric(server.admin_port()) >= 3);
  } else {
    BOOST_TEST(show.output.find("timeout") != std::string::npos, show.output);
    BOOST_TEST(restarts_metric(server.admin_port()) >= 1);
  }
  // SIGTERM drains the hosts: none outlives the server.
  BOOST_TEST(!hosts_of(dir).empty());
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
  BOOST_TEST(eventually([&] { return hosts_of(dir).empty(); }, 5s));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(isolation)

BOOST_AUTO_TEST_CASE(segfault_on_one_event) {
  poison_under_load("segv", "SIGSEGV");
}

BOOST_AUTO_TEST_CASE(abort_on_one_event) {
  poison_under_load("abort", "SIGABRT");
}

BOOST_AUTO_TEST_CASE(exit_on_one_event) {
  poison_under_load("exit3", "exit status 3");
}

BOOST_AUTO_TEST_CASE(unbounded_allocation_on_one_event, *memory_limit_applies) {
  poison_under_load("alloc", "it exceeded its memory_limit (256 MiB)", true,
                    ", memory_limit: 256MiB");
}

BOOST_AUTO_TEST_CASE(hang_on_one_event) {
  poison_under_load("hang", "no answer within handler_timeout", false);
}

// create() dies: `check` says so; serve keeps ingesting and restarts the host with a
// growing backoff, deliveries wait (pending, no attempt used) until a reload fixes it.
BOOST_AUTO_TEST_CASE(create_crash_keeps_ingesting_and_deliveries_wait) {
  TempDir dir;
  install_plugin(dir);
  dir.write("hookd.yaml", config("{ crash_create: true }"));
  auto check = run_hookd(dir.path().string(), "check -c hookd.yaml");
  BOOST_TEST(check.code != 0);
  BOOST_TEST(check.output.find("plugins.c: plugin host for 'c' died while starting: SIGSEGV") !=
                 std::string::npos,
             check.output);

  ServerProcess server(dir, config("{ crash_create: true }"));
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(post(server.port(), "e" + std::to_string(i), R"({"ok":true})") == 202);
    std::this_thread::sleep_for(300ms);
  }
  BOOST_TEST(eventually([&] { return server.log().find("next start in 200 ms") != std::string::npos; }),
             server.log());
  BOOST_TEST(server.log().find("next start in 100 ms") != std::string::npos);
  // Each delivery is claimed again whenever the host's backoff ends (running for a moment)
  // and given back: wait until all of them are back at once, each with the host's error.
  const auto all_waiting = [&] {
    for (int i = 0; i < 5; ++i) {
      const std::string id = "e" + std::to_string(i);
      if (state(dir, id) != "pending" ||
          last_error(dir, id).find("plugin host for 'c'") == std::string::npos) {
        return false;
      }
    }
    return true;
  };
  BOOST_TEST(eventually(all_waiting), last_error(dir, "e0") + "\n" + server.log());
  {
    Db db(dir.file("hookd.db"));
    BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 0);  // no attempt used
  }

  dir.write("hookd.yaml", with_test_isolation(config("{}")));
  server.signal(SIGHUP);
  BOOST_TEST(eventually([&] {
    for (int i = 0; i < 5; ++i) {
      if (state(dir, "e" + std::to_string(i)) != "done") return false;
    }
    return true;
  }),
             server.log());
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

// SIGHUP with a changed plugin config starts a new host and lets the old one finish the
// call it runs; a SIGKILLed server takes its hosts with it (parent-death signal).
BOOST_AUTO_TEST_CASE(reload_lets_the_old_host_finish_and_no_host_outlives_the_server) {
  TempDir dir;
  install_plugin(dir);
  // Each call of the fixture creates started-<event id> (marks) when it enters handle().
  const std::string marks = ", marks: " + dir.file("started-");
  ServerProcess server(dir, config("{ generation: 1" + marks + " }"));
  const auto before = hosts_of(dir);
  BOOST_REQUIRE_EQUAL(before.size(), 1u);
  BOOST_TEST(post(server.port(), "napping", R"({"nap":true})") == 202);
  // The nap runs in the first host.
  BOOST_REQUIRE(eventually([&] { return std::filesystem::exists(dir.file("started-napping")); }));
  dir.write("hookd.yaml", with_test_isolation(config("{ generation: 2" + marks + " }")));
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return state(dir, "napping") == "done"; }));
  {
    Db db(dir.file("hookd.db"));
    BOOST_TEST(db.integer("SELECT count(*) FROM attempts") == 1);  // answered, not crashed
  }
  BOOST_REQUIRE(eventually([&] {
    const auto now = hosts_of(dir);
    return now.size() == 1u && now[0] != before[0];
  }, 10s));
  BOOST_TEST(post(server.port(), "after", R"({"ok":true})") == 202);
  BOOST_TEST(eventually([&] { return state(dir, "after") == "done"; }));
  server.kill_hard();
  BOOST_TEST(eventually([&] { return hosts_of(dir).empty(); }, 5s));
}

BOOST_AUTO_TEST_SUITE_END()
