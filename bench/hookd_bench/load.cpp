// hookd-bench's connections (see load.hpp). Each thread runs its own io_context with its
// share of the connections; the request counter and the stop time are shared.
#include "load.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "hookd/net/tls_stream.hpp"
#include "report.hpp"
#include "requests.hpp"

namespace hookd::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using Stream = hookd::net::TlsStream;

constexpr unsigned kMaxConnecting = 64;  // handshakes in flight per thread

struct Shared {
  Shared(const Options& options, asio::ip::tcp::resolver::results_type e, asio::ssl::context& c)
      : o(options), endpoints(std::move(e)), tls(c) {}
  const Options& o;
  asio::ip::tcp::resolver::results_type endpoints;
  asio::ssl::context& tls;
  Clock::time_point start, deadline;
  std::atomic<std::uint64_t> next{0};  // request numbers, shared by every connection
  std::mutex version_mutex;
  std::string tls_version;  // of the first connection
};

struct Worker {
  Worker(Shared& s, RequestBuilder b, unsigned seed)
      : shared(s), builder(std::move(b)), rng(seed) {}
  Shared& shared;
  asio::io_context io{1};
  RequestBuilder builder;
  Stats stats;
  std::mt19937_64 rng;
  unsigned connecting = 0;
  Clock::time_point last_answer;
  // --interval: what this thread answered, by interval (1: the first), until the reporter
  // takes it. By the answer's time, not the reporter's: a reporter woken late (a loaded
  // machine) still prints each interval's own answers.
  std::mutex interval_mutex;
  std::map<std::uint64_t, IntervalStats> intervals;
  IntervalStats& interval_at(Clock::time_point t) {
    return intervals[static_cast<std::uint64_t>((t - shared.start) / shared.o.interval) + 1];
  }
};

// The run ends at the deadline, or earlier once --requests have been sent.
bool stop_issuing(const Shared& s, Clock::time_point now) {
  if (s.o.requests > 0 && s.next.load(std::memory_order_relaxed) >= s.o.requests) return true;
  return now >= s.deadline;
}

awaitable<void> wait_until(Clock::time_point t) {
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(use_awaitable);
}

// Connects and handshakes, at most kMaxConnecting at once per thread. nullptr on failure
// (counted).
awaitable<std::unique_ptr<Stream>> open(Worker& w) {
  const Options& o = w.shared.o;
  while (w.connecting >= kMaxConnecting)
    co_await wait_until(Clock::now() + std::chrono::milliseconds(1));
  ++w.connecting;
  std::unique_ptr<Stream> stream;
  try {
    beast::tcp_stream tcp(co_await asio::this_coro::executor);
    tcp.expires_after(o.timeout);
    co_await tcp.async_connect(w.shared.endpoints, use_awaitable);
    tcp.socket().set_option(asio::ip::tcp::no_delay(true));
    stream = std::make_unique<Stream>(tcp.release_socket(), w.shared.tls, Stream::Role::client);
    if (!SSL_set_tlsext_host_name(stream->native_handle(), o.target.host.c_str())) {
      throw std::runtime_error("SNI");
    }
    stream->expires_after(o.timeout);
    co_await stream->async_handshake(use_awaitable);
  } catch (const std::exception&) {
    --w.connecting;
    ++w.stats.connect_errors;
    co_return nullptr;
  }
  --w.connecting;
  ++w.stats.connections_opened;
  {
    std::lock_guard lock(w.shared.version_mutex);
    if (w.shared.tls_version.empty())
      w.shared.tls_version = SSL_get_version(stream->native_handle());
  }
  co_return stream;
}

// The event id for request `n`: a new one, or with probability --duplicates an earlier one.
std::string pick_id(Worker& w, std::uint64_t n) {
  double dup = w.shared.o.duplicates;
  if (dup > 0 && n > 0 && std::uniform_real_distribution<double>(0, 1)(w.rng) < dup) {
    return w.builder.id(std::uniform_int_distribution<std::uint64_t>(0, n - 1)(w.rng));
  }
  return w.builder.id(n);
}

// One request on an open stream. Returns false when the connection is no longer usable.
awaitable<bool> exchange(Worker& w, Stream& stream, beast::flat_buffer& buffer,
                         std::string& request, Clock::time_point counted_from) {
  const Options& o = w.shared.o;
  std::uint64_t n = w.shared.next.fetch_add(1, std::memory_order_relaxed);
  if (o.requests > 0 && n >= o.requests) co_return false;
  std::string id = pick_id(w, n);
  w.builder.build(id, request);
  try {
    stream.expires_after(o.timeout);
    co_await asio::async_write(stream, asio::buffer(request), use_awaitable);
    w.stats.bytes_sent += request.size();
    http::response_parser<http::string_body> parser;
    std::size_t got = co_await http::async_read(stream, buffer, parser, use_awaitable);
    auto now = Clock::now();
    w.last_answer = std::max(w.last_answer, now);
    w.stats.bytes_received += got;
    const auto latency = static_cast<std::uint64_t>((now - counted_from).count());
    w.stats.latency.record(latency);
    int status = static_cast<int>(parser.get().result_int());
    ++w.stats.statuses[status];
    if (o.interval.count() > 0) {
      std::lock_guard lock(w.interval_mutex);
      IntervalStats& interval = w.interval_at(now);
      interval.latency.record(latency);
      ++interval.statuses[status];
    }
    if (status / 100 == 2 && (!o.verify_store.empty() || !o.acked_ids.empty())) {
      w.stats.accepted_ids.push_back(id);
    }
    co_return parser.get().keep_alive();
  } catch (const boost::system::system_error& e) {
    if (e.code() == beast::error::timeout) {
      ++w.stats.timeouts;
    } else {
      ++w.stats.io_errors;
    }
    if (o.interval.count() > 0) {
      std::lock_guard lock(w.interval_mutex);
      ++w.interval_at(Clock::now()).errors;
    }
    co_return false;
  }
}

