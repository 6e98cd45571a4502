// Internal to net/: the loop of a small plain-HTTP listener (admin, ACME http-01): read a
// request (within the listener's PlainLimits), let `answer` fill the response, write it
// (HEAD without body), keep the connection while the client asks to.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <functional>

namespace hookd::net {

using PlainRequest = boost::beast::http::request<boost::beast::http::string_body>;
using PlainResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A request larger than `max_body` ends the connection unanswered; so does one (head and
// body) that takes longer than `timeout`, and a keep-alive wait past it.
struct PlainLimits {
  std::size_t max_body;
  std::chrono::seconds timeout;
};

// `answer` gets a 200 text/plain response to fill in.
boost::asio::awaitable<void> serve_plain_http(
    boost::asio::ip::tcp::socket socket, PlainLimits limits,
    const std::function<void(const PlainRequest&, PlainResponse&)>& answer);

}  // namespace hookd::net
