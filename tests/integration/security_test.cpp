// Regressions of the HTTP/auth security review, each with the exact request bytes against
// the real binary: request smuggling (Transfer-Encoding), Basic brute force (429), chunked
// trailers, forged Standard Webhooks/Svix dedupe ids, the generic template's shifting id,
// and work before auth (early refusal, no `100 Continue`, the buffered-body budget).
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "db.hpp"
#include "hookd/crypto/encoding.hpp"
#include "server_process.hpp"
#include "signing.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using hookd::crypto::base64_encode;
using hookd::crypto::hex_encode;

namespace {

const std::string kSwKey = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string config() {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
         "  limits:\n"
         "    max_body: 64KiB\n"
         "    max_buffered_bodies: 1000\n"
         "    min_body_rate: 0\n"  // the budget test holds a body until it says so
         "    auth_throttle: { burst: 3, refill: 2s }\n"
         "admin: { listen: 127.0.0.1:0 }\n"
         "storage: { path: hookd.db }\n"
         "routes:\n"
         "  - name: basic\n"
         "    path: /basic\n"
         "    auth: [ { basic: { username: jofi, password: right-pw } } ]\n"
         "    event: { id: json:/id }\n"
         "  - name: other\n"
         "    path: /other\n"
         "    auth: [ { basic: { username: jofi, password: right-pw } } ]\n"
         "    event: { id: json:/id }\n"
         "  - name: github\n"
         "    path: /github\n"
         "    auth: [ { hmac: { scheme: github, secrets: [gh-secret] } } ]\n"
         "  - name: svix\n"
         "    path: /svix\n"
         "    auth: [ { hmac: { scheme: standard-webhooks, secrets: [whsec_" +
         kSwKey +
         "] } } ]\n"
         "    event: { id: header:svix-id, type: json:/type }\n"
         "  - name: generic\n"
         "    path: /generic\n"
         "    auth:\n"
         "      - hmac: { scheme: generic, secrets: [ge], header: X-Sig, payload: "
         "\"{timestamp}.{id}.{body}\", timestamp_header: X-Time, id_header: X-Id }\n"
         "    event: { id: header:X-Id }\n";
}

std::string basic(const std::string& password) {
  return "Basic " + base64_encode("jofi:" + password);
}

struct Fixture {
  TempDir dir;
  ServerProcess server{dir, config()};
  std::int64_t stored(const std::string& route) {
    Db db(dir.file("hookd.db"));
    return db.integer("SELECT count(*) FROM events WHERE route=?", {route});
  }
  std::int64_t stored_id(const std::string& id) {
    Db db(dir.file("hookd.db"));
    return db.integer("SELECT count(*) FROM events WHERE id=?", {id});
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(security, Fixture)

// TE.CL: a Transfer-Encoding whose last coding is not `chunked` used to be framed by
// Content-Length (or as empty) with the connection kept open, so a request hidden in the
// body was answered 202 as the next one.
BOOST_AUTO_TEST_CASE(transfer_encoding_that_is_not_just_chunked_is_400_and_close) {
  const std::string inner_body = R"({"id":"smuggled"})";
  const std::string inner =
      format_request("POST", "/basic", inner_body, {{"Authorization", basic("right-pw")}});
  char size[16];
  std::snprintf(size, sizeof size, "%zx", inner.size());
  const std::string chunked_body = std::string(size) + "\r\n" + inner + "\r\n0\r\n\r\n";
  struct Case {
    std::string te_lines;
    int status;
  };
  const Case cases[] = {
      {"Transfer-Encoding: chunked, identity\r\n", 400},
      {"Transfer-Encoding: identity\r\n", 400},
      {"Transfer-Encoding: gzip\r\n", 400},
      {"Transfer-Encoding: xchunked\r\n", 400},
      {"Transfer-Encoding: chunked, chunked\r\n", 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400},
      {"Transfer-Encoding: chunked\r\nX-Between: 1\r\nTransfer-Encoding: identity\r\n", 400},
      {"Transfer-Encoding: gzip, chunked\r\n", 501},
  };
  for (const auto& c : cases) {
    for (bool with_length : {false, true}) {
      TlsClient client(server.port());
      std::string head = "POST /basic HTTP/1.1\r\nHost: localhost\r\n" + c.te_lines +
                         "Authorization: " + basic("wrong") + "\r\n";
      if (with_length) head += "Content-Length: 5\r\n";
      // After the framed part, the hidden request again, as a pipelined one.
      client.send_raw(head + "\r\n" + chunked_body + inner);
      auto first = client.read_response();
      const int expected = with_length ? 400 : c.status;
      BOOST_TEST_REQUIRE(first.has_value(), c.te_lines);
      BOOST_TEST(first->status == expected, c.te_lines << " with_length=" << with_length);
      BOOST_TEST(first->header("connection") == "close", c.te_lines);
      BOOST_TEST(!client.read_response().has_value(), c.te_lines << ": more answers followed");
    }
  }
  BOOST_TEST(stored_id("smuggled") == 0);
  // Plain chunked framing still works.
  TlsClient client(server.port());
  client.send_raw("POST /basic HTTP/1.1\r\nHost: localhost\r\nAuthorization: " +
                  basic("right-pw") + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  std::string("10\r\n{\"id\":\"chunk-ok\"\r\n1\r\n}\r\n0\r\n\r\n"));
  auto ok = client.read_response();
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->status == 202, ok->body);
}

// 3,000 pipelined guesses on one connection used to run at ~40,000/s with no 429.
BOOST_AUTO_TEST_CASE(basic_brute_force_is_throttled_per_source_and_route) {
  const std::string body = R"({"id":"bf-1"})";
  TlsClient c(server.port());
  std::string guesses;
  for (int i = 0; i < 50; ++i) {
    guesses += format_request("POST", "/basic", body, {{"Authorization", basic("guess")}});
  }
  c.send_raw(guesses);
  int unauthorized = 0, throttled = 0;
  std::string retry_after;
  for (int i = 0; i < 50; ++i) {
    auto r = c.read_response();
    BOOST_TEST_REQUIRE(r.has_value(), "answer " << i);
    if (r->status == 401) ++unauthorized;
    if (r->status == 429) {
      ++throttled;
      retry_after = r->header("retry-after");
    }
  }
  BOOST_TEST(unauthorized == 3);  // the burst
  BOOST_TEST(throttled == 47);
  BOOST_TEST((retry_after == "1" || retry_after == "2"), retry_after);
  // The right password is refused too while the source is throttled ...
  BOOST_TEST(c.post("/basic", body, {{"Authorization", basic("right-pw")}}).status == 429);
  // ... but another source, and the same source on another route, are not.
  TlsClient elsewhere(server.port(), 0, false, "127.0.0.2");
  BOOST_TEST(elsewhere.post("/basic", body, {{"Authorization", basic("right-pw")}}).status == 202);
  BOOST_TEST(c.post("/other", body, {{"Authorization", basic("right-pw")}}).status == 202);
  // After Retry-After, the right password works from the throttled source again.
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(retry_after)));
  BOOST_TEST(c.post("/basic", R"({"id":"bf-2"})", {{"Authorization", basic("right-pw")}}).status ==
             202);
  auto m = http_get(server.admin_port(), "/metrics").body;
  BOOST_TEST(m.find(R"(hookd_auth_throttled_total{route="basic"} 48)") != std::string::npos, m);
  BOOST_TEST(m.find(R"(hookd_http_requests_total{route="basic",status="429"} 48)") !=
             std::string::npos);
  // One line per second at most, not one per guess.
  const std::string log = server.log();
  std::size_t lines = 0;
  for (auto p = log.find("refused a request"); p != std::string::npos;
       p = log.find("refused a request", p + 1)) {
    ++lines;
  }
  BOOST_TEST(lines <= 3);
}

