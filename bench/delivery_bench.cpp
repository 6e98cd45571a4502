// hookd_delivery_bench: what the delivery engine costs, on a real store with the real
// writer (durability full) and a no-op plugin, without HTTP in the way.
//  1. throughput: N events are committed first, then the engine drains them with T worker
//     threads; deliveries/s = N / time until every delivery is done.
//  2. latency: events arrive at a steady rate while the engine runs; for each, the time
//     from its receipt (the 202 follows its commit) to the start of its handler call, from
//     the store's own timestamps (events.received_at, attempts.started_at).
//  Both with the plugin in process (isolation: thread) and in a `hookd plugin-host` child
//  (isolation: process), then
//  3. recovery: the time from a plugin host's crash (SIGSEGV sent to it) to the next answer
//     of another call, through plugin::Host (a restart: fork, exec, load, create()).
// Usage: hookd_delivery_bench PLUGIN.so [events=20000] [rate=500/s for 4 s]
// (BENCH_NORMAL=1: durability normal instead of full; BENCH_ISOLATION=process or thread:
// only that isolation.)
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"
#include "hookd/plugin/host.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/engine.hpp"

using namespace hookd;
using Clock = std::chrono::steady_clock;

namespace {

outbox::NewEvent event(int i) {
  outbox::NewEvent e;
  e.route = "bench";
  e.id = "e" + std::to_string(i);
  e.type = "bench.event";
  e.received_at_us = outbox::unix_now_us();
  e.headers = {{"Content-Type", "application/json"}};
  e.body = std::string(1024, 'x');
  e.deliveries = {{"noop", {}}};
  return e;
}

std::int64_t count_done(sqlite3* db) {
  return outbox::query_int(db, "SELECT count(*) FROM deliveries WHERE state = 'done'");
}

struct Run {
  std::string dir;
  std::unique_ptr<outbox::Writer> writer;
  explicit Run(const std::string& base, const std::string& name) : dir(base + "/" + name) {
    std::filesystem::remove_all(dir);
    outbox::WriterOptions o;
    o.path = dir + "/hookd.db";
    o.fsync_each_commit = std::getenv("BENCH_NORMAL") == nullptr;
    writer = std::make_unique<outbox::Writer>(o);
  }
};

// The no-op plugin in process (thread) or in a host with `threads` threads (process).
worker::Callee callee(const std::string& library, bool process, std::uint32_t threads) {
  worker::Callee c;
  if (process) {
    plugin::HostOptions o;
    o.name = "noop";
    o.binary = HOOKD_BINARY;
    o.library = library;
    o.threads = threads;
    c.host = std::make_shared<plugin::Host>(o);
    if (auto r = c.host->ensure_started(std::chrono::seconds(10));
        r.status != plugin::Host::StartResult::Status::ready) {
      throw std::runtime_error(r.message);
    }
  } else {
    c.instance = std::make_shared<const plugin::Instance>(plugin::Library::load(library)->create(""));
  }
  return c;
}

worker::Handler handler(const std::string& library, bool process, std::uint32_t threads) {
  worker::Handler h;
  h.route = "bench";
  h.plugin = "noop";
  h.callee = callee(library, process, threads);
  h.concurrency = threads;
  return h;
}

void append_all(outbox::Writer& writer, int from, int to) {
  std::atomic<int> left{to - from};
  for (int i = from; i < to; ++i) writer.append(event(i), [&](outbox::AppendResult) { --left; });
  while (left.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

double throughput(const std::string& base, const std::string& noop, bool process,
                  std::uint32_t threads, int n) {
  Run run(base, "threads-" + std::to_string(threads));
  append_all(*run.writer, 0, n);
  auto db = outbox::open_store(run.dir + "/hookd.db", false);
  worker::EngineOptions options;
  options.threads = threads;
  const auto start = Clock::now();
  worker::Engine engine(*run.writer, options, {handler(noop, process, threads)});
  while (count_done(db.get()) < n) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::chrono::duration<double> took = Clock::now() - start;
  engine.stop(std::chrono::seconds(5));
  run.writer->stop();
  return n / took.count();
}

void latency(const std::string& base, const std::string& noop, bool process, int rate,
             int seconds) {
  Run run(base, "latency");
  worker::EngineOptions options;
  options.threads = 4;
  worker::Engine engine(*run.writer, options, {handler(noop, process, 4)});
  run.writer->on_new_deliveries([&engine] { engine.wake(); });
  const int n = rate * seconds;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(1'000'000LL * i / rate));
    run.writer->append(event(i), [](outbox::AppendResult) {});
  }
  auto db = outbox::open_store(run.dir + "/hookd.db", false);
  while (count_done(db.get()) < n) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  run.writer->on_new_deliveries({});
  engine.stop(std::chrono::seconds(5));
  run.writer->stop();
  outbox::Statement s = outbox::prepare(
      db.get(),
      "SELECT a.started_at - e.received_at FROM attempts a JOIN deliveries d ON d.id = "
      "a.delivery_id JOIN events e ON e.seq = d.event_seq");
  std::vector<double> ms;
  while (sqlite3_step(s.get()) == SQLITE_ROW) ms.push_back(sqlite3_column_int64(s.get(), 0) / 1e3);
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
  fmt::print(
      "receipt → handler start at {}/s for {} s ({} events, 4 threads): "
      "p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n",
      rate, seconds, ms.size(), at(0.5), at(0.9), at(0.99), ms.back());
}

// Crash → next answer of another call, `rounds` times (a new host each round, so that
// the restart backoff, which grows with deaths in a row, is not measured): min and median.
void recovery(const std::string& noop, int rounds) {
  const std::string id = "e", route = "bench", type = "t", body = "{}";
  const plugin::Event ev{id, route, type, 1, 1, {}, body};
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    worker::Callee c = callee(noop, true, 1);
    if (c.host->call(ev, std::chrono::seconds(10)).status != plugin::CallResult::Status::answered) {
      throw std::runtime_error("the host does not answer");
    }
    const pid_t pid = c.host->pid();
    if (pid <= 0) throw std::runtime_error("no host runs");
    ::kill(pid, SIGSEGV);
    const auto crashed = Clock::now();
    // Calls on the dying host end crashed; count until another host answers.
    while (c.host->call(ev, std::chrono::seconds(10)).status !=
               plugin::CallResult::Status::answered ||
           c.host->pid() == pid) {
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - crashed).count());
  }
  std::sort(ms.begin(), ms.end());
  fmt::print("host crash → next answer ({} crashes): min {:.1f} ms, median {:.1f} ms\n", rounds,
             ms.front(), ms[ms.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: {} PLUGIN.so [events] [rate]\n", argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const int n = argc > 2 ? std::stoi(argv[2]) : 20000;
  const int rate = argc > 3 ? std::stoi(argv[3]) : 500;
  const std::string base = std::filesystem::temp_directory_path() / "hookd-delivery-bench";
  const std::string noop = argv[1];
  fmt::print("durability {}\n", std::getenv("BENCH_NORMAL") == nullptr ? "full" : "normal");
  const char* only = std::getenv("BENCH_ISOLATION");  // process or thread: just that one
  for (bool process : {false, true}) {
    const char* isolation = process ? "process" : "thread";
    if (only != nullptr && std::string_view(only) != isolation) continue;
    for (std::uint32_t threads : {1u, 4u}) {
      fmt::print("isolation {}, {} worker thread(s): {:.0f} deliveries/s ({} events drained)\n",
                 isolation, threads, throughput(base, noop, process, threads, n), n);
    }
    fmt::print("isolation {}, ", isolation);
    latency(base, noop, process, rate, 4);
  }
  recovery(noop, 5);
  std::filesystem::remove_all(base);
  return 0;
}
