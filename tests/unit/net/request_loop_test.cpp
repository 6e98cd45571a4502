// The webhook listener's request loop (net/request_loop.hpp) on an in-memory stream, with
// the real router, a Basic-auth route and the outbox writer on a store in a temp directory:
// what a request costs in memory before its body has come. A declared `Content-Length` is
// a promise the client need not keep; the body's buffer must grow with the bytes that came,
// never be sized by the declaration (Beast's string_body reserves it at the first body
// byte: one connection declaring max_body and sending a byte held max_body of memory).
//
// The executable's operator new is replaced by a counting one: the largest single
// allocation made on the test's thread while it watches.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "db.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/loader.hpp"
#include "hookd/ingest/routes.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/request_loop.hpp"
#include "hookd/outbox/writer.hpp"
#include "memory_stream.hpp"
#include "temp_dir.hpp"

namespace {

thread_local bool watching = false;
thread_local std::size_t largest = 0;

void* counted_new(std::size_t n) {
  if (watching) largest = std::max(largest, n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

// The largest allocation made on this thread while `watch` lives.
struct LargestAllocation {
  LargestAllocation() {
    largest = 0;
    watching = true;
  }
  ~LargestAllocation() { watching = false; }
  std::size_t bytes() const { return largest; }
};

}  // namespace

// Every non-aligned form, so that each allocation is freed by its own family (ASan checks
// new/delete pairs); the aligned forms stay the runtime's.
void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace hookd;
namespace asio = boost::asio;

constexpr std::size_t kMiB = 1024 * 1024;

constexpr std::string_view kLoopConfig = R"(
server:
  listen: 127.0.0.1:0
  tls: { cert: unused-cert.pem, key: unused-key.pem }
  limits:
    max_body: 16MiB
    max_buffered_bodies: 16MiB  # one source may hold all of it
storage:
  path: unused.db
routes:
  - name: big
    path: /hooks/big
    auth:
      - basic: { username: unit, password: request-loop-pass }
    event: { id: "header:X-Event-Id" }
)";

// The request loop's world: config, router, body budget and a writer on a temp store.
struct LoopFixture {
  test::TempDir dir;
  config::Config config;
  metrics::Registry metrics;
  std::unique_ptr<outbox::Writer> writer;
  std::optional<auth::RouteThrottles> throttles;
  std::shared_ptr<const http::Router> router;
  std::optional<net::BodyBudget> bodies;
  std::atomic<bool> draining{false};

  LoopFixture() {
    auto loaded = config::load_string(kLoopConfig, "request_loop.yaml");
    BOOST_TEST_REQUIRE(loaded.ok());
    config = std::move(*loaded.config);
    outbox::WriterOptions options;
    options.path = dir.file("hookd.db");
    options.fsync_each_commit = false;
    writer = std::make_unique<outbox::Writer>(options, &metrics);
    std::promise<void> opened;
    writer->when_open([&opened] { opened.set_value(); });
    opened.get_future().wait();
    const auto& limits = config.server.limits;
    throttles.emplace(auth::Throttle::Limits{limits.auth_throttle.burst, limits.auth_throttle.refill},
                      auth::Throttle::Limits{limits.auth_throttle.credential_burst,
                                             limits.auth_throttle.credential_refill},
                      limits.ipv6_prefix);
    router = ingest::build_router(config, *writer, metrics, nullptr, *throttles);
    bodies.emplace(limits.max_buffered_bodies, limits.max_body);
  }

  // Serves one request of `input` (handed out `chunk` bytes per read); what hookd wrote.
  std::string serve(std::string_view input, std::size_t chunk) {
    net::RequestEnv env{config.server.limits, draining, [this] { return router; },
                        metrics.counter("unit_body_bytes_total", "unit"), *bodies};
    asio::io_context io;
    std::string out;
    test::MemoryStream stream(io.get_executor(), input, chunk, out);
    boost::beast::flat_buffer buffer;
    std::string serialized;
    bool idle = true;
    const std::string peer = "203.0.113.7";
    net::Connection<test::MemoryStream> connection{stream, buffer, serialized, idle, peer, env};
    std::exception_ptr error;
    asio::co_spawn(io, net::serve_request(connection),
                   [&error](std::exception_ptr e, bool) { error = e; });
    io.run();
    // The writer thread may still be inside the post of an append's answer (waking this
    // thread) when run() returns: a probe, answered between its transactions, comes after
    // that, and only then may the io_context go.
    std::promise<void> probed;
    writer->probe([&probed] { probed.set_value(); });
    probed.get_future().wait();
    BOOST_TEST_REQUIRE(!error);
    return serialized;
  }

  // Every byte of the body budget is back: the peer can reserve all of it.
  bool budget_is_whole() {
    const std::string source = "203.0.113.7";
    if (!bodies->try_reserve(source, bodies->limit())) return false;
    bodies->release(source, bodies->limit());
    return true;
  }
};

std::string head(std::string_view id, std::size_t content_length) {
  return "POST /hooks/big HTTP/1.1\r\nHost: hookd.test\r\n"
         "Authorization: Basic dW5pdDpyZXF1ZXN0LWxvb3AtcGFzcw==\r\n"
         "Content-Type: application/octet-stream\r\nX-Event-Id: " +
         std::string(id) + "\r\nContent-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_loop)

BOOST_AUTO_TEST_CASE(the_watch_sees_a_large_allocation) {
  // The oracle below is an upper bound: it must be able to fail.
  LargestAllocation watch;
  auto buffer = std::make_unique<char[]>(12 * kMiB);
  buffer[0] = 1;
  BOOST_TEST(watch.bytes() >= 12 * kMiB);
}

BOOST_AUTO_TEST_CASE(a_declared_length_takes_no_memory_before_the_body_comes) {
  LoopFixture f;
  // 12 MiB declared (within max_body), 100 bytes sent, then the client goes away.
  const std::string input = head("partial", 12 * kMiB) + std::string(100, 'x');
  std::string out;
  std::size_t peak = 0;
  {
    LargestAllocation watch;
    out = f.serve(input, 4096);
    peak = watch.bytes();
  }
  BOOST_TEST(out.empty());  // a client that went away mid-body gets no answer
  BOOST_TEST(peak < kMiB, "largest allocation " << peak << " bytes for a 100-byte body");
  BOOST_TEST(f.budget_is_whole());  // its share of the body budget is back
  test::Db db(f.dir.file("hookd.db"));
  BOOST_TEST(db.integer("SELECT count(*) FROM events") == 0);
}

BOOST_AUTO_TEST_CASE(a_body_that_comes_is_read_whole_in_a_buffer_that_grows_with_it) {
  LoopFixture f;
  // Larger than a reservation step (64 KiB) and a read chunk (16 KiB), in odd-sized reads.
  std::string body(300 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  std::string out;
  std::size_t peak = 0;
  {
    LargestAllocation watch;
    out = f.serve(head("whole", body.size()) + body, 1500);
    peak = watch.bytes();
  }
  BOOST_TEST((out.starts_with("HTTP/1.1 202") || out.starts_with("HTTP/1.1 200")), out);
  // A growing string allocates at most about twice what it holds at each step.
  BOOST_TEST(peak <= 2 * body.size() + 64 * 1024, "largest allocation " << peak);
  BOOST_TEST(f.budget_is_whole());
  test::Db db(f.dir.file("hookd.db"));
  BOOST_TEST(db.text("SELECT body FROM events WHERE id='whole'").value_or("") == body);
}

BOOST_AUTO_TEST_SUITE_END()
