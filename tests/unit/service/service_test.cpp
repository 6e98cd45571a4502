// service/ without a service manager: notify datagrams reach a path and an abstract socket
// ('@'), and the watchdog withholds its ping while one probed part stops answering.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "hookd/service/notify.hpp"
#include "hookd/service/watchdog.hpp"
#include "temp_dir.hpp"

using namespace hookd::service;
using std::chrono::milliseconds;

namespace {

// A bound datagram socket: `name` is a path, or "@..." for the abstract namespace.
class Receiver {
 public:
  explicit Receiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t length = sizeof(addr);
    if (name.front() == '@') {
      addr.sun_path[0] = '\0';
      length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
      throw std::runtime_error("bind " + name + ": " + std::strerror(errno));
    }
  }
  ~Receiver() { ::close(fd_); }

  std::string receive(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[512];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

  int count(const std::string& message, milliseconds window) {
    int n = 0;
    const auto end = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < end) {
      if (receive(milliseconds(10)) == message) ++n;
    }
    return n;
  }

  // Waits for `n` copies of `message` (others are dropped); how many came within `limit`.
  int await(const std::string& message, int n, milliseconds limit) {
    int got = 0;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (got < n && std::chrono::steady_clock::now() < end) {
      if (receive(milliseconds(10)) == message) ++got;
    }
    return got;
  }

  // Drops what has arrived (what was sent before now), without waiting.
  void drain() {
    while (!receive(milliseconds(0)).empty()) {
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(service)

BOOST_AUTO_TEST_CASE(notify_sends_to_a_path_and_to_an_abstract_socket) {
  hookd::test::TempDir dir;
  Receiver at_path(dir.file("notify.sock"));
  BOOST_TEST(Notifier(dir.file("notify.sock")).send("READY=1\nSTATUS=up"));
  BOOST_TEST(at_path.receive(milliseconds(1000)) == "READY=1\nSTATUS=up");

  const std::string abstract = "@hookd-test-" + std::to_string(::getpid());
  Receiver in_namespace(abstract);
  BOOST_TEST(Notifier(abstract).send("STOPPING=1"));
  BOOST_TEST(in_namespace.receive(milliseconds(1000)) == "STOPPING=1");

  BOOST_TEST(!Notifier().enabled());
  BOOST_TEST(Notifier().send("READY=1"));  // no manager: nothing to do
  BOOST_TEST(!Notifier(dir.file("nobody.sock")).send("READY=1"));
  BOOST_TEST(monotonic_usec().starts_with("MONOTONIC_USEC="));
}

BOOST_AUTO_TEST_CASE(watchdog_pings_only_while_every_probe_is_answered) {
  hookd::test::TempDir dir;
  Receiver manager(dir.file("notify.sock"));
  const Notifier notifier(dir.file("notify.sock"));
  std::atomic<bool> stalled{false};
  std::mutex mutex;
  std::vector<std::function<void()>> held;  // answers of the stalled part, given later
  std::vector<Probe> probes;
  probes.push_back({"loop", [](std::function<void()> answer) { answer(); }});
  probes.push_back({"writer", [&](std::function<void()> answer) {
                      if (!stalled) return answer();
                      std::lock_guard lock(mutex);
                      held.push_back(std::move(answer));
                    }});
  // The watchdog logs when it starts withholding its pings. The sink is added before its
  // thread starts and removed after it stopped: no other thread logs meanwhile.
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::default_logger()->sinks().push_back(sink);
  const auto withholding = [&] {
    for (const std::string& line : sink->last_formatted()) {
      if (line.find("no progress from the writer") != std::string::npos) return true;
    }
    return false;
  };
  Watchdog watchdog(notifier, milliseconds(100), std::move(probes));  // ping every 50 ms
  BOOST_TEST(manager.await("WATCHDOG=1", 5, milliseconds(20000)) == 5);

  stalled = true;
  // A ping earned by an answer from before the stall may still come; after it the watchdog
  // finds no answer from the writer, says so, and pings no more. What it sent before it
  // said so has arrived by then: dropped, and then none may come while the writer stalls.
  BOOST_TEST(hookd::test::eventually(withholding));
  manager.drain();
  BOOST_TEST(manager.count("WATCHDOG=1", milliseconds(500)) == 0);

  stalled = false;
  {
    std::lock_guard lock(mutex);
    for (auto& answer : held) answer();
  }
  BOOST_TEST(manager.await("WATCHDOG=1", 5, milliseconds(20000)) == 5);
  watchdog.stop();
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::find(sinks.begin(), sinks.end(), sink));
  // stop() joined the pinging thread: what it sent has arrived, and nothing more comes.
  manager.drain();
  BOOST_TEST(manager.count("WATCHDOG=1", milliseconds(200)) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
