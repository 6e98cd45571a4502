// Hostile networks: one source misbehaving must not crash hookd or take the webhook listener
// from the senders (issue 24; docs/security.md, "Connection limits").
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include "db.hpp"
#include "eventually.hpp"
#include "plugins.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;

namespace {

// Plain TCP connections that send nothing and stay open until destroyed.
class IdleConnections {
 public:
  IdleConnections(std::uint16_t port, int count) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      BOOST_REQUIRE(fd >= 0);
      fds_.push_back(fd);
      // The kernel completes the handshake into the listen backlog whether or not the server
      // accepts it.
      BOOST_REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    }
  }
  ~IdleConnections() { close(); }
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  void close() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

 private:
  std::vector<int> fds_;
};

// The value of the metric line of `series` ("name{labels}"); -1 when there is none or the
// admin listener does not answer (it closes connections past its cap at once).
double metric(std::uint16_t admin_port, const std::string& series) {
  try {
    const auto r = http_get(admin_port, "/metrics");
    const auto at = r.body.find("\n" + series + " ");
    if (r.status != 200 || at == std::string::npos) return -1;
    return std::stod(r.body.substr(at + series.size() + 2));
  } catch (const std::runtime_error&) {
    return -1;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_networks)

// The review's repro: a low descriptor limit, idle connections to a plain-HTTP listener
// (here the admin one; the http-01 listener is served the same way) past that limit, then
// webhook connections onto both I/O threads. Before the fix the admin connections took every
// descriptor, and the first webhook accept onto the second I/O thread made Asio create that
// thread's reactor under EMFILE: the exception ended the process ("terminate called without
// an active exception"). Now the admin listener holds at most max_admin_connections, and the
// webhook senders are served.
BOOST_AUTO_TEST_CASE(idle_plain_connections_past_the_descriptor_limit_take_nothing_from_senders) {
  TempDir dir;
  ServerProcess server(dir, basic_config("", "    max_admin_connections: 20\n"),
                       ServerOptions{.max_files = 256});
  {
    IdleConnections idle(server.admin_port(), 300);
    for (int i = 0; i < 4; ++i) {  // round robin: both I/O threads get connections
      TlsClient c(server.port());
      const auto r =
          c.post("/webhooks/incoming/jofi", R"({"id":"e)" + std::to_string(i) + R"(","type":"t"})");
      BOOST_TEST(r.status == 202, r.body);
    }
    BOOST_TEST(::kill(server.pid(), 0) == 0);  // still running
  }
  // The idle connections gone, the admin listener answers again; all but the 20 it held were
  // closed at once.
  double rejected = -1;
  BOOST_TEST(eventually([&] {
               rejected = metric(server.admin_port(),
                                 R"(hookd_listener_connections_rejected_total{listener="admin"})");
               return rejected >= 280;
             }),
             rejected << "\n"
                      << server.log());
  BOOST_TEST(server.log().find("Too many open files") == std::string::npos, server.log());
  server.signal(SIGTERM);
  BOOST_TEST(server.wait() == 0);
}

// RFC 9110 9.3.2: the answer to HEAD has no body. A 404/405 used to carry its JSON: behind
// a proxy that pools connections, those bytes would start the next response.
BOOST_AUTO_TEST_CASE(answers_to_head_carry_no_body) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  TlsClient c(server.port());
  c.send_raw(
      "HEAD /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n"
      "HEAD /webhooks/incoming/jofi HTTP/1.1\r\nHost: localhost\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  const std::string wire = c.read_until_closed();
  const std::string not_found = R"({"error":"no such route"})";
  // Three heads, one body: the GET's, at the very end.
  const auto first = wire.find("HTTP/1.1 404 ");
  const auto second = wire.find("HTTP/1.1 405 ", first);
  const auto third = wire.find("HTTP/1.1 404 ", second);
  BOOST_REQUIRE(first == 0u);
  BOOST_REQUIRE(second != std::string::npos);
  BOOST_REQUIRE(third != std::string::npos);
  BOOST_TEST(wire.substr(second - 4, 4) == "\r\n\r\n", wire);
  BOOST_TEST(wire.substr(third - 4, 4) == "\r\n\r\n", wire);
  BOOST_TEST(wire.ends_with("\r\n\r\n" + not_found), wire);
  BOOST_TEST(wire.find("Content-Length: " + std::to_string(not_found.size())) < second, wire);
}

// A chunked body whose framing breaks after the head: 400 and close, as for a bad head
// (they used to close without an answer), and nothing stored.
BOOST_AUTO_TEST_CASE(malformed_chunked_bodies_get_400) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  // Each would carry a valid event if its framing were read leniently.
  const std::string event = R"({"id":"bad","type":"t"})";  // 23 bytes, 0x17
  const std::string bodies[] = {
      "ffffffffffffffffffff\r\n" + event + "\r\n0\r\n\r\n",      // size overflows
      "0x17\r\n" + event + "\r\n0\r\n\r\n",                      // not hex
      "-17\r\n" + event + "\r\n0\r\n\r\n",                       // negative
      "17\n\r\n" + event + "\r\n0\r\n\r\n",                      // bare LF in the size line
      "17\r\n" + event + "\n0\r\n\r\n",                          // bare LF after the data
      "17\r\n" + event + "\r\n0\r\nContent-Length: 23\r\n\r\n",  // a framing trailer
  };
  for (const auto& body : bodies) {
    TlsClient c(server.port());
    c.send_raw(
        "POST /webhooks/incoming/jofi HTTP/1.1\r\nHost: localhost\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        body);
    const auto r = c.read_response();
    BOOST_TEST_REQUIRE(r.has_value(), body);
    BOOST_TEST(r->status == 400, body << ": " << r->body);
    BOOST_TEST(r->body.find("malformed request") != std::string::npos, r->body);
    BOOST_TEST(r->header("connection") == "close", body);
    BOOST_TEST(c.wait_closed(std::chrono::seconds(20)), body);
  }
  // Still serving, and nothing of the above was stored.
  TlsClient c(server.port());
  BOOST_TEST(c.post("/webhooks/incoming/jofi", R"({"id":"after","type":"t"})").status == 202);
  BOOST_TEST(Db(dir.file("hookd.db")).integer("SELECT count(*) FROM events") == 1);
}

// issue 24 item 14b: a body with its id key twice. hookd's parse keeps the last value, a
// first-wins handler reads the first: the handler would see another id than the dedupe key.
// 400 naming the ambiguity (never the values), and nothing stored.
BOOST_AUTO_TEST_CASE(duplicate_id_keys_get_400) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  TlsClient c(server.port());
  const auto r = c.post("/webhooks/incoming/jofi", R"({"id":"first","type":"t","id":"second"})");
  BOOST_TEST(r.status == 400, r.body);
  BOOST_TEST(r.body.find("json:/id is ambiguous") != std::string::npos, r.body);
  BOOST_TEST(r.body.find("first") == std::string::npos, r.body);
  BOOST_TEST(r.body.find("second") == std::string::npos, r.body);
  BOOST_TEST(Db(dir.file("hookd.db")).integer("SELECT count(*) FROM events") == 0);
}

