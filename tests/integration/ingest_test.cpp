// The webhook listener end to end through the real binary: answers of the contract,
// what is stored, keep-alive, limits and timeouts.
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <memory>
#include <regex>
#include <vector>

#include "db.hpp"
#include "eventually.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

// min_body_rate off: the drain test holds a request's last body bytes until it says so.
struct Fixture {
  TempDir dir;
  ServerProcess server{dir, basic_config("", "    header_timeout: 1s\n    idle_timeout: 2s\n"
                                             "    min_body_rate: 0\n")};
  std::string db_path() const { return dir.file("hookd.db"); }
};

const std::string kJofi = "/webhooks/incoming/jofi";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ingest, Fixture)

BOOST_AUTO_TEST_CASE(accepts_then_answers_duplicate) {
  TlsClient c(server.port());
  std::string body = R"({"id":"evt_1","type":"invitation.accepted","data":{"n":1}})";
  auto r = c.post(kJofi, body, {{"Authorization", "Bearer secret-token"}, {"X-Trace", "t1"}});
  BOOST_TEST(r.status == 202);
  BOOST_TEST(r.body == R"({"status":"accepted","id":"evt_1"})");
  BOOST_TEST(r.header("content-type") == "application/json");

  {
    Db db(db_path());
    BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE route='jofi' AND id='evt_1'") == 1);
    BOOST_TEST(*db.text("SELECT type FROM events WHERE id='evt_1'") == "invitation.accepted");
    BOOST_TEST(*db.text("SELECT body FROM events WHERE id='evt_1'") == body);
    auto headers = *db.text("SELECT headers FROM events WHERE id='evt_1'");
    BOOST_TEST(headers.find("secret-token") == std::string::npos);
    BOOST_TEST(headers.find("[redacted]") != std::string::npos);
    BOOST_TEST(headers.find("X-Trace") != std::string::npos);
  }

  auto again = c.post(kJofi, body);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.body == R"({"status":"duplicate","id":"evt_1"})");
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 1);
}

BOOST_AUTO_TEST_CASE(route_without_event_id_generates_ids_and_does_not_dedupe) {
  TlsClient c(server.port());
  auto a = c.post("/webhooks/anon", "not json at all");
  auto b = c.post("/webhooks/anon", "not json at all");
  BOOST_TEST(a.status == 202);
  BOOST_TEST(b.status == 202);
  BOOST_TEST(a.body != b.body);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE route='anon'") == 2);
}

BOOST_AUTO_TEST_CASE(header_extraction) {
  TlsClient c(server.port());
  auto r = c.post("/webhooks/hdr", "x", {{"X-Event-Id", "h-1"}, {"X-Event-Type", "ping"}});
  BOOST_TEST(r.status == 202);
  BOOST_TEST(r.body == R"({"status":"accepted","id":"h-1"})");
  auto missing = c.post("/webhooks/hdr", "x", {{"X-Event-Type", "ping"}});
  BOOST_TEST(missing.status == 400);
  BOOST_TEST(missing.body.find("X-Event-Id") != std::string::npos);
  Db db(db_path());
  BOOST_TEST(*db.text("SELECT type FROM events WHERE route='hdr' AND id='h-1'") == "ping");
}

BOOST_AUTO_TEST_CASE(bad_json_and_absent_pointer_are_400_naming_the_field) {
  TlsClient c(server.port());
  auto r = c.post(kJofi, "{not json");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("json:/id") != std::string::npos);
  auto r2 = c.post(kJofi, R"({"type":"x"})");
  BOOST_TEST(r2.status == 400);
  BOOST_TEST(r2.body.find("json:/id") != std::string::npos);
  auto r3 = c.post(kJofi, R"({"id":"e"})");
  BOOST_TEST(r3.status == 400);
  BOOST_TEST(r3.body.find("json:/type") != std::string::npos);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 0);
}

// server.limits.max_event_id (default 256 bytes): a sender's id over it is refused with
// 400 naming the limit, from the body or from a header; one at the limit is taken.
BOOST_AUTO_TEST_CASE(an_event_id_over_max_event_id_is_400_naming_the_limit) {
  TlsClient c(server.port());
  const std::string at_limit(256, 'a');
  const std::string over(257, 'b');
  BOOST_TEST(c.post(kJofi, R"({"id":")" + at_limit + R"(","type":"t"})").status == 202);
  auto r = c.post(kJofi, R"({"id":")" + over + R"(","type":"t"})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("server.limits.max_event_id") != std::string::npos, r.body);
  BOOST_TEST(r.body.find("256") != std::string::npos, r.body);
  auto h = c.post("/webhooks/hdr", "{}", {{"X-Event-Id", over}, {"X-Event-Type", "t"}});
  BOOST_TEST(h.status == 400);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 1);
}