// Fields of a chunked trailer used to be added to the headers that auth and extraction read.
BOOST_AUTO_TEST_CASE(trailers_add_no_credentials_and_no_ids) {
  const std::string body = R"({"action":"opened"})";
  const std::string sig = "sha256=" + hex_encode(hmac_sha256("gh-secret", body));
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  auto chunked = [&](const std::string& path, const std::string& head,
                     const std::string& trailer) {
    TlsClient c(server.port());
    c.send_raw("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nX-GitHub-Event: issues\r\n" + head +
               "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + body + "\r\n0\r\n" +
               trailer + "\r\n");
    auto r = c.read_response();
    return r ? r->status : 0;
  };
  // Signature, delivery id and credentials only in the trailer: refused.
  BOOST_TEST(chunked("/github", "X-GitHub-Delivery: t-1\r\n",
                     "X-Hub-Signature-256: " + sig + "\r\n") == 401);
  BOOST_TEST(chunked("/github", "X-Hub-Signature-256: " + sig + "\r\n",
                     "X-GitHub-Delivery: t-2\r\n") == 400);  // no id in the head
  BOOST_TEST(chunked("/basic", "", "Authorization: " + basic("right-pw") + "\r\n") == 401);
  // A trailer cannot replace a head field either: the head's delivery id is the one stored.
  BOOST_TEST(chunked("/github", "X-Hub-Signature-256: " + sig + "\r\nX-GitHub-Delivery: t-3\r\n",
                     "X-GitHub-Delivery: t-4\r\n") == 202);
  BOOST_TEST(stored_id("t-3") == 1);
  BOOST_TEST(stored("github") == 1);
}

