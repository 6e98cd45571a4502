// What an operator runs beside the server: `hookd backup` under load, the JSON log format,
// thread names, `--version`.
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "db.hpp"
#include "eventually.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kJofi = "/webhooks/incoming/jofi";

// Posts events with fresh ids over one TLS connection until stopped; remembers each id the
// server acknowledged with 202.
class Load {
 public:
  explicit Load(std::uint16_t port)
      : thread_([this, port] {
          TlsClient c(port);
          for (int i = 0; !stop_; ++i) {
            const std::string id = "load_" + std::to_string(i);
            if (c.post(kJofi, R"({"id":")" + id + R"(","type":"load.test"})").status == 202) {
              std::lock_guard lock(mutex_);
              acked_.push_back(id);
            }
          }
        }) {}
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> acked_;
  std::thread thread_;
};

std::set<std::string> task_names(pid_t pid) {
  std::set<std::string> names;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "comm");
    std::string name;
    std::getline(in, name);
    names.insert(name);
  }
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(operations)

// Every event acknowledged before the backup began is in the copy, which passes
// integrity_check, while events keep arriving; the copy is private and no temporary file
// stays behind.
BOOST_AUTO_TEST_CASE(backup_under_load_is_consistent_and_complete) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  Load load(server.port());
  BOOST_REQUIRE(eventually([&] { return load.acked().size() >= 50; }));
  const auto before = load.acked();
  auto r = run_hookd(dir.path().string(), "backup backups/copy.db -c hookd.yaml");
  BOOST_TEST(r.code == 1, r.output);  // no such directory: the operator's mistake
  fs::create_directory(dir.path() / "backups");
  r = run_hookd(dir.path().string(), "backup backups/copy.db -c hookd.yaml");
  const auto after = load.acked();
  load.stop();
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_TEST(after.size() > before.size());  // the server went on accepting meanwhile

  const std::string copy = dir.file("backups/copy.db");
  struct stat st {};
  BOOST_REQUIRE(::stat(copy.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  int files = 0;
  for (const auto& f : fs::directory_iterator(dir.path() / "backups")) {
    BOOST_TEST(f.path().filename() == "copy.db");
    ++files;
  }
  BOOST_TEST(files == 1);

  Db db(copy);
  BOOST_TEST(db.text("PRAGMA integrity_check").value_or("") == "ok");
  BOOST_TEST(db.text("PRAGMA journal_mode").value_or("") == "delete");  // one file
  int missing = 0;
  for (const auto& id : before) {
    if (db.integer("SELECT count(*) FROM events WHERE id = ?", {id}) != 1) ++missing;
  }
  BOOST_TEST(missing == 0);
  BOOST_TEST(db.integer("SELECT count(*) FROM deliveries d LEFT JOIN events e "
                        "ON e.seq = d.event_seq WHERE e.seq IS NULL") == 0);
  // The copy is a store a server can start on.
  TempDir restored;
  fs::copy_file(copy, restored.file("hookd.db"));
  ServerProcess again(restored, basic_config());
  BOOST_TEST(run_hookd(restored.path().string(), "events show " + before.front() + " -c hookd.yaml")
                 .code == 0);
}

BOOST_AUTO_TEST_CASE(backup_refuses_an_existing_dest_unless_forced_and_never_the_store) {
  TempDir dir;
  {
    ServerProcess server(dir, basic_config());
    TlsClient c(server.port());
    BOOST_REQUIRE(c.post(kJofi, R"({"id":"e1","type":"t"})").status == 202);
  }
  const auto cwd = dir.path().string();
  BOOST_TEST(run_hookd(cwd, "backup b.db -c hookd.yaml").code == 0);  // server stopped: fine too
  auto r = run_hookd(cwd, "backup b.db -c hookd.yaml");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.output.find("--force") != std::string::npos, r.output);
  BOOST_TEST(run_hookd(cwd, "backup b.db --force -c hookd.yaml").code == 0);
  r = run_hookd(cwd, "backup hookd.db --force -c hookd.yaml");
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.output.find("the store itself") != std::string::npos, r.output);
  BOOST_TEST(run_hookd(cwd, "backup . -c hookd.yaml").code == 1);
  BOOST_TEST(run_hookd(cwd, "backup -c hookd.yaml").code == 1);                        // no DEST
  BOOST_TEST(run_hookd(cwd, "backup b2.db -c nothere.yaml").code == 1);                // no config
  BOOST_TEST(run_hookd(cwd, "backup /proc/hookd-backup.db -c hookd.yaml").code == 2);  // I/O
  Db db(dir.file("b.db"));
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id = 'e1'") == 1);
}

