// What must not turn appends into 503 through the real binary: a delivery row that cannot
// be read, and a write lock another process holds longer than a CLI's busy timeout; and
// /readyz answering 503 with the reason while appends do fail.
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "eventually.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

const std::string kScript = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_script.so";

// Route /w with ids from X-Event-Id and the script fixture as its handler; appends wait up
// to `max_wait` for their batch, so that claims of the engine share batches with them.
std::string config(const std::string& max_wait = "1ms") {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  io_threads: 1\n"
         "  shutdown_grace: 5s\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }\n"
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n"
         "  batch: { max_wait: " +
         max_wait +
         " }\n"
         "workers:\n"
         "  threads: 2\n"
         "  retry: { max_attempts: 100, initial_backoff: 50ms, max_backoff: 50ms }\n"
         "plugins:\n"
         "  script: { library: " +
         kScript +
         ", config: { log: calls.log } }\n"
         "routes:\n"
         "  - name: w\n"
         "    path: /w\n"
         "    auth: none\n"
         "    event: { id: header:X-Event-Id }\n"
         "    handlers:\n"
         "      - { plugin: script, types: [\"*\"] }\n";
}

int post(const ServerProcess& server, const std::string& id, const std::string& body) {
  TlsClient c(server.port());
  return c.post("/w", body, {{"X-Event-Id", id}}).status;
}

hookd::outbox::Connection writable(const TempDir& dir) {
  auto db = hookd::outbox::open_connection(dir.file("hookd.db"), SQLITE_OPEN_READWRITE);
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_availability)

BOOST_AUTO_TEST_CASE(a_corrupted_headers_row_does_not_turn_appends_into_503) {
  TempDir dir;
  ServerProcess server(dir, config("300ms"));
  // A delivery that keeps coming back (retry until a file exists), then a hand edit that
  // makes its event unreadable: every claim used to fail, and with it the appends of the
  // same batch.
  BOOST_REQUIRE(post(server, "bad", "exists:" + dir.file("never")) == 202);
  {
    auto db = writable(dir);
    hookd::outbox::exec(db.get(), "UPDATE events SET headers = 'not json' WHERE id = 'bad'");
  }
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(post(server, "e" + std::to_string(i), "ok") == 202, "e" << i);
  }
  // The engine gives up on the unreadable delivery at its next claim, which need not have
  // come yet: wait for it.
  auto db = writable(dir);
  BOOST_TEST(eventually([&] {
    return hookd::outbox::query_text(db.get(),
                                     "SELECT state FROM deliveries WHERE event_seq = "
                                     "(SELECT seq FROM events WHERE id = 'bad')") == "dead";
  }));
}

BOOST_AUTO_TEST_CASE(a_write_lock_held_longer_than_the_cli_busy_timeout_does_not_fail_appends) {
  TempDir dir;
  ServerProcess server(dir, config());
  BOOST_REQUIRE(post(server, "before", "ok") == 202);
  // As a long `hookd replay` of old, or an open BEGIN IMMEDIATE in a sqlite3 shell: 6 s,
  // more than the 5 s the writer used to wait.
  auto db = writable(dir);
  hookd::outbox::exec(db.get(), "BEGIN IMMEDIATE");
  std::thread holder([&] {
    std::this_thread::sleep_for(6s);
    hookd::outbox::exec(db.get(), "COMMIT");
  });
  const int status = post(server, "during", "ok");
  holder.join();
  BOOST_TEST(status == 202);
}

BOOST_AUTO_TEST_CASE(readyz_answers_503_with_the_reason_while_appends_fail) {
  TempDir dir;
  ServerProcess server(dir, config());
  BOOST_REQUIRE(post(server, "before", "ok") == 202);
  auto db = writable(dir);
  // Every insert fails, as on a full disk.
  hookd::outbox::exec(db.get(),
                      "CREATE TRIGGER full BEFORE INSERT ON events "
                      "BEGIN SELECT RAISE(ABORT, 'no room left'); END");
  BOOST_TEST(post(server, "e1", "ok") == 503);
  auto ready = http_get(server.admin_port(), "/readyz");
  BOOST_TEST(ready.status == 503);
  BOOST_TEST(ready.body.find("appends are failing") != std::string::npos, ready.body);
  BOOST_TEST(ready.body.find("no room left") != std::string::npos, ready.body);
  hookd::outbox::exec(db.get(), "DROP TRIGGER full");
  BOOST_TEST(post(server, "e1", "ok") == 202);
  BOOST_TEST(http_get(server.admin_port(), "/readyz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
