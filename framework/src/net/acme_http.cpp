// One plain-HTTP connection on the ACME http-01 listener (acme.http_listen): answers
// /.well-known/acme-challenge/<token> while an order is validated (RFC 8555 §8.3), and
// sends everything else to https:// (301), so port 80 serves nothing of its own.
#include <boost/beast/http.hpp>

#include "plain_http.hpp"
#include "session.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kChallengePrefix = "/.well-known/acme-challenge/";

// https://HOST[:PORT]TARGET from the request's Host (its port dropped): PORT is the webhook
// listener's, left out when it is 443. Without a usable Host there is nowhere to send.
std::string https_location(std::string_view host, std::string_view target, std::uint16_t port) {
  if (host.empty() || host.find_first_of(" /\\@\r\n\t") != std::string_view::npos) return {};
  if (host.front() == '[') {
    auto end = host.find(']');
    if (end == std::string_view::npos) return {};
    host = host.substr(0, end + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string out = "https://" + std::string(host);
  if (port != 443) out += ":" + std::to_string(port);
  out += target.empty() || target.front() != '/' ? "/" : std::string(target);
  return out;
}

}  // namespace

asio::awaitable<void> run_acme_http_session(asio::ip::tcp::socket socket, AcmeHttpEnv& env) {
  // A CA's validation is a GET without a body, made within seconds.
  constexpr PlainLimits kLimits{0, std::chrono::seconds(10)};
  co_await serve_plain_http(std::move(socket), kLimits, [&env](const PlainRequest& req,
                                                               PlainResponse& res) {
    std::string_view target = req.target();
    if (target.substr(0, kChallengePrefix.size()) == kChallengePrefix) {
      auto answer = env.certificates.token(target.substr(kChallengePrefix.size()));
      if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
        res.result(bhttp::status::method_not_allowed);
        res.set(bhttp::field::allow, "GET, HEAD");
        res.body() = "method not allowed\n";
      } else if (answer) {
        res.set(bhttp::field::content_type, "application/octet-stream");
        res.body() = *answer;
      } else {
        res.result(bhttp::status::not_found);
        res.body() = "no such challenge\n";
      }
    } else if (auto location = https_location(req[bhttp::field::host], target, env.https_port);
               !location.empty()) {
      res.result(bhttp::status::moved_permanently);
      res.set(bhttp::field::location, location);
      res.body() = "this server speaks HTTPS: " + location + "\n";
    } else {
      res.result(bhttp::status::bad_request);
      res.body() = "a Host header is required\n";
    }
  });
}

}  // namespace hookd::net
