// Internal to net/: the loop of a small plain-HTTP listener (admin, ACME http-01): read a
// request (no body beyond 64 KiB, 30 s per request), let `answer` fill the response, write
// it (HEAD without body), keep the connection while the client asks to.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>

namespace hookd::net {

using PlainRequest = boost::beast::http::request<boost::beast::http::string_body>;
using PlainResponse = boost::beast::http::response<boost::beast::http::string_body>;

// `answer` gets a 200 text/plain response to fill in.
boost::asio::awaitable<void> serve_plain_http(
    boost::asio::ip::tcp::socket socket,
    const std::function<void(const PlainRequest&, PlainResponse&)>& answer);

}  // namespace hookd::net
