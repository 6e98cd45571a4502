// TlsStream over a loopback connection, a server and a client stream on one io_context:
// handshake, reads and gathered writes, large transfers through partial writes, inline
// completion and its bound, the peer's close_notify and a plain close, deadlines and cancel.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/test/unit_test.hpp>
#include <future>

#include "hookd/net/tls.hpp"
#include "hookd/net/tls_stream.hpp"
#include "hookd/tls/files.hpp"
#include "temp_dir.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using hookd::net::TlsStream;
using tcp = asio::ip::tcp;

namespace {

struct Pair {
  asio::io_context io;
  hookd::test::TempDir dir;
  hookd::tls::ServerCertificates certificates;
  asio::ssl::context server_tls = make_server();
  asio::ssl::context client_tls{asio::ssl::context::tls_client};
  std::unique_ptr<TlsStream> server, client;

  asio::ssl::context make_server() {
    hookd::config::TlsConfig c;
    c.cert = (dir.path() / "cert.pem").string();
    c.key = (dir.path() / "key.pem").string();
    c.self_signed = true;
    certificates.set_current(hookd::tls::load_tls_files(c));
    return hookd::net::make_server_tls_context(c, certificates);
  }

  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    tcp::socket c(io), s(io);
    c.connect(acceptor.local_endpoint());
    acceptor.accept(s);
    server = std::make_unique<TlsStream>(std::move(s), server_tls, TlsStream::Role::server);
    client = std::make_unique<TlsStream>(std::move(c), client_tls, TlsStream::Role::client);
    run([this]() -> asio::awaitable<void> { co_await server->async_handshake(use_awaitable); },
        [this]() -> asio::awaitable<void> { co_await client->async_handshake(use_awaitable); });
  }

