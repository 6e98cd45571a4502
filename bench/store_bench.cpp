// hookd_store_bench: what the outbox's periodic and per-claim work costs as the store grows
// (issue 12, "flat with growth"). For each size it fills a fresh store straight through
// SQL with hookd's own schema (migrate(); the count triggers run as for the server): the
// oldest 10% of the events received 10 days ago and done, 1% 10 days ago and dead (kept:
// dead retention is 30 days), the rest received now with a pending delivery retrying in an
// hour, except the newest 1% which are due now. Then, through the real Writer and queries:
//  - gauge refresh: outbox::queue_stats() as the gauge thread calls it, and `hookd stats`;
//  - `hookd events list --type none.such` (matches nothing: walks every window);
//  - a retention pass: the writer's prune steps over the old end of the table, the total,
//    the median and the longest step (the longest that appends wait behind it);
//  - a claim of 100 due deliveries behind all those retrying later (given back each time).
// Usage: hookd_store_bench DIR [SIZE ...]   (sizes in events; default 10000 1000000)
// BENCH_NORMAL=1: the writer with durability normal (see writer_options).
// hookd_store_bench --fill DB EVENTS: only fills DB (a new file) with EVENTS settled events
// on route "bench" (received now, delivery done), for serving from a full store.
// Each size fills DIR/SIZE/hookd.db (about 460 bytes an event) and deletes it afterwards.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/schema.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"