// log: {format: json}: every line a server writes (start, refused requests, a reload, the
// stop) is one JSON object with ts, level, thread and msg, and no secret is in them.
BOOST_AUTO_TEST_CASE(json_log_lines_parse_and_hold_no_secret) {
  TempDir dir;
  const std::string secret = "hunter2-json-log-secret";
  ::setenv("HOOKD_TEST_LOG_SECRET", secret.c_str(), 1);
  std::string config = basic_config();
  config.replace(config.find("    auth: none\n"), 15,
                 "    auth:\n"
                 "      - basic: { username: jofi, password: \"${env:HOOKD_TEST_LOG_SECRET}\" }\n");
  config = "log: { format: json, level: debug }\n" + config;
  ServerProcess server(dir, config);
  ::unsetenv("HOOKD_TEST_LOG_SECRET");
  {
    TlsClient c(server.port());
    BOOST_TEST(
        c.post(kJofi, R"({"id":"e1","type":"t"})", {{"Authorization", "Basic eDp5"}}).status ==
        401);
    BOOST_TEST(c.post(kJofi, "{\"id\":\"e\\n\\\"2\",\"type\":\"t\"}",
                      {{"Authorization", "Basic am9maTpodW50ZXIyLWpzb24tbG9nLXNlY3JldA=="}})
                   .status == 202);
  }
  server.signal(SIGHUP);
  BOOST_REQUIRE(eventually([&] { return server.log().find("reloaded") != std::string::npos; }));
  server.signal(SIGTERM);
  BOOST_REQUIRE(server.wait() == 0);

  const std::string log = server.log();
  BOOST_TEST(log.find(secret) == std::string::npos);
  BOOST_TEST(log.find("am9maTpodW50ZXIyLWpzb24tbG9nLXNlY3JldA") == std::string::npos);
  std::istringstream in(log);
  int lines = 0;
  std::set<std::string> threads;
  bool refused = false;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    json::value v;
    BOOST_REQUIRE_NO_THROW(v = json::parse(line));
    BOOST_REQUIRE_MESSAGE(v.is_object(), line);
    const auto& o = v.as_object();
    for (const char* key : {"ts", "level", "thread", "msg"}) {
      BOOST_REQUIRE_MESSAGE(o.contains(key) && o.at(key).is_string(), key << " in " << line);
    }
    threads.insert(std::string(o.at("thread").as_string()));
    if (o.at("msg").as_string().find("refused a request") != std::string::npos) {
      refused = true;  // with the route and the peer as fields of their own
      BOOST_TEST(o.contains("route"), line);
      BOOST_TEST((o.contains("route") && o.at("route").as_string() == "jofi"), line);
      BOOST_TEST((o.contains("peer") && o.at("peer").as_string() == "127.0.0.1"), line);
    }
  }
  BOOST_TEST(lines >= 4);
  BOOST_TEST(refused);
  BOOST_TEST(threads.count("reload") == 1);  // the reload's lines name its thread
}

BOOST_AUTO_TEST_CASE(threads_are_named) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  const auto names = task_names(server.pid());
  std::string all;
  for (const auto& n : names) all += n + " ";
  for (const char* name : {"writer", "checkpoint", "retention", "reload", "dispatcher", "io-1",
                           "worker-1", "worker-4"}) {
    BOOST_TEST(names.count(name) == 1, name << " in " << all);
  }
}

BOOST_AUTO_TEST_CASE(version_names_the_revision) {
  TempDir dir;
  auto r = run_hookd(dir.path().string(), "--version");
  BOOST_TEST(r.code == 0);
  static const std::regex version(R"(hookd \d+\.\d+\.\d+ \(([0-9a-zA-Z.\-]+)\)\n)");
  std::smatch m;
  BOOST_TEST(std::regex_match(r.output, m, version), r.output);
}

BOOST_AUTO_TEST_SUITE_END()
