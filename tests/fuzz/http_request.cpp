// Fuzz target: the webhook listener's request path on raw bytes. The input is what one
// client sends on one connection (heads, sized or chunked bodies, pipelined requests),
// run through the sessions' own request loop (net/request_loop.hpp) over an in-memory
// stream, with the real router, route endpoints (Basic auth, event ids from JSON or a
// header) and outbox writer on a store in a temporary directory. Small limits make every
// refusal reachable: 400 (framing, malformed, event id), 401, 404, 405, 413 (declared and
// chunked), 429 (the throttle, fresh per input), 431, 501, 503 (the body budget).
//
// The first byte is the size of the reads the stream hands out (1-255 bytes; 0: all at
// once), so that heads and bodies also arrive split at every place.
//
// HOOKD_FUZZ_VERBOSE=1 prints what hookd wrote, to triage an input by hand.
//
// Oracles: every byte hookd writes parses as a sequence of HTTP/1.1 responses; each status
// is one the contract names for a request (never 500, which is an exception); a response
// that says `Connection: close` is the last one written.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "hookd/auth/throttle.hpp"
#include "hookd/config/loader.hpp"
#include "hookd/ingest/routes.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/net/request_loop.hpp"
#include "hookd/outbox/writer.hpp"
#include "memory_stream.hpp"

using namespace hookd;
using hookd::test::MemoryStream;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kConfig = R"(
server:
  listen: 127.0.0.1:0
  tls: { cert: unused-cert.pem, key: unused-key.pem }
  limits:
    max_body: 4KiB
    max_buffered_bodies: 3KiB
    max_event_id: 40
    auth_throttle: { burst: 3, refill: 1h }
storage:
  path: unused.db
routes:
  - name: json
    path: /hooks/json
    auth:
      - basic: { username: fuzz, password: fuzz-pass }
    event: { id: json:/id, type: json:/type }
  - name: header
    path: /hooks/header
    auth:
      - basic: { username: fuzz, password: fuzz-pass }
    event: { id: "header:X-Event-Id", type: "header:X-Event-Type" }
)";

struct Fixture {
  config::Config config;
  metrics::Registry metrics;
  std::unique_ptr<outbox::Writer> writer;
  std::string dir;

  Fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmp[] = "/tmp/hookd-fuzz-http-XXXXXX";
    if (::mkdtemp(tmp) == nullptr) std::abort();
    dir = tmp;
    auto loaded = config::load_string(kConfig, "http_request.yaml");
    if (!loaded.ok()) std::abort();
    config = std::move(*loaded.config);
    outbox::WriterOptions options;
    options.path = dir + "/hookd.db";
    options.fsync_each_commit = false;
    options.max_wait = std::chrono::microseconds(0);
    writer = std::make_unique<outbox::Writer>(options, &metrics);
    // Open (and migrate) the store before the first input: the writer thread's use of the
    // schema's statics then starts before this object is complete, so at exit they are
    // destroyed after it has stopped the thread.
    std::promise<void> opened;
    writer->when_open([&opened] { opened.set_value(); });
    opened.get_future().wait();
  }
  ~Fixture() {
    writer.reset();
    std::filesystem::remove_all(dir);
  }
};

bool allowed(unsigned status) {
  switch (status) {
    case 100: case 200: case 202: case 400: case 401: case 404: case 405: case 413:
    case 429: case 431: case 501: case 503:
      return true;
    default:
      return false;
  }
}

// The oracles over everything written on the connection.
void check_output(std::string_view out) {
  while (!out.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = parser.put(asio::buffer(out.data(), out.size()), ec);
    if (ec || !parser.is_done()) std::abort();  // not a whole response
    out.remove_prefix(used);
    const auto& response = parser.get();
    if (response.version() != 10 && response.version() != 11) std::abort();
    if (!allowed(response.result_int())) std::abort();
    if (response.result_int() != 100 && !response.keep_alive() && !out.empty()) std::abort();
  }
}

// The connection's requests one after another, as run_session() serves them after the
// handshake. A chain of completions rather than a coroutine that awaits serve_request() in
// a loop: built by GCC 12 (the dev preset's corpus replay, at -O0 and -O1), such a wrapper
// in this file crashed on its first resume, its frame read as uninitialised by valgrind,
// with or without Asio's frame recycling; clang's build of it, and run_session() itself
// under GCC, run fine. Not understood yet.
void serve(asio::io_context& io, net::Connection<MemoryStream>& connection,
           std::exception_ptr& error) {
  connection.idle = true;
  asio::co_spawn(io, net::serve_request(connection),
                 [&io, &connection, &error](std::exception_ptr e, bool keep) {
                   if (e) {
                     error = e;
                   } else if (keep) {
                     serve(io, connection, error);
                   }
                 });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size == 0) return 0;
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto& throttle_config = fixture.config.server.limits.auth_throttle;
  auth::RouteThrottles throttles({throttle_config.burst, throttle_config.refill},
                                 {throttle_config.credential_burst, throttle_config.credential_refill},
                                 fixture.config.server.limits.ipv6_prefix);
  auto router = ingest::build_router(fixture.config, *fixture.writer, fixture.metrics, nullptr,
                                     throttles);
  const auto& limits = fixture.config.server.limits;
  std::atomic<bool> draining{false};
  net::BodyBudget bodies(limits.max_buffered_bodies, limits.max_body);
  net::RequestEnv env{limits, draining, [&router] { return router; },
                      fixture.metrics.counter("fuzz_body_bytes_total", "fuzz"), bodies};

  asio::io_context io;
  std::string out;
  MemoryStream stream(io.get_executor(), input, chunk, out);
  boost::beast::flat_buffer buffer;
  std::string serialized;
  bool idle = true;
  const std::string peer = "203.0.113.7";
  net::Connection<MemoryStream> connection{stream, buffer, serialized, idle, peer, env};
  std::exception_ptr error;
  serve(io, connection, error);
  io.run();
  if (error) std::abort();  // bad input is an answer, never an exception
  static const bool verbose = std::getenv("HOOKD_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "--- %zu bytes written:\n%s\n", out.size(), out.c_str());
  check_output(out);
  return 0;
}