// A captured webhook-* triple with any svix-id beside it used to be stored under the forged
// id (the route dedupes on header:svix-id), again and again within the tolerance.
BOOST_AUTO_TEST_CASE(standard_webhooks_dedupes_on_the_signed_id) {
  const std::string body = R"({"type":"invitation.accepted"})";
  const std::string id = "msg_1", ts = now_unix();
  const auto key = *hookd::crypto::base64_decode(kSwKey);
  const std::string sig = "v1," + base64_encode(hmac_sha256(key, id + "." + ts + "." + body));
  TlsClient c(server.port());
  HeaderList triple{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sig}};
  auto first = c.post("/svix", body, triple);
  BOOST_TEST(first.status == 202, first.body);
  BOOST_TEST(first.body == R"({"status":"accepted","id":"msg_1"})");
  for (std::string forged : {"forged-1", "forged-2"}) {
    HeaderList replay = triple;
    replay.emplace_back("svix-id", forged);
    auto r = c.post("/svix", body, replay);
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST(r.body == R"({"status":"duplicate","id":"msg_1"})");
  }
  // Families are never mixed: svix-* signature and timestamp with a new webhook-id fail.
  HeaderList mixed{{"webhook-id", "forged-3"}, {"svix-timestamp", ts}, {"svix-signature", sig},
                   {"svix-id", id}};
  BOOST_TEST(c.post("/svix", body, mixed).status == 401);
  // Svix's own names alone work, and dedupe on the same signed id.
  HeaderList svix{{"svix-id", id}, {"svix-timestamp", ts}, {"svix-signature", sig}};
  BOOST_TEST(c.post("/svix", body, svix).status == 200);
  BOOST_TEST(stored("svix") == 1);
}

