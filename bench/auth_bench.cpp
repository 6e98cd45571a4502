// hookd_auth_bench: verifications per second on one core for each auth scheme, 1 KiB
// body, through the real make_hmac / make_signature checks; prints a markdown table.
// Rates are per second of this thread's CPU time (robust on a shared machine) and per
// second of wall-clock time.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hookd/auth/items.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"

using namespace hookd;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr std::int64_t kNow = 1700000000;
const std::string kTs = std::to_string(kNow);
const config::Location kWhere{"bench", 1, 1};

// A 1 KiB JSON body.
std::string json_body() {
  std::string body = R"({"id":"evt_1","type":"test_taker.assessment_completed","data":{"pad":")";
  body.append(1024 - body.size() - 4, 'x');
  body += "\"}}";
  return body;
}

// A 1 KiB form body (Twilio): 16 parameters.
std::string form_body() {
  std::string body;
  for (int i = 0; body.size() < 1024; ++i) {
    if (!body.empty()) body += '&';
    body += "Param" + std::to_string(i) + "=" + std::string(52, static_cast<char>('a' + i % 26));
  }
  body.resize(1024);
  return body;
}

std::string mac(crypto::MacAlgorithm a, std::string_view key,
                std::initializer_list<std::string_view> parts) {
  return std::string(crypto::HmacKey(a, key).mac(parts).view());
}

struct Case {
  std::string name;
  std::function<bool()> run;  // one verification; true when it passed
};

// CPU time of this thread: what one core spent, whatever else the (shared) machine runs.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double per_cpu_second;   // verifications per second of this thread's CPU time
  double per_wall_second;  // verifications per second of elapsed time (std::chrono)
};

// Runs `c` until this thread has spent about `seconds` of CPU on it, after a warm-up.
Rate measure(const Case& c, double seconds) {
  for (int i = 0; i < 200; ++i) {
    if (!c.run()) {
      std::fprintf(stderr, "%s: verification failed\n", c.name.c_str());
      std::exit(2);
    }
  }
  std::size_t n = 0;
  auto wall_start = Clock::now();
  double cpu_start = thread_cpu_seconds(), cpu = 0;
  do {
    for (int i = 0; i < 64; ++i) n += c.run() ? 1 : 0;
    cpu = thread_cpu_seconds() - cpu_start;
  } while (cpu < seconds);
  std::chrono::duration<double> wall = Clock::now() - wall_start;
  return {static_cast<double>(n) / cpu, static_cast<double>(n) / wall.count()};
}

// A check and the request it verifies, kept alive together.
struct Fixture {
  std::unique_ptr<auth::Check> check;
  Headers headers;
  std::string target = "/hook";
  http::Request request;
  auth::Context context{std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};

  Fixture(std::unique_ptr<auth::Check> c, Headers h, std::string body, std::string t = "/hook")
      : check(std::move(c)), headers(std::move(h)), target(std::move(t)) {
    request.method = "POST";
    request.target = target;
    for (const auto& [k, v] : headers) request.headers.emplace_back(k, v);
    request.body = std::move(body);
  }
  bool run() const { return check->check(request, context).passed(); }
};

config::HmacAuthConfig hmac_config(std::string scheme, std::string secret) {
  config::HmacAuthConfig c;
  c.scheme = std::move(scheme);
  c.secrets.emplace_back(std::move(secret));
  return c;
}

std::shared_ptr<Fixture> hmac_fixture(const config::HmacAuthConfig& c, Headers h, std::string body,
                                      std::string target = "/hook") {
  return std::make_shared<Fixture>(auth::make_hmac(c, kWhere), std::move(h), std::move(body),
                                   std::move(target));
}

Case from(std::string name, std::shared_ptr<Fixture> f) {
  return {std::move(name), [f] { return f->run(); }};
}