// A closed-loop or open-loop connection; reconnects when the server closes it.
awaitable<void> run_connection(Worker& w, unsigned index) {
  const Options& o = w.shared.o;
  const bool open_loop = o.rate.has_value();
  std::chrono::nanoseconds interval{0};
  Clock::time_point scheduled = w.shared.start;
  if (open_loop) {
    interval = std::chrono::nanoseconds(static_cast<std::int64_t>(o.connections * 1e9 / *o.rate));
    scheduled += std::chrono::nanoseconds(static_cast<std::int64_t>(index * 1e9 / *o.rate));
  }
  std::string request;
  while (!stop_issuing(w.shared, Clock::now())) {
    auto stream = co_await open(w);
    if (!stream) {
      co_await wait_until(Clock::now() + std::chrono::milliseconds(10));
      continue;
    }
    beast::flat_buffer buffer;
    for (;;) {
      if (open_loop) {
        if (stop_issuing(w.shared, scheduled)) co_return;
        if (scheduled > Clock::now()) co_await wait_until(scheduled);
      } else if (stop_issuing(w.shared, Clock::now())) {
        co_return;
      }
      bool alive =
          co_await exchange(w, *stream, buffer, request, open_loop ? scheduled : Clock::now());
      scheduled += interval;
      if (!alive) break;
    }
  }
}

// --rate 0: one request, then hold the connection open until the deadline.
awaitable<void> run_idle(Worker& w) {
  auto stream = co_await open(w);
  if (!stream) co_return;
  beast::flat_buffer buffer;
  std::string request;
  if (!co_await exchange(w, *stream, buffer, request, Clock::now())) co_return;
  co_await wait_until(w.shared.deadline);
}

// --interval: wakes at each interval's end, takes what every thread answered in it and
// prints it; once stopped, prints at once the whole intervals of the run it has not printed
// yet (a reporter woken late on a loaded machine), so that a run of D prints
// floor(D / interval) lines whatever the scheduling. The rest is in the report only.
class IntervalReporter {
 public:
  IntervalReporter(std::vector<std::unique_ptr<Worker>>& workers, Clock::time_point start,
                   Clock::time_point end, std::chrono::nanoseconds interval)
      : workers_(workers), start_(start), end_(end), interval_(interval) {
    if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
  }
  ~IntervalReporter() { stop(Clock::time_point::max()); }
  // The run ended at `end` (before the deadline given: --requests were all sent).
  void stop(Clock::time_point end) {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      end_ = std::min(end_, end);
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    const double seconds = std::chrono::duration<double>(interval_).count();
    for (std::uint64_t k = 1;; ++k) {
      {
        std::unique_lock lock(mutex_);
        // Once done, the intervals left are printed at once.
        wake_.wait_until(lock, start_ + k * interval_, [this] { return done_; });
        if (start_ + k * interval_ > end_) return;
      }
      // Interval k's answers, and any of an earlier one recorded just after it was taken.
      IntervalStats all;
      for (auto& w : workers_) {
        std::lock_guard lock(w->interval_mutex);
        auto it = w->intervals.begin();
        for (; it != w->intervals.end() && it->first <= k; ++it) all.merge(std::move(it->second));
        w->intervals.erase(w->intervals.begin(), it);
      }
      print_interval(static_cast<double>(k) * seconds, seconds, all);
    }
  }

  std::vector<std::unique_ptr<Worker>>& workers_;
  Clock::time_point start_;
  Clock::time_point end_;
  std::chrono::nanoseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

LoadResult run_load(const Options& o, const std::string& run_id) {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_verify_mode(asio::ssl::verify_none);  // a benchmark of self-signed test servers
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);

  asio::io_context resolver_io;
  asio::ip::tcp::resolver resolver(resolver_io);
  Shared shared(o, resolver.resolve(o.target.host, o.target.port), tls);

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(shared, RequestBuilder(o, run_id), t + 1));
  }
  shared.start = Clock::now();
  shared.deadline = shared.start + o.duration;
  const bool idle = o.rate && *o.rate == 0;
  for (unsigned c = 0; c < o.connections; ++c) {
    Worker& w = *workers[c % o.threads];
    if (idle) {
      asio::co_spawn(w.io, run_idle(w), asio::detached);
    } else {
      asio::co_spawn(w.io, run_connection(w, c), asio::detached);
    }
  }
  IntervalReporter reporter(workers, shared.start, shared.deadline, o.interval);
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->io.run(); });
  for (auto& t : threads) t.join();
  reporter.stop(Clock::now());

  LoadResult result;
  Clock::time_point last = shared.start;
  for (auto& w : workers) {
    last = std::max(last, w->last_answer);
    result.stats.merge(std::move(w->stats));
  }
  result.seconds =
      std::chrono::duration<double>((idle ? shared.deadline : last) - shared.start).count();
  result.tls_version = shared.tls_version;
  return result;
}

}  // namespace hookd::bench
