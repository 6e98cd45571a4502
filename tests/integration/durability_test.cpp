// Durability end to end: no acknowledged event is lost when the server is SIGKILLed
// under load, and a full disk answers 503 (never 2xx) and recovers when room returns.
#include <sys/mount.h>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "db.hpp"
#include "eventually.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

const std::string kJofi = "/webhooks/incoming/jofi";

// Posts unique ids from `threads` connections until `stop`; records the acknowledged ones.
struct Load {
  std::mutex mutex;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;

  Load(std::uint16_t port, int connections, const std::string& prefix) {
    for (int t = 0; t < connections; ++t) {
      threads.emplace_back([this, port, t, prefix] {
        try {
          TlsClient c(port);
          for (int i = 0; !stop.load(); ++i) {
            std::string id = prefix + std::to_string(t) + "-" + std::to_string(i);
            auto r = c.post(kJofi, R"({"id":")" + id + R"(","type":"load"})");
            if (r.status == 202) {
              std::lock_guard lock(mutex);
              acked.insert(id);
            }
          }
        } catch (const std::exception&) {
          errors++;  // the server went away mid-request: expected when it is killed
        }
      });
    }
  }
  std::size_t acked_count() {
    std::lock_guard lock(mutex);
    return acked.size();
  }
  void join() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(durability)

BOOST_AUTO_TEST_CASE(sigkill_under_load_loses_no_acknowledged_event) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    std::string prefix = "r" + std::to_string(round) + "-";
    std::set<std::string> acked;
    {
      ServerProcess server(dir, basic_config());
      Load load(server.port(), 8, prefix);
      // Kill mid-stream, once some events were acknowledged (waiting for them, not for a
      // fixed time: a slow, sanitized build under load may take long for the first ones).
      BOOST_TEST(eventually([&] { return load.acked_count() >= 50; }, 60s));
      server.kill_hard();
      load.join();
      acked = load.acked;
    }
    BOOST_TEST_MESSAGE("round " << round << ": " << acked.size() << " acknowledged before SIGKILL");
    BOOST_TEST(!acked.empty());
    // Restart on the same data: recovery opens the WAL; every acknowledged id is there.
    ServerProcess again(dir, basic_config());
    Db db(dir.file("hookd.db"));
    auto stored = db.column("SELECT id FROM events WHERE id LIKE ?", {prefix + "%"});
    std::set<std::string> have(stored.begin(), stored.end());
    std::size_t missing = 0;
    for (const auto& id : acked) missing += have.count(id) == 0;
    BOOST_TEST(missing == 0u);
    again.signal(SIGTERM);
    BOOST_TEST(again.wait(10s) == 0);
  }
}

BOOST_AUTO_TEST_CASE(full_disk_answers_503_and_recovers) {
  TempDir dir;
  auto data = dir.path() / "data";
  std::filesystem::create_directories(data);
  if (::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=1m") != 0) {
    BOOST_TEST_MESSAGE("skipped: mounting a tmpfs needs root (CI runs as root)");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{data.string()};

  std::string cfg = basic_config();
  cfg.replace(cfg.find("path: hookd.db"), 14, "path: data/hookd.db");
  ServerProcess server(dir, cfg);
  TlsClient c(server.port());
  std::string pad(16 * 1024, 'p');
  std::set<std::string> acked;
  int unavailable = 0;
  for (int i = 0; i < 200 && unavailable < 3; ++i) {
    std::string id = "full-" + std::to_string(i);
    auto r = c.post(kJofi, R"({"id":")" + id + R"(","type":"t","pad":")" + pad + R"("})");
    if (r.status == 202) {
      acked.insert(id);
    } else {
      BOOST_TEST_REQUIRE(r.status == 503);
      BOOST_TEST(!r.header("retry-after").empty());
      ++unavailable;
    }
  }
  BOOST_TEST(unavailable == 3);
  BOOST_TEST(!acked.empty());

  // Give room back: the same server accepts again, without a restart.
  BOOST_REQUIRE(::mount("tmpfs", data.c_str(), "tmpfs", MS_REMOUNT, "size=64m") == 0);
  auto r = c.post(kJofi, R"({"id":"after-room","type":"t"})");
  BOOST_TEST(r.status == 202);
  acked.insert("after-room");

  Db db((data / "hookd.db").string());
  for (const auto& id : acked) {
    BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id=?", {id}) == 1, id);
  }
  server.signal(SIGTERM);
  BOOST_TEST(server.wait(10s) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