std::string pem_and_sign(const char* type, const char* curve, std::string_view message,
                         std::string& signature) {
  EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(key, EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ed = curve == nullptr;
  EVP_DigestSignInit(ctx.get(), nullptr, ed ? nullptr : EVP_sha256(), nullptr, key);
  std::size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(message.data());
  EVP_DigestSign(ctx.get(), nullptr, &len, m, message.size());
  signature.assign(len, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, m,
                 message.size());
  signature.resize(len);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<Case> cases() {
  using A = crypto::MacAlgorithm;
  const std::string body = json_body();
  std::vector<Case> out;

  // Baselines: the primitive with a reused per-thread context vs a one-shot EVP_Q_mac.
  auto key = std::make_shared<crypto::HmacKey>(A::sha256, "bench-secret");
  auto expected = std::string(key->mac(body).view());
  out.push_back({"HMAC-SHA256 primitive, reused EVP_MAC_CTX", [key, body, expected] {
                   return crypto::constant_time_equal(key->mac(body).view(), expected);
                 }});
  out.push_back({"HMAC-SHA256 primitive, one-shot EVP_Q_mac", [body, expected] {
                   unsigned char md[64];
                   std::size_t len = 0;
                   char digest[] = "SHA256";
                   EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, "bench-secret", 12,
                             reinterpret_cast<const unsigned char*>(body.data()), body.size(), md,
                             sizeof md, &len);
                   return crypto::constant_time_equal(
                       std::string_view(reinterpret_cast<char*>(md), len), expected);
                 }});

  const std::string s = "bench-secret";
  out.push_back(from("hmac github",
                     hmac_fixture(hmac_config("github", s),
                                  {{"X-Hub-Signature-256",
                                    "sha256=" + crypto::hex_encode(mac(A::sha256, s, {body}))}},
                                  body)));
  out.push_back(
      from("hmac stripe",
           hmac_fixture(hmac_config("stripe", "whsec_" + s),
                        {{"Stripe-Signature",
                          "t=" + kTs + ",v1=" +
                              crypto::hex_encode(mac(A::sha256, "whsec_" + s, {kTs, ".", body}))}},
                        body)));
  std::string raw_sw(32, '\x42');
  out.push_back(from(
      "hmac standard-webhooks (v1)",
      hmac_fixture(
          hmac_config("standard-webhooks", "whsec_" + crypto::base64_encode(raw_sw)),
          {{"webhook-id", "msg_1"},
           {"webhook-timestamp", kTs},
           {"webhook-signature",
            "v1," + crypto::base64_encode(mac(A::sha256, raw_sw, {"msg_1", ".", kTs, ".", body}))}},
          body)));
  out.push_back(
      from("hmac slack",
           hmac_fixture(hmac_config("slack", s),
                        {{"X-Slack-Request-Timestamp", kTs},
                         {"X-Slack-Signature",
                          "v0=" + crypto::hex_encode(mac(A::sha256, s, {"v0:", kTs, ":", body}))}},
                        body)));
  out.push_back(from(
      "hmac shopify",
      hmac_fixture(hmac_config("shopify", s),
                   {{"X-Shopify-Hmac-Sha256", crypto::base64_encode(mac(A::sha256, s, {body}))}},
                   body)));
  out.push_back(from(
      "hmac docusign",
      hmac_fixture(hmac_config("docusign", s),
                   {{"X-DocuSign-Signature-1", crypto::base64_encode(mac(A::sha256, s, {body}))}},
                   body)));

  auto twilio = hmac_config("twilio", s);
  twilio.url = "https://example.com/hook";
  std::string form = form_body();
  std::string sorted;
  {
    // Param0..Param15 sorted as strings: Param0, Param1, Param10.. Param15, Param2, ...
    std::vector<std::pair<std::string, std::string>> kv;
    std::string_view rest = form;
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto item = rest.substr(0, amp);
      auto eq = item.find('=');
      kv.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    std::sort(kv.begin(), kv.end());
    for (auto& [k, v] : kv) sorted += k + v;
  }
  out.push_back(from(
      "hmac twilio (form params)",
      hmac_fixture(twilio,
                   {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"X-Twilio-Signature",
                     crypto::base64_encode(mac(A::sha1, s, {"https://example.com/hook", sorted}))}},
                   form)));
  std::string query = "?bodySHA256=" + crypto::hex_encode(crypto::sha256(body));
  out.push_back(from(
      "hmac twilio (JSON, bodySHA256)",
      hmac_fixture(twilio,
                   {{"Content-Type", "application/json"},
                    {"X-Twilio-Signature",
                     crypto::base64_encode(mac(A::sha1, s, {"https://example.com/hook", query}))}},
                   body, "/hook" + query)));

  auto generic = hmac_config("generic", s);
  generic.header = "X-Signature";
  generic.payload = "{timestamp}.{body}";
  generic.timestamp_header = "X-Timestamp";
  out.push_back(
      from("hmac generic (sha256 hex, {timestamp}.{body})",
           hmac_fixture(generic,
                        {{"X-Timestamp", kTs},
                         {"X-Signature", crypto::hex_encode(mac(A::sha256, s, {kTs, ".", body}))}},
                        body)));
  generic.algorithm = "sha512";
  generic.encoding = "base64";
  out.push_back(from(
      "hmac generic (sha512 base64)",
      hmac_fixture(generic,
                   {{"X-Timestamp", kTs},
                    {"X-Signature", crypto::base64_encode(mac(A::sha512, s, {kTs, ".", body}))}},
                   body)));

  // Rotation: three secrets, the last one matches (every secret's MAC is computed).
  auto rotated = hmac_config("github", "old-secret-1");
  rotated.secrets.emplace_back("old-secret-2");
  rotated.secrets.emplace_back(s);
  out.push_back(from("hmac github, 3 secrets (rotation)",
                     hmac_fixture(rotated,
                                  {{"X-Hub-Signature-256",
                                    "sha256=" + crypto::hex_encode(mac(A::sha256, s, {body}))}},
                                  body)));

  std::string sig;
  std::string pem = pem_and_sign("EC", "P-256", kTs + body, sig);
  config::SignatureAuthConfig sendgrid{"sendgrid", {pem}};
  out.push_back(
      from("signature sendgrid (ECDSA P-256)",
           std::make_shared<Fixture>(
               auth::make_signature(sendgrid, kWhere),
               Headers{{"X-Twilio-Email-Event-Webhook-Timestamp", kTs},
                       {"X-Twilio-Email-Event-Webhook-Signature", crypto::base64_encode(sig)}},
               body)));
  pem = pem_and_sign("ED25519", nullptr, "msg_1." + kTs + "." + body, sig);
  config::SignatureAuthConfig v1a{"standard-webhooks", {pem}};
  out.push_back(from(
      "signature standard-webhooks (v1a Ed25519)",
      std::make_shared<Fixture>(auth::make_signature(v1a, kWhere),
                                Headers{{"webhook-id", "msg_1"},
                                        {"webhook-timestamp", kTs},
                                        {"webhook-signature", "v1a," + crypto::base64_encode(sig)}},
                                body)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
  if (seconds <= 0) {
    std::fprintf(stderr,
                 "usage: hookd_auth_bench [CPU seconds per case, default 0.5] [name filter]\n");
    return 1;
  }
  std::printf(
      "| scheme (1 KiB body, one thread) | verifications/s (CPU time) | µs/verification (CPU) "
      "| verifications/s (wall clock) |\n");
  std::printf("|---|---:|---:|---:|\n");
  std::string filter = argc > 2 ? argv[2] : "";
  for (const auto& c : cases()) {
    if (c.name.find(filter) == std::string::npos) continue;
    Rate rate = measure(c, seconds);
    std::printf("| %s | %.0f | %.2f | %.0f |\n", c.name.c_str(), rate.per_cpu_second,
                1e6 / rate.per_cpu_second, rate.per_wall_second);
    std::fflush(stdout);
  }
  return 0;
}
