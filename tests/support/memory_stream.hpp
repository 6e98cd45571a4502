// An in-memory stream for the webhook listener's request loop (net/request_loop.hpp): the
// client's bytes handed out `chunk` at a time, then end of stream; what hookd writes is
// appended to `out`. Every operation completes through a post, as a socket's would.
// Header-only: the unit tests and the fuzz targets (which do not link Boost.Test) share it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace hookd::test {

class MemoryStream {
 public:
  using executor_type = boost::asio::any_io_executor;

  MemoryStream(executor_type executor, std::string_view in, std::size_t chunk, std::string& out)
      : executor_(std::move(executor)), in_(in), chunk_(chunk), out_(out) {}

  executor_type get_executor() { return executor_; }
  void expires_after(std::chrono::steady_clock::duration) {}  // nothing here waits

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    namespace asio = boost::asio;
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          boost::system::error_code ec;
          std::size_t n = 0;
          if (in_.empty()) {
            ec = asio::error::eof;
          } else {
            n = asio::buffer_copy(b, asio::buffer(in_.data(), std::min(chunk_, in_.size())));
            in_.remove_prefix(n);
          }
          complete(std::move(handler), ec, n);
        },
        token, buffers);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    namespace asio = boost::asio;
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          const std::size_t n = asio::buffer_size(b);
          const std::size_t at = out_.size();
          out_.resize(at + n);
          asio::buffer_copy(asio::buffer(out_.data() + at, n), b);
          complete(std::move(handler), {}, n);
        },
        token, buffers);
  }

 private:
  template <class Handler>
  void complete(Handler handler, boost::system::error_code ec, std::size_t n) {
    boost::asio::post(executor_, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
  }

  executor_type executor_;
  std::string_view in_;
  std::size_t chunk_;
  std::string& out_;
};

}  // namespace hookd::test
