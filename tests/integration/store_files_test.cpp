// The store's files through the real binary: one `hookd serve` per store (a second one is
// refused while the first keeps serving and the CLI keeps working), private file modes
// after a first start, and a store file the server cannot write refused at start.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>

#include "hookd/outbox/writer.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;

namespace {

std::string config_with_data_dir() {
  const std::string plugins = HOOKD_PLUGIN_DIR;
  std::string yaml = basic_config();
  yaml.replace(yaml.find("  path: hookd.db\n"), std::string("  path: hookd.db\n").size(),
               "  path: data/hookd.db\n");
  yaml.replace(yaml.find("routes:\n"), std::string("routes:\n").size(),
               "plugins:\n"
               "  log: { library: " +
                   plugins +
                   "/libhookd_log.so, config: { path: logs/events.jsonl } }\n"
                   "  jofi: { library: " +
                   plugins +
                   "/libhookd_jofi.so, config: { database: data/jofi.db } }\n"
                   "routes:\n");
  yaml +=
      "  - name: logged\n"
      "    path: /webhooks/logged\n"
      "    auth: none\n"
      "    event: { id: json:/id, type: json:/type }\n"
      "    handlers:\n"
      "      - { plugin: log, types: [\"*\"] }\n"
      "      - { plugin: jofi, types: [\"invitation.*\"] }\n";
  return yaml;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 01000;  // missing: matches no mode
  return st.st_mode & 07777;
}

// Sets the umask for one scope; the test must not depend on the caller's.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_files)

BOOST_AUTO_TEST_CASE(a_second_serve_on_the_same_store_is_refused_while_the_first_keeps_serving) {
  TempDir dir;
  ServerProcess first(dir, basic_config());
  // `timeout`: without the lock the second server would start and never return.
  auto second = run_command(dir.path().string(),
                            std::string("timeout 20 ") + HOOKD_BINARY + " serve -c hookd.yaml");
  BOOST_TEST(second.code == 2, second.output);
  BOOST_TEST(second.output.find("in use by another hookd serve") != std::string::npos,
             second.output);
  BOOST_TEST(second.output.find("hookd.db") != std::string::npos, second.output);
  BOOST_TEST(second.output.find("pid " + std::to_string(first.pid())) != std::string::npos,
             second.output);

  BOOST_TEST(first.ready());
  TlsClient c(first.port());
  BOOST_TEST(c.post("/webhooks/incoming/jofi", R"({"id":"after","type":"t"})").status == 202);
  // The CLI works beside the running server.
  auto stats = run_hookd(dir.path().string(), "stats --json -c hookd.yaml");
  BOOST_TEST(stats.code == 0, stats.output);
  auto list = run_hookd(dir.path().string(), "events list -c hookd.yaml");
  BOOST_TEST(list.output.find("after") != std::string::npos, list.output);

  // Once the first has stopped, the store is free again.
  first.signal(SIGTERM);
  BOOST_TEST(first.wait() == 0);
  ServerProcess next(dir, basic_config());
  BOOST_TEST(next.ready());
}

BOOST_AUTO_TEST_CASE(store_plugin_and_key_files_are_private_after_a_first_start) {
  TempDir dir;
  Umask umask(022);  // what a shell usually gives: hookd must not rely on it
  ServerProcess server(dir, config_with_data_dir());
  TlsClient c(server.port());
  BOOST_REQUIRE(c.post("/webhooks/logged", R"({"id":"e1","type":"invitation.sent"})").status ==
                202);
  const auto path = [&](const std::string& name) { return dir.file(name); };
  // The log plugin writes the event soon after; its file exists from the start.
  for (const char* name :
       {"data/hookd.db", "data/hookd.db-wal", "data/hookd.db-shm", "data/hookd.db.lock",
        "data/jofi.db", "logs/events.jsonl", "tls/key.pem"}) {
    BOOST_TEST(mode_of(path(name)) == 0600u, name << ": mode " << std::oct << mode_of(path(name)));
  }
  for (const char* name : {"data", "logs", "tls"}) {
    BOOST_TEST(mode_of(path(name)) == 0700u, name << ": mode " << std::oct << mode_of(path(name)));
  }
}

BOOST_AUTO_TEST_CASE(an_existing_readable_store_is_made_private_at_start) {
  TempDir dir;
  {
    hookd::outbox::WriterOptions options;
    options.path = dir.file("hookd.db");
    hookd::outbox::Writer writer(options);  // creates the store, then closes it
  }
  ::chmod(dir.file("hookd.db").c_str(), 0644);
  ServerProcess server(dir, basic_config());
  BOOST_TEST(mode_of(dir.file("hookd.db")) == 0600u);
  BOOST_TEST(server.log().find("was readable by other users") != std::string::npos, server.log());
}

BOOST_AUTO_TEST_CASE(a_store_file_the_server_cannot_write_is_refused_at_start_naming_it) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to leave a root-owned -shm behind for another user");
    return;
  }
  // What `sudo hookd events list` can leave behind: the store belongs to the service user
  // (here nobody), its -shm to root.
  TempDir dir;
  dir.write("hookd.yaml", basic_config());
  {
    hookd::outbox::WriterOptions options;
    options.path = dir.file("hookd.db");
    hookd::outbox::Writer writer(options);
  }
  dir.write("hookd.db-shm", "");
  ::chmod(dir.file("hookd.db-shm").c_str(), 0644);
  constexpr uid_t kNobody = 65534;
  for (const char* name : {"", "hookd.yaml", "hookd.db"}) {
    BOOST_REQUIRE(::chown(dir.file(name).c_str(), kNobody, kNobody) == 0);
  }
  auto r =
      run_command(dir.path().string(),
                  std::string("timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups ") +
                      HOOKD_BINARY + " serve -c hookd.yaml");
  BOOST_TEST(r.code == 2, r.output);
  BOOST_TEST(r.output.find("hookd.db-shm") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("cannot write") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_SUITE_END()