// With "{timestamp}.{id}.{body}", text up to a '.' in the body could move into the id.
BOOST_AUTO_TEST_CASE(generic_template_ids_cannot_shift_into_the_body) {
  const std::string ts = now_unix();
  const std::string body = R"({"note":"v1.2","n":1})";
  auto sign = [&](const std::string& id, const std::string& b) {
    return hex_encode(hmac_sha256("ge", ts + "." + id + "." + b));
  };
  TlsClient c(server.port());
  HeaderList h{{"X-Time", ts}, {"X-Id", "req-1"}, {"X-Sig", sign("req-1", body)}};
  BOOST_TEST(c.post("/generic", body, h).status == 202);
  // The same signed bytes, split differently: id `req-1.{"note":"v1`, body `2","n":1}`.
  const std::string shifted_id = R"(req-1.{"note":"v1)";
  const std::string shifted_body = R"(2","n":1})";
  BOOST_TEST(sign(shifted_id, shifted_body) == sign("req-1", body));
  HeaderList replay{{"X-Time", ts}, {"X-Id", shifted_id}, {"X-Sig", sign("req-1", body)}};
  BOOST_TEST(c.post("/generic", shifted_body, replay).status == 401);
  BOOST_TEST(stored("generic") == 1);
}

// `Expect: 100-continue` without credentials used to get `100 Continue`, and every body was
// read before any auth item ran.
BOOST_AUTO_TEST_CASE(no_continue_and_no_body_before_the_head_passes) {
  TlsClient c(server.port());
  c.send_raw("POST /basic HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
             "Content-Length: 60000\r\n\r\n");
  auto r = c.read_response();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->status == 401);
  BOOST_TEST(r->header("connection") == "close");
  BOOST_TEST(c.wait_closed(std::chrono::seconds(5)));
  // With credentials, 100 Continue comes and the body is taken.
  TlsClient ok(server.port());
  const std::string body = R"({"id":"continued"})";
  ok.send_raw("POST /basic HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nAuthorization: " +
              basic("right-pw") + "\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n");
  ok.send_raw(body);
  auto accepted = ok.read_response();
  BOOST_TEST_REQUIRE(accepted.has_value());
  BOOST_TEST(accepted->status == 202);
  // A refused request with a small body keeps its connection usable.
  TlsClient keep(server.port());
  BOOST_TEST(keep.post("/basic", body, {{"Authorization", basic("wrong")}}).status == 401);
  BOOST_TEST(keep.post("/nope", body).status == 404);
  BOOST_TEST(keep.post("/basic", R"({"id":"kept"})", {{"Authorization", basic("right-pw")}})
                 .status == 202);
}

// server.limits.max_buffered_bodies: 1000 bytes here. A request that declares 800 holds
// them from its head until it is answered; another one of 800 meanwhile gets 503.
BOOST_AUTO_TEST_CASE(buffered_bodies_have_a_global_budget) {
  const std::string body = R"({"id":"budget-1","pad":")" + std::string(774, 'x') + "\"}";
  BOOST_TEST_REQUIRE(body.size() == 800u);
  // The budget here is below max_body (64 KiB), which the server points out at start.
  BOOST_TEST(server.log().find("max_buffered_bodies (1000 bytes) is below max_body") !=
             std::string::npos);
  TlsClient slow(server.port());
  slow.send_raw("POST /basic HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + basic("right-pw") +
                "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                "Content-Length: 800\r\n\r\n" +
                body.substr(0, 10));
  // Its head is read and its 800 bytes are reserved: the server sends `100 Continue` after
  // taking them from the budget.
  BOOST_TEST_REQUIRE(slow.read_continue());
  TlsClient second(server.port());
  auto busy = second.post("/basic", R"({"id":"budget-2","pad":")" + std::string(774, 'y') + "\"}",
                          {{"Authorization", basic("right-pw")}});
  BOOST_TEST(busy.status == 503);
  BOOST_TEST(busy.header("retry-after") == "1");
  slow.send_raw(body.substr(10));
  auto first = slow.read_response();
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->status == 202);
  // Given back after the answer.
  TlsClient third(server.port());
  BOOST_TEST(third.post("/basic", R"({"id":"budget-3","pad":")" + std::string(774, 'z') + "\"}",
                        {{"Authorization", basic("right-pw")}})
                 .status == 202);
}

BOOST_AUTO_TEST_SUITE_END()