BOOST_AUTO_TEST_CASE(unknown_path_and_wrong_method) {
  TlsClient c(server.port());
  auto r = c.post("/nope", "{}");
  BOOST_TEST(r.status == 404);
  auto g = c.request("GET", kJofi, "");
  BOOST_TEST(g.status == 405);
  BOOST_TEST(g.header("allow") == "POST");
  // The connection stays usable after those answers.
  auto ok = c.post(kJofi, R"({"id":"after","type":"t"})");
  BOOST_TEST(ok.status == 202);
}

BOOST_AUTO_TEST_CASE(body_over_max_body_is_413_and_closes) {
  TlsClient c(server.port());
  std::string big(64 * 1024 + 1, 'x');
  auto r = c.post(kJofi, big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(c.wait_closed(5s));

  // Chunked bodies are limited too, without a Content-Length to check up front.
  TlsClient c2(server.port());
  std::string chunk(40 * 1024, 'y');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  c2.send_raw("POST " + kJofi + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
              size + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n0\r\n\r\n");
  auto r2 = c2.read_response();
  BOOST_REQUIRE(r2);
  BOOST_TEST(r2->status == 413);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 0);
}

BOOST_AUTO_TEST_CASE(expect_100_continue) {
  TlsClient c(server.port());
  std::string body = R"({"id":"cont","type":"t"})";
  c.send_raw("POST " + kJofi + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
  c.send_raw(body);
  auto r = c.read_response();  // the client skips the interim 100
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 202);
}

BOOST_AUTO_TEST_CASE(malformed_request_is_400_and_closes) {
  TlsClient c(server.port());
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read_response();
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 400);
  BOOST_TEST(c.wait_closed(5s));
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_many_requests_on_one_connection) {
  TlsClient c(server.port());
  for (int i = 0; i < 50; ++i) {
    auto r = c.post(kJofi, R"({"id":"ka-)" + std::to_string(i) + R"(","type":"t"})");
    BOOST_TEST_REQUIRE(r.status == 202);
  }
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id LIKE 'ka-%'") == 50);
}

BOOST_AUTO_TEST_CASE(slow_header_hits_the_header_timeout) {
  TlsClient c(server.port());
  // One byte every 200 ms: the deadline covers the whole header phase, it is not
  // renewed per byte, so the server closes after ~1 s although bytes keep coming.
  std::string req = "POST " + kJofi + " HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    try {
      c.send_raw(i == 0 ? req : std::string("a"));
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    closed = c.wait_closed(200ms);
  }
  // Closed while bytes were still coming (the loop trickles for 8 s, far past the 1 s
  // deadline): a deadline renewed per byte would have kept it open to the end.
  BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connection_is_closed) {
  TlsClient c(server.port());
  BOOST_TEST(c.post(kJofi, R"({"id":"idle","type":"t"})").status == 202);
  BOOST_TEST(c.wait_closed(10s));
}

