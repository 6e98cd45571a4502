// hookd-bench's pieces without a network: the histogram's percentiles, the URL and option
// checks, and requests whose credentials the server's own verifiers accept.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>

#include "histogram.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/http/request.hpp"
#include "options.hpp"
#include "requests.hpp"
#include "temp_dir.hpp"

using namespace hookd::bench;

namespace {

// A request as hookd-bench wrote it, split into the parts the auth checks read. The views
// point into `raw`.
struct Parsed {
  std::string raw;
  hookd::http::Request request;
  std::string request_line;
};

Parsed parse(std::string raw) {
  Parsed p;
  p.raw = std::move(raw);
  auto end = p.raw.find("\r\n\r\n");
  BOOST_REQUIRE(end != std::string::npos);
  std::string_view head(p.raw.data(), end);
  auto line_end = head.find("\r\n");
  p.request_line = std::string(head.substr(0, line_end));
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    auto eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    auto colon = line.find(": ");
    p.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  }
  p.request.method = "POST";
  p.request.target = "/hook";
  p.request.body = p.raw.substr(end + 4);
  p.request.peer = "127.0.0.1";
  return p;
}

Options options(const std::string& scheme, const std::string& secret) {
  Options o;
  std::string error;
  o.target = *parse_target("https://127.0.0.1:8443/hook", error);
  o.scheme = scheme;
  o.secret = secret;
  return o;
}

bool accepted_by(const std::string& scheme, const std::string& secret, const Parsed& p) {
  hookd::config::HmacAuthConfig c;
  c.scheme = scheme;
  c.secrets.emplace_back(secret);
  auto check = hookd::auth::make_hmac(c, {"bench.yaml", 1, 1});
  return check->check(p.request, {}).passed();
}

}  // namespace

BOOST_AUTO_TEST_CASE(histogram_percentiles_are_within_the_bucket_precision) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 µs .. 100 ms
  BOOST_TEST(h.count() == 100000u);
  BOOST_TEST(h.max() == 100000000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double exact = q * 100000 * 1000;
    double got = static_cast<double>(h.percentile(q));
    BOOST_TEST(got >= exact);
    BOOST_TEST(got <= exact * 1.016, q << ": " << got << " vs " << exact);
  }
  BOOST_TEST(h.percentile(1.0) == h.max());
  BOOST_TEST(h.mean() == 50000500.0);
}