using namespace hookd;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000 * 1000;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The median of `runs` timings of `f`, in ms.
double median_ms(int runs, const std::function<void()>& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    f();
    t.push_back(ms_since(start));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// See the header comment; a 200-byte body and a Content-Type header per event. `settled`:
// every event received now with its delivery done instead (a store that only grew: what
// bench/compare serves from for its ingest-with-a-full-store run).
void fill(const std::string& path, std::int64_t n, bool settled = false) {
  outbox::Connection db = outbox::open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // A generator's file: no journal, no fsync, a cache that holds the indexes (hookd puts
  // the file in WAL mode when it opens it).
  outbox::exec(db.get(), "PRAGMA journal_mode = OFF");
  outbox::exec(db.get(), "PRAGMA synchronous = OFF");
  outbox::exec(db.get(), "PRAGMA cache_size = -1048576");
  outbox::migrate(db.get());
  outbox::Statement event = outbox::prepare(
      db.get(),
      "INSERT INTO events (route, id, type, received_at, headers, body) VALUES "
      "('bench', ?1, 'bench.event', ?2, '[[\"Content-Type\",\"application/json\"]]', ?3)");
  outbox::Statement delivery = outbox::prepare(
      db.get(),
      "INSERT INTO deliveries (event_seq, handler, state, scheduled_at, updated_at, route) "
      "VALUES (?1, 'noop', ?2, ?3, ?3, 'bench')");
  const std::string body(200, 'x');
  const std::int64_t now = outbox::unix_now_us();
  const std::int64_t old = settled ? 0 : n / 10, dead = settled ? 0 : n / 100,
                     due = settled ? 0 : n - n / 100;
  for (std::int64_t i = 0; i < n;) {
    outbox::Transaction tx(db.get());
    for (std::int64_t end = std::min(n, i + 100000); i < end; ++i) {
      const bool is_old = i < old + dead;
      const std::string id = "e" + std::to_string(i);
      sqlite3_bind_text(event.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(event.get(), 2, is_old ? now - 10 * kDay : now);
      sqlite3_bind_blob(event.get(), 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      if (sqlite3_step(event.get()) != SQLITE_DONE) throw std::runtime_error("insert event");
      sqlite3_reset(event.get());
      const char* state = settled || i < old ? "done" : is_old ? "dead" : "pending";
      const std::int64_t scheduled = is_old ? now - 10 * kDay
                                     : i >= due ? now
                                                : now + 3600LL * 1000 * 1000;
      sqlite3_bind_int64(delivery.get(), 1, sqlite3_last_insert_rowid(db.get()));
      sqlite3_bind_text(delivery.get(), 2, state, -1, SQLITE_STATIC);
      sqlite3_bind_int64(delivery.get(), 3, scheduled);
      if (sqlite3_step(delivery.get()) != SQLITE_DONE) throw std::runtime_error("insert delivery");
      sqlite3_reset(delivery.get());
    }
    tx.commit();
  }
  outbox::recount(db.get());
  outbox::exec(db.get(), "PRAGMA journal_mode = WAL");
}

// Durability full, as served by default; BENCH_NORMAL=1: normal (no fsync per commit, so
// that a claim's and a step's own work shows without the disk's flush time).
outbox::WriterOptions writer_options(const std::string& path) {
  outbox::WriterOptions o;
  o.path = path;
  o.fsync_each_commit = std::getenv("BENCH_NORMAL") == nullptr;
  return o;
}

struct Pass {
  double total_ms = 0, median_step_ms = 0, longest_step_ms = 0;
  std::size_t steps = 0, deleted = 0;
};

// One retention pass as the Retention thread runs it.
Pass retention_pass(outbox::Writer& writer) {
  outbox::PruneRequest request;
  const std::int64_t now = outbox::unix_now_us();
  request.done_before_us = now - 7 * kDay;
  request.dead_before_us = now - 30 * kDay;
  Pass pass;
  std::vector<double> steps;
  const auto start = Clock::now();
  for (;;) {
    std::promise<std::optional<outbox::PruneResult>> p;
    const auto step_start = Clock::now();
    writer.prune(request, [&p](std::optional<outbox::PruneResult> r) { p.set_value(r); });
    const auto r = p.get_future().get();
    steps.push_back(ms_since(step_start));
    if (!r) throw std::runtime_error("prune failed");
    pass.deleted += r->deleted;
    if (r->finished) break;
    request.after_seq = r->last_seq;
  }
  pass.total_ms = ms_since(start);
  pass.steps = steps.size();
  std::sort(steps.begin(), steps.end());
  pass.median_step_ms = steps[steps.size() / 2];
  pass.longest_step_ms = steps.back();
  return pass;
}

// The median time of a claim of 100 (each claimed batch is given back as pending).
double claim_ms(outbox::Writer& writer, std::size_t& claimed) {
  return median_ms(21, [&] {
    outbox::ClaimRequest request;
    request.specs = {{"bench", "noop", 100, false, 5}};
    request.total_limit = 100;
    request.lease_us = 60'000'000;
    std::promise<outbox::ClaimResult> p;
    writer.claim(request, [&p](outbox::ClaimResult r) { p.set_value(std::move(r)); });
    outbox::ClaimResult r = p.get_future().get();
    if (!r.ok) throw std::runtime_error("claim failed: " + r.error);
    claimed = r.deliveries.size();
    for (const auto& d : r.deliveries) {
      outbox::DeliveryResult back;
      back.id = d.id;
      back.route = d.route;
      back.handler = d.handler;
      back.attempt = d.attempt;
      back.outcome = outbox::DeliveryResult::Outcome::released;
      back.state = outbox::DeliveryResult::State::pending;
      back.scheduled_at_us = r.claimed_at_us;
      writer.complete(back);
    }
  });
}

void measure(const std::string& dir, std::int64_t n) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/hookd.db";
  auto start = Clock::now();
  fill(path, n);
  const double fill_s = ms_since(start) / 1000;
  const auto bytes = std::filesystem::file_size(path);

  outbox::Connection reader = outbox::open_store(path, false);
  const double gauges =
      median_ms(5, [&] { outbox::queue_stats(reader.get(), outbox::unix_now_us()); });
  const double stats = median_ms(5, [&] { outbox::stats(reader.get(), outbox::unix_now_us()); });
  const double list = median_ms(3, [&] {
    outbox::EventFilter f;
    f.type = "none.such";
    outbox::list_events(reader.get(), f);
  });
  reader = outbox::Connection();
  std::size_t claimed = 0;
  double claim = 0;
  Pass pass;
  {
    outbox::Writer writer(writer_options(path));
    claim = claim_ms(writer, claimed);
    pass = retention_pass(writer);
  }
  std::filesystem::remove_all(dir);
  fmt::print(
      "| {} | {:.0f} MB | {:.0f} s | {:.2f} | {:.2f} | {:.0f} | {:.2f} ({}) | {:.0f} ms, {} "
      "steps, {} deleted | {:.1f} | {:.1f} |\n",
      n, static_cast<double>(bytes) / 1e6, fill_s, gauges, stats, list, claim, claimed,
      pass.total_ms, pass.steps, pass.deleted, pass.median_step_ms, pass.longest_step_ms);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--fill") {
    fill(argv[2], std::stoll(argv[3]), true);
    return 0;
  }
  if (argc < 2) {
    fmt::print(stderr, "usage: hookd_store_bench DIR [SIZE ...] | --fill DB EVENTS\n");
    return 2;
  }
  std::vector<std::int64_t> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(std::stoll(argv[i]));
  if (sizes.empty()) sizes = {10000, 1000000};
  fmt::print(
      "| events | store | fill | gauge refresh ms | `hookd stats` ms | `events list` "
      "matching nothing ms | claim of 100 due behind the rest retrying, ms (claimed) | "
      "retention pass | median step ms | longest step ms |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  for (std::int64_t n : sizes) measure(std::string(argv[1]) + "/" + std::to_string(n), n);
  return 0;
}