BOOST_AUTO_TEST_CASE(tls_versions_and_suites) {
  TlsClient c13(server.port());
  BOOST_TEST(c13.protocol() == "TLSv1.3");
  TlsClient c12(server.port(), TLS1_2_VERSION);
  BOOST_TEST(c12.protocol() == "TLSv1.2");
  BOOST_TEST(c12.cipher().rfind("ECDHE-", 0) == 0);
  BOOST_TEST((c12.cipher().find("GCM") != std::string::npos ||
              c12.cipher().find("CHACHA20") != std::string::npos));
  BOOST_CHECK_THROW(TlsClient(server.port(), TLS1_1_VERSION), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(several_listen_addresses_ipv4_and_ipv6) {
  TempDir d;
  std::string cfg = basic_config();
  cfg.replace(cfg.find("listen: 127.0.0.1:0"), 19, "listen: [127.0.0.1:0, \"[::1]:0\"]");
  ServerProcess s(d, cfg);
  std::smatch m;
  std::string log = s.log();
  BOOST_REQUIRE(std::regex_search(log, m, std::regex(R"(https://\[::1\]:(\d+))")));
  TlsClient v6(static_cast<std::uint16_t>(std::stoi(m[1])), 0, true);
  BOOST_TEST(v6.post(kJofi, R"({"id":"v6","type":"t"})").status == 202);
  TlsClient v4(s.port());
  BOOST_TEST(v4.post(kJofi, R"({"id":"v6","type":"t"})").status == 200);
}

BOOST_AUTO_TEST_CASE(admin_endpoints) {
  BOOST_TEST(http_get(server.admin_port(), "/healthz").status == 200);
  BOOST_TEST(http_get(server.admin_port(), "/readyz").status == 200);
  TlsClient c(server.port());
  BOOST_TEST(c.post(kJofi, R"({"id":"m1","type":"t"})").status == 202);
  BOOST_TEST(c.post("/nope", "{}").status == 404);
  auto m = http_get(server.admin_port(), "/metrics");
  BOOST_TEST(m.status == 200);
  BOOST_TEST(m.body.find(R"(hookd_http_requests_total{route="jofi",status="202"} 1)") !=
             std::string::npos);
  BOOST_TEST(m.body.find(R"x(hookd_http_requests_total{route="(none)",status="404"} 1)x") !=
             std::string::npos);
  BOOST_TEST(m.body.find("hookd_commit_batch_size_bucket") != std::string::npos);
  BOOST_TEST(m.body.find("hookd_commit_duration_seconds_bucket") != std::string::npos);
  BOOST_TEST(m.body.find("hookd_http_request_body_bytes_total") != std::string::npos);
  BOOST_TEST(http_get(server.admin_port(), "/nope").status == 404);
}

BOOST_AUTO_TEST_CASE(sigterm_exits_zero_and_readyz_reports_draining) {
  TlsClient c(server.port());
  BOOST_TEST(c.post(kJofi, R"({"id":"t1","type":"t"})").status == 202);
  server.signal(SIGTERM);
  BOOST_TEST(server.wait(10s) == 0);
  BOOST_TEST(server.log().find("draining") != std::string::npos);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id='t1'") == 1);
}

// Each I/O thread (io_threads: 2) runs its own event loop and connections are handed out
// round robin at accept: both threads serve, and a SIGTERM drains both, answering the
// request each one is in the middle of.
BOOST_AUTO_TEST_CASE(connections_are_served_on_every_io_thread_and_drained) {
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TlsClient>(server.port()));
    auto body = R"({"id":"rr)" + std::to_string(i) + R"(","type":"t"})";
    BOOST_TEST(clients.back()->post(kJofi, body).status == 202);
  }
  auto m = http_get(server.admin_port(), "/metrics");
  BOOST_TEST(m.body.find(R"(hookd_io_thread_connections{thread="0"} 2)") != std::string::npos,
             m.body);
  BOOST_TEST(m.body.find(R"(hookd_io_thread_connections{thread="1"} 2)") != std::string::npos,
             m.body);

  // Clients 0 and 1 (one per thread) are inside a request when the drain starts: all but
  // the last bytes of its body sent, and its head read by the server, which the interim
  // `100 Continue` it sends for `Expect: 100-continue` tells (a session whose head is not
  // read yet counts as idle, and the drain closes it).
  std::vector<std::string> late;
  for (int i = 0; i < 2; ++i) {
    late.push_back(format_request("POST", kJofi,
                                  R"({"id":"late)" + std::to_string(i) + R"(","type":"t"})",
                                  {{"Expect", "100-continue"}}));
    clients[i]->send_raw(late[i].substr(0, late[i].size() - 5));
  }
  for (int i = 0; i < 2; ++i) BOOST_REQUIRE(clients[i]->read_continue());
  server.signal(SIGTERM);
  BOOST_TEST(clients[2]->wait_closed(5s));  // idle: closed at once
  BOOST_TEST(clients[3]->wait_closed(5s));
  for (int i = 0; i < 2; ++i) {
    clients[i]->send_raw(late[i].substr(late[i].size() - 5));
    auto r = clients[i]->read_response();
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->status == 202);
    BOOST_TEST(r->header("connection") == "close");
  }
  BOOST_TEST(server.wait(10s) == 0);
  Db db(db_path());
  BOOST_TEST(db.integer("SELECT count(*) FROM events WHERE id IN ('late0', 'late1')") == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ingest_connections)

// server.limits.max_connections: a connection past the limit is closed at once and
// counted; one that leaves makes room for the next. The count is over every I/O thread.
BOOST_AUTO_TEST_CASE(connections_past_max_connections_are_closed_at_once) {
  TempDir dir;
  ServerProcess server{dir, basic_config("", "    max_connections: 2\n"
                                             "    max_connections_per_source: 3\n")};
  auto first = std::make_unique<TlsClient>(server.port());
  TlsClient second(server.port());
  BOOST_CHECK_THROW(TlsClient{server.port()}, std::runtime_error);
  auto m = http_get(server.admin_port(), "/metrics");
  BOOST_TEST(m.body.find("hookd_connections_rejected_total 1\n") != std::string::npos, m.body);
  BOOST_TEST(m.body.find("hookd_connections_open 2\n") != std::string::npos, m.body);

  first.reset();
  BOOST_REQUIRE(eventually([&] {
    return http_get(server.admin_port(), "/metrics").body.find("hookd_connections_open 1\n") !=
           std::string::npos;
  }));
  TlsClient third(server.port());
  BOOST_TEST(third.post(kJofi, R"({"id":"mc1","type":"t"})").status == 202);
  BOOST_TEST(second.post(kJofi, R"({"id":"mc2","type":"t"})").status == 202);
}

BOOST_AUTO_TEST_SUITE_END()