  // Runs both coroutines to completion; rethrows the first failure.
  template <class A, class B>
  void run(A a, B b) {
    std::exception_ptr error;
    auto done = [&error](std::exception_ptr e) {
      if (e && !error) error = e;
    };
    asio::co_spawn(io, a(), done);
    asio::co_spawn(io, b(), done);
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(handshake_then_both_directions) {
  Pair p;
  BOOST_TEST(std::string(SSL_get_version(p.client->native_handle())) == "TLSv1.3");
  std::string got(5, '\0'), back(3, '\0');
  p.run(
      [&]() -> asio::awaitable<void> {
        co_await asio::async_read(*p.server, asio::buffer(got), use_awaitable);
        co_await asio::async_write(*p.server, asio::buffer(std::string_view("ok!")), use_awaitable);
      },
      [&]() -> asio::awaitable<void> {
        co_await asio::async_write(*p.client, asio::buffer(std::string_view("hello")),
                                   use_awaitable);
        co_await asio::async_read(*p.client, asio::buffer(back), use_awaitable);
      });
  BOOST_TEST(got == "hello");
  BOOST_TEST(back == "ok!");
}

BOOST_AUTO_TEST_CASE(several_buffers_and_a_megabyte) {
  Pair p;
  std::string head = "HTTP/1.1 202 Accepted\r\n\r\n", body(1 << 20, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  std::string got(head.size() + body.size(), '\0');
  p.run(
      [&]() -> asio::awaitable<void> {
        std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body)};
        co_await asio::async_write(*p.server, parts, use_awaitable);
      },
      [&]() -> asio::awaitable<void> {
        co_await asio::async_read(*p.client, asio::buffer(got), use_awaitable);
      });
  BOOST_TEST((got == head + body));
}

// An operation that does not block completes in its initiating call (no post): here a
// read of bytes OpenSSL has already decrypted.
BOOST_AUTO_TEST_CASE(a_read_that_does_not_block_completes_inline) {
  Pair p;
  char first = 0;
  p.run(
      [&]() -> asio::awaitable<void> {
        co_await asio::async_read(*p.server, asio::buffer(&first, 1), use_awaitable);
      },
      [&]() -> asio::awaitable<void> {
        co_await asio::async_write(*p.client, asio::buffer(std::string_view("hello")),
                                   use_awaitable);
      });
  std::string rest(4, '\0');
  std::size_t got = 0;
  bool done = false;
  p.server->async_read_some(asio::buffer(rest), [&](boost::system::error_code ec, std::size_t n) {
    BOOST_TEST(!ec);
    got = n;
    done = true;
  });
  BOOST_TEST(done);  // before any io_context ran
  BOOST_TEST(first == 'h');
  BOOST_TEST(rest.substr(0, got) == std::string("ello").substr(0, got));
  BOOST_TEST(got > 0u);
}

// However many reads in a row find their bytes ready, inline completions nest only a
// bounded depth (then one is posted): 200,000 one-byte reads do not grow the stack.
BOOST_AUTO_TEST_CASE(a_long_run_of_reads_that_do_not_block_keeps_the_stack_bounded) {
  Pair p;
  const std::string data(200000, 'x');
  std::size_t got = 0;
  p.run(
      [&]() -> asio::awaitable<void> {
        char c;
        while (got < data.size()) {
          got += co_await p.server->async_read_some(asio::buffer(&c, 1), use_awaitable);
        }
      },
      [&]() -> asio::awaitable<void> {
        co_await asio::async_write(*p.client, asio::buffer(data), use_awaitable);
      });
  BOOST_TEST(got == data.size());
}

BOOST_AUTO_TEST_CASE(close_notify_is_eof_and_a_plain_close_is_truncation) {
  {
    Pair p;
    boost::system::error_code ec;
    p.run([&]() -> asio::awaitable<void> { co_await p.server->async_shutdown(use_awaitable); },
          [&]() -> asio::awaitable<void> {
            char c;
            std::tie(ec, std::ignore) = co_await p.client->async_read_some(
                asio::buffer(&c, 1), asio::as_tuple(use_awaitable));
          });
    BOOST_TEST((ec == asio::error::eof), ec.message());
  }
  {
    Pair p;
    boost::system::error_code ec;
    p.server->socket().close();
    p.run([]() -> asio::awaitable<void> { co_return; },
          [&]() -> asio::awaitable<void> {
            char c;
            std::tie(ec, std::ignore) = co_await p.client->async_read_some(
                asio::buffer(&c, 1), asio::as_tuple(use_awaitable));
          });
    BOOST_TEST((ec == asio::ssl::error::stream_truncated), ec.message());
  }
}

BOOST_AUTO_TEST_CASE(a_read_past_its_deadline_times_out_and_cancel_aborts) {
  Pair p;
  boost::system::error_code timed, aborted;
  p.client->expires_after(std::chrono::milliseconds(50));
  p.server->expires_after(std::chrono::seconds(30));  // later deadline: not what ends it
  p.run(
      [&]() -> asio::awaitable<void> {
        char c;
        std::tie(timed, std::ignore) =
            co_await p.client->async_read_some(asio::buffer(&c, 1), asio::as_tuple(use_awaitable));
      },
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await t.async_wait(use_awaitable);
        p.server->cancel();  // nothing pending: no effect
        co_return;
      });
  BOOST_TEST((timed == boost::beast::error::timeout), timed.message());

  // A moved-earlier deadline takes effect while the timer waits for a later one.
  p.server->expires_after(std::chrono::seconds(30));
  p.run(
      [&]() -> asio::awaitable<void> {
        char c;
        std::tie(aborted, std::ignore) =
            co_await p.server->async_read_some(asio::buffer(&c, 1), asio::as_tuple(use_awaitable));
      },
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await t.async_wait(use_awaitable);
        p.server->expires_after(std::chrono::milliseconds(10));
      });
  BOOST_TEST((aborted == boost::beast::error::timeout), aborted.message());

  boost::system::error_code cancelled;
  p.client->expires_never();
  p.run(
      [&]() -> asio::awaitable<void> {
        char c;
        std::tie(cancelled, std::ignore) =
            co_await p.client->async_read_some(asio::buffer(&c, 1), asio::as_tuple(use_awaitable));
      },
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await t.async_wait(use_awaitable);
        p.client->cancel();
      });
  BOOST_TEST((cancelled == asio::error::operation_aborted), cancelled.message());
}
