// One plain-HTTP connection on the ACME http-01 listener (acme.http_listen): answers
// /.well-known/acme-challenge/<token> while an order is validated (RFC 8555 §8.3), and
// sends everything else to https:// (301), so port 80 serves nothing of its own.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "session.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
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
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(std::chrono::seconds(10));
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(8 * 1024);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    if (ec) break;
    const auto& req = parser.get();
    std::string_view target = req.target();

    bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
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
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == bhttp::verb::head) res.body().clear();
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace hookd::net
