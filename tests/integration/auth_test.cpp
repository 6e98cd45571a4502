// Auth end to end through the TLS listener: a valid sender gets 202, anything else 401 or
// 403 with nothing stored. Signatures are computed here with OpenSSL's one-shot HMAC, a
// different code path from the server's.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <sstream>

#include "db.hpp"
#include "hookd/crypto/encoding.hpp"
#include "server_process.hpp"
#include "signing.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
using hookd::crypto::base64_encode;
using hookd::crypto::hex_encode;

namespace {

std::string auth_config() {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem }\n"
         "admin: { listen: 127.0.0.1:0 }\n"
         "storage: { path: hookd.db }\n"
         "routes:\n"
         "  - name: basic\n"
         "    path: /basic\n"
         "    auth:\n"
         "      - basic: { username: jofi, password: \"${env:HOOKD_TEST_PW:-s3cret pw}\" }\n"
         "    event: { id: json:/id }\n"
         "  - name: denied\n"
         "    path: /denied\n"
         "    auth: [ { ip_allow: [10.0.0.0/8, \"fd00::/8\"] } ]\n"
         "  - name: local\n"
         "    path: /local\n"
         "    auth: [ { ip_allow: [127.0.0.0/8] } ]\n"
         "  - name: github\n"
         "    path: /github\n"
         "    auth: [ { hmac: { scheme: github, secrets: [old-secret, gh-secret] } } ]\n"
         "  - name: sw\n"
         "    path: /sw\n"
         "    auth:\n"
         "      - hmac: { scheme: standard-webhooks, secrets: "
         "[whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw] }\n"
         "  - { name: stripe, path: /stripe, auth: [ { hmac: { scheme: stripe, secrets: [whsec_x] } } ] }\n"
         "  - { name: slack, path: /slack, auth: [ { hmac: { scheme: slack, secrets: [sl] } } ],"
         " event: { id: json:/id } }\n"
         "  - { name: shopify, path: /shopify, auth: [ { hmac: { scheme: shopify, secrets: [sh] } } ],"
         " event: { id: json:/id } }\n"
         "  - { name: docusign, path: /docusign, auth: [ { hmac: { scheme: docusign, secrets: [a, b] } } ],"
         " event: { id: json:/id } }\n"
         "  - name: twilio\n"
         "    path: /twilio\n"
         "    auth: [ { hmac: { scheme: twilio, secrets: [tw], url: \"https://example.com/twilio\" } } ]\n"
         "    event: { id: json:/id }\n"
         "  - name: generic\n"
         "    path: /generic\n"
         "    auth:\n"
         "      - hmac: { scheme: generic, secrets: [ge], header: X-Sig, prefix: \"sha512=\","
         " algorithm: sha512, encoding: base64, payload: \"{timestamp}:{body}\","
         " timestamp_header: X-Time }\n"
         "    event: { id: json:/id }\n"
         "  - name: either\n"
         "    path: /either\n"
         "    auth:\n"
         "      - ip_allow: [127.0.0.1/32]\n"
         "      - any:\n"
         "          - signature: { scheme: sendgrid, public_key: "
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g== }\n"
         "          - basic: { username: u, password: p }\n"
         "    event: { id: json:/id }\n"
         "  - name: sg\n"
         "    path: /sg\n"
         "    auth:\n"
         "      - signature: { scheme: sendgrid, tolerance: 36500d, public_key: "
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g== }\n";
}