// issue 24 item 9: text a sender chose reaches the text log escaped. The event id (from the
// body: JSON can carry any control character) and a plugin's message hold a newline that
// would start a forged line and OSC 52 (the terminal's clipboard); the plugin's message a C1
// CSI (U+009B, raw UTF-8 is valid JSON).
BOOST_AUTO_TEST_CASE(text_logs_escape_what_senders_chose) {
  TempDir dir;
  std::string config = basic_config();
  config.replace(config.find("routes:\n"), 8,
                 "workers: { retry: { max_attempts: 1 } }\n"
                 "plugins:\n  script: { library: " + fixture_plugin("script") +
                     ", config: { log: calls.log } }\nroutes:\n");
  const std::string event = "    event: { id: json:/id, type: json:/type }\n";
  config.replace(config.find(event), event.size(),
                 event + "    handlers: [{ plugin: script, types: [\"*\"] }]\n");
  ServerProcess server(dir, config);
  const std::string forged = R"(\n2026-12-07T00:00:00.000+00:00 error forged)";
  TlsClient c(server.port());
  const auto r = c.post("/webhooks/incoming/jofi",
                        R"({"id":"evil)" + forged + R"(\u001b]52;c;aGk=\u0007","type":"t",)"
                        "\"script\":\"fail\",\"message\":\"said \xC2\x9B" "2J\"}");
  BOOST_TEST_REQUIRE(r.status == 202, r.body);
  BOOST_TEST_REQUIRE(eventually([&] {
    return server.log().find("is dead after attempt 1") != std::string::npos;
  }));
  const std::string log = server.log();
  BOOST_TEST(log.find("\nerror forged") == std::string::npos, log);
  BOOST_TEST(log.find("\n2026-12-07T00:00:00.000+00:00 error forged") == std::string::npos, log);
  BOOST_TEST(log.find('\x1b') == std::string::npos, log);
  BOOST_TEST(log.find("\xC2\x9B") == std::string::npos, log);
  BOOST_TEST(log.find(R"(event evil\n2026-12-07T00:00:00.000+00:00 error forged\x1b]52;c;aGk=\x07)") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find(R"(: said \u009b2J)") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