BOOST_AUTO_TEST_CASE(histogram_small_values_are_exact_and_merge_adds_up) {
  Histogram a, b, empty;
  BOOST_TEST(empty.percentile(0.99) == 0u);
  for (int i = 0; i < 99; ++i) a.record(5);
  b.record(7'000'000'000);  // 7 s
  a.merge(b);
  BOOST_TEST(a.count() == 100u);
  BOOST_TEST(a.percentile(0.5) == 5u);
  BOOST_TEST(a.percentile(0.99) == 5u);
  BOOST_TEST(a.percentile(0.999) == 7'000'000'000u);
  BOOST_TEST(a.max() == 7'000'000'000u);
}

BOOST_AUTO_TEST_CASE(targets_are_https_urls) {
  std::string error;
  auto t = parse_target("https://127.0.0.1:8443/webhooks/x?a=1", error);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->host == "127.0.0.1");
  BOOST_TEST(t->port == "8443");
  BOOST_TEST(t->path == "/webhooks/x?a=1");
  BOOST_TEST(t->host_header == "127.0.0.1:8443");
  auto v6 = parse_target("https://[::1]:9/p", error);
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->host == "::1");
  BOOST_TEST(v6->port == "9");
  auto bare = parse_target("https://localhost", error);
  BOOST_REQUIRE(bare);
  BOOST_TEST(bare->port == "443");
  BOOST_TEST(bare->path == "/");
  BOOST_TEST(!parse_target("http://127.0.0.1:80/x", error));
  BOOST_TEST(error.find("https://") != std::string::npos);
  BOOST_TEST(!parse_target("https://host:port/x", error));
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_with_a_reason) {
  auto refused = [](std::vector<std::string> args) {
    args.insert(args.begin(), "hookd-bench");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    int code = -1;
    auto o = parse_options(static_cast<int>(argv.size()), argv.data(), code);
    return !o && code == 1;
  };
  BOOST_TEST(refused({"https://h/x", "--scheme", "github"}));  // no secret
  BOOST_TEST(refused({"https://h/x", "--scheme", "basic", "--secret", "nocolon"}));
  BOOST_TEST(refused({"https://h/x", "--scheme", "bearer"}));
  BOOST_TEST(refused({"https://h/x", "--scheme", "twilio", "--secret", "s"}));
  BOOST_TEST(refused({"https://h/x", "--duplicates", "1.5"}));
  BOOST_TEST(refused({"https://h/x", "--duration", "ten"}));
  BOOST_TEST(refused({"https://h/x", "--connections", "0"}));
  BOOST_TEST(refused({"https://h/x", "--rate", "0", "--verify-store", "x.db"}));
  BOOST_TEST(refused({"https://h/x", "--rate", "0", "--acked-ids", "ids.txt"}));
  BOOST_TEST(refused({"https://h/x", "--interval", "0s"}));
  BOOST_TEST(refused({"https://h/x", "--interval", "often"}));
  BOOST_TEST(refused({"https://h/x", "-H", "no colon"}));
  BOOST_TEST(refused({"http://h/x"}));
  BOOST_TEST(!refused({"https://h/x", "--scheme", "github", "--secret", "s", "-c", "8"}));
  // The secret may come from the environment instead of the command line.
  ::setenv("HOOKD_BENCH_SECRET", "from-env", 1);
  std::vector<std::string> args{"hookd-bench", "https://h/x", "--scheme", "github"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int code = -1;
  auto o = parse_options(static_cast<int>(argv.size()), argv.data(), code);
  ::unsetenv("HOOKD_BENCH_SECRET");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->secret == "from-env");
}

BOOST_AUTO_TEST_CASE(generated_bodies_have_the_size_and_the_id) {
  auto o = options("none", "");
  o.body_size = 1024;
  RequestBuilder b(o, "r1");
  std::string out;
  b.build(b.id(42), out);
  auto p = parse(out);
  BOOST_TEST(p.request_line == "POST /hook HTTP/1.1");
  BOOST_TEST(p.request.body.size() == 1024u);
  BOOST_TEST(*p.request.header("Content-Length") == "1024");
  BOOST_TEST(*p.request.header("Host") == "127.0.0.1:8443");
  auto json = boost::json::parse(p.request.body).as_object();
  BOOST_TEST(json.at("id").as_string() == "r1-42");
  BOOST_TEST(json.at("type").as_string() == "bench.event");
  BOOST_TEST(b.id(42) != RequestBuilder(o, "r2").id(42));  // runs do not collide
}

BOOST_AUTO_TEST_CASE(body_files_get_the_id_and_type_substituted) {
  hookd::test::TempDir dir;
  auto path = (dir.path() / "body.json").string();
  std::ofstream(path) << R"({"event_id":"{{id}}","kind":"{{type}}","again":"{{id}}"})";
  auto o = options("none", "");
  o.body_file = path;
  o.event_type = "invitation.accepted";
  RequestBuilder b(o, "r");
  std::string out;
  b.build("abc", out);
  BOOST_TEST(parse(out).request.body ==
             R"({"event_id":"abc","kind":"invitation.accepted","again":"abc"})");
  o.body_file = (dir.path() / "missing.json").string();
  BOOST_CHECK_THROW(RequestBuilder(o, "r"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(hmac_schemes_sign_what_the_verifiers_accept) {
  const std::string sw_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  for (const auto& [scheme, secret] :
       std::vector<std::pair<std::string, std::string>>{{"github", "gh"},
                                                        {"stripe", "whsec_stripe"},
                                                        {"standard-webhooks", sw_secret},
                                                        {"slack", "sl"},
                                                        {"shopify", "sh"},
                                                        {"docusign", "ds"}}) {
    BOOST_TEST_CONTEXT(scheme) {
      auto o = options(scheme, secret);
      RequestBuilder b(o, "run");
      std::string out;
      b.build(b.id(1), out);
      auto p = parse(out);
      BOOST_TEST(accepted_by(scheme, secret, p));
      BOOST_TEST(!accepted_by(scheme, scheme == "standard-webhooks" ? "whsec_AAAA" : "other", p));
      p.request.body[10] ^= 1;  // one flipped bit in the body
      BOOST_TEST(!accepted_by(scheme, secret, p));
    }
  }
}

BOOST_AUTO_TEST_CASE(ids_travel_in_the_scheme_headers) {
  auto o = options("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  RequestBuilder b(o, "run");
  std::string out;
  b.build("run-7", out);
  BOOST_TEST(*parse(out).request.header("webhook-id") == "run-7");
  auto g = options("github", "s");
  RequestBuilder gb(g, "run");
  gb.build("run-8", out);
  auto p = parse(out);
  BOOST_TEST(*p.request.header("X-GitHub-Delivery") == "run-8");
  BOOST_TEST(*p.request.header("X-GitHub-Event") == "bench.event");
}

BOOST_AUTO_TEST_CASE(basic_bearer_and_extra_headers) {
  auto o = options("basic", "jofi:pa:ss");
  o.headers = {{"X-Extra", "1"}};
  RequestBuilder b(o, "r");
  std::string out;
  b.build("x", out);
  auto p = parse(out);
  BOOST_TEST(*p.request.header("Authorization") ==
             "Basic " + hookd::crypto::base64_encode("jofi:pa:ss"));
  BOOST_TEST(*p.request.header("X-Extra") == "1");
  auto t = options("bearer", "");
  t.token = "tok.en";
  RequestBuilder tb(t, "r");
  tb.build("x", out);
  BOOST_TEST(*parse(out).request.header("Authorization") == "Bearer tok.en");
}