struct Fixture {
  TempDir dir;
  ServerProcess server{dir, auth_config()};
  std::int64_t stored(const std::string& route) {
    Db db(dir.file("hookd.db"));
    return db.integer("SELECT count(*) FROM events WHERE route=?", {route});
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(auth_end_to_end, Fixture)

BOOST_AUTO_TEST_CASE(basic_auth) {
  TlsClient c(server.port());
  std::string body = R"({"id":"b1"})";
  auto none = c.post("/basic", body);
  BOOST_TEST(none.status == 401);
  BOOST_TEST(none.body == R"({"error":"unauthorized"})");
  BOOST_TEST(none.header("www-authenticate").starts_with("Basic realm=\"hookd\""));
  auto wrong = c.post("/basic", body, {{"Authorization", "Basic " + base64_encode("jofi:nope")}});
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(stored("basic") == 0);
  auto ok = c.post("/basic", body, {{"Authorization", "Basic " + base64_encode("jofi:s3cret pw")}});
  BOOST_TEST(ok.status == 202);
  BOOST_TEST(stored("basic") == 1);
  // The credentials are not stored.
  Db db(dir.file("hookd.db"));
  BOOST_TEST(db.text("SELECT headers FROM events")->find(base64_encode("jofi:s3cret pw")) ==
             std::string::npos);
  // ... nor logged, nor in the metrics.
  BOOST_TEST(server.log().find("s3cret") == std::string::npos);
  auto m = http_get(server.admin_port(), "/metrics").body;
  BOOST_TEST(m.find(R"(hookd_auth_failures_total{route="basic",reason="missing_credentials"} 1)") !=
             std::string::npos);
  BOOST_TEST(m.find(R"(hookd_auth_failures_total{route="basic",reason="bad_credentials"} 1)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(ip_allow) {
  TlsClient c(server.port());
  auto r = c.post("/denied", "{}");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body == R"({"error":"forbidden"})");
  BOOST_TEST(stored("denied") == 0);
  BOOST_TEST(c.post("/local", "{}").status == 202);
}

BOOST_AUTO_TEST_CASE(github_hmac_with_rotation) {
  TlsClient c(server.port());
  std::string body = R"({"action":"opened"})";
  auto sig = "sha256=" + hex_encode(hmac_sha256("gh-secret", body));
  hookd::test::HeaderList h{{"X-Hub-Signature-256", sig},
                            {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                            {"X-GitHub-Event", "issues"}};
  auto ok = c.post("/github", body, h);
  BOOST_TEST(ok.status == 202);
  BOOST_TEST(ok.body == R"({"status":"accepted","id":"72d3162e-cc78-11e3-81ab-4c9367dc0958"})");
  // A verbatim replay is a duplicate: the delivery id is the dedupe key (preset).
  BOOST_TEST(c.post("/github", body, h).status == 200);
  // Tampered body: 401, nothing stored.
  auto bad = c.post("/github", body + " ", h);
  BOOST_TEST(bad.status == 401);
  BOOST_TEST(stored("github") == 1);
  Db db(dir.file("hookd.db"));
  BOOST_TEST(*db.text("SELECT type FROM events WHERE route='github'") == "issues");
}

BOOST_AUTO_TEST_CASE(standard_webhooks) {
  TlsClient c(server.port());
  std::string body = R"({"type":"invitation.accepted","data":{}})";
  std::string id = "msg_2Kq", ts = now_unix();
  auto key = *hookd::crypto::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  auto sig = "v1," + base64_encode(hmac_sha256(key, id + "." + ts + "." + body));
  auto ok = c.post("/sw", body,
                   {{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sig}});
  BOOST_TEST(ok.status == 202);
  BOOST_TEST(ok.body == R"({"status":"accepted","id":"msg_2Kq"})");
  std::string stale = std::to_string(std::stoll(ts) - 3600);
  auto old = c.post("/sw", body,
                    {{"webhook-id", "msg_old"},
                     {"webhook-timestamp", stale},
                     {"webhook-signature",
                      "v1," + base64_encode(hmac_sha256(key, "msg_old." + stale + "." + body))}});
  BOOST_TEST(old.status == 401);
  BOOST_TEST(stored("sw") == 1);
}

// SendGrid's published vector (sendgrid-nodejs eventwebhook.spec.js) through the listener;
// the route's tolerance is stretched because the vector's timestamp is from 2020.
BOOST_AUTO_TEST_CASE(sendgrid_published_vector) {
  std::string body =
      R"([{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}])"
      "\r\n";
  hookd::test::HeaderList h{
      {"X-Twilio-Email-Event-Webhook-Signature",
       "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="},
      {"X-Twilio-Email-Event-Webhook-Timestamp", "1600112502"}};
  TlsClient c(server.port());
  BOOST_TEST(c.post("/sg", body, h).status == 202);
  BOOST_TEST(c.post("/sg", body + " ", h).status == 401);
  BOOST_TEST(stored("sg") == 1);
}

// `hookd sign` makes what each route's verifier accepts: the operator's way to test by hand.
BOOST_AUTO_TEST_CASE(hookd_sign_output_is_accepted_by_every_signable_route) {
  for (std::string route : {"basic", "github", "sw", "stripe", "slack", "shopify", "docusign",
                            "twilio", "generic", "either"}) {
    std::string body = R"({"id":"signed-)" + route + R"(","type":"test.event"})";
    dir.write("body-" + route + ".json", body);
    auto out = run_hookd(dir.path().string(),
                         "sign -c hookd.yaml --route " + route + " --body body-" + route + ".json");
    BOOST_TEST_REQUIRE(out.code == 0, route << ": " << out.output);
    hookd::test::HeaderList headers;
    std::string query;
    std::istringstream lines(out.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("curl ")) {
        auto q = line.find('?');
        if (q != std::string::npos) query = line.substr(q, line.find('\'', q) - q);
        continue;
      }
      auto colon = line.find(": ");
      if (colon == std::string::npos || line.find(' ') < colon) continue;
      headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    BOOST_TEST_REQUIRE(!headers.empty(), route << ": " << out.output);
    TlsClient c(server.port());
    auto r = c.post("/" + route + query, body, headers);
    BOOST_TEST(r.status == 202, route << ": " << r.status << " " << r.body);
    // Tampering with the body breaks every one of them.
    auto bad = c.post("/" + route + query, body + " ", headers);
    if (route != "basic" && route != "either") BOOST_TEST(bad.status == 401, route);
  }
}

BOOST_AUTO_TEST_CASE(hookd_sign_refuses_what_it_cannot_sign) {
  auto out = run_hookd(dir.path().string(), "sign -c hookd.yaml --route sg");
  BOOST_TEST(out.code == 1);
  BOOST_TEST(out.output.find("cannot sign") != std::string::npos, out.output);
  auto none = run_hookd(dir.path().string(), "sign -c hookd.yaml --route nope");
  BOOST_TEST(none.code == 1);
}

BOOST_AUTO_TEST_SUITE_END()
