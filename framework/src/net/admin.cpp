// One plain-HTTP connection on the admin listener: /healthz, /readyz, /metrics.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "hookd/metrics/registry.hpp"
#include "plain_http.hpp"
#include "session.hpp"

namespace hookd::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

asio::awaitable<void> serve_plain_http(
    asio::ip::tcp::socket socket, PlainLimits limits,
    const std::function<void(const PlainRequest&, PlainResponse&)>& answer) {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(limits.timeout);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(limits.max_body);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    if (ec) break;
    const auto& req = parser.get();
    PlainResponse res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    answer(req, res);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == bhttp::verb::head) res.body().clear();
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kTuple);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> run_admin_session(asio::ip::tcp::socket socket, AdminEnv& env) {
  // Bodies up to 64 KiB: the admin API's requests are small.
  constexpr PlainLimits kLimits{64 * 1024, std::chrono::seconds(30)};
  co_await serve_plain_http(std::move(socket), kLimits, [&env](const PlainRequest& req,
                                                               PlainResponse& res) {
    std::string_view path = req.target().substr(0, req.target().find('?'));
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      res.result(bhttp::status::method_not_allowed);
      res.set(bhttp::field::allow, "GET, HEAD");
      res.body() = "method not allowed\n";
    } else if (path == "/healthz") {
      res.body() = "ok\n";
    } else if (path == "/readyz") {
      const std::string why = env.unready();
      res.result(why.empty() ? bhttp::status::ok : bhttp::status::service_unavailable);
      res.body() = why.empty() ? "ready\n" : "not ready: " + why + "\n";
    } else if (path == "/metrics") {
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = env.metrics.expose();
    } else {
      res.result(bhttp::status::not_found);
      res.body() = "not found\n";
    }
  });
}

}  // namespace hookd::net
