// hookd_store_bench: what the outbox's periodic and per-claim work costs as the store grows
// (issue 12, "flat with growth"). For each size it fills a fresh store straight through
// SQL with hookd's own schema (migrate(); the count triggers run as for the server), then
// measures, through the real Writer and queries:
//  - gauge refresh: outbox::queue_stats() as the gauge thread calls it, and `hookd stats`;
//  - a retention pass: the writer's prune steps over the old end of the table (a tenth of
//    the events are old and done, plus old dead ones that must stay), the total and the
//    longest step, which is the longest that appends wait behind it;
//  - a claim of 100 due deliveries with the rest of the backlog pending, and the same with
//    the backlog pending but not due (retrying later);
//  - `hookd events list --state dead` that matches nothing in the newest events.
// Usage: hookd_store_bench DIR [SIZE ...]   (sizes in events; default 10000 1000000)
// Each size fills DIR/SIZE/hookd.db (about 300 bytes an event) and deletes it afterwards.
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

// `n` events on route "bench" with one delivery of handler "noop" each: the oldest tenth
// received 10 days ago and done, 1% received 10 days ago and dead (kept: dead retention is
// 30 days), the rest received now and `rest_state` ("done" or "pending"), scheduled
// `rest_due_in_us` from now. A 200-byte body and a Content-Type header.
void fill(const std::string& path, std::int64_t n, const char* rest_state,
          std::int64_t rest_due_in_us) {
  outbox::Connection db = outbox::open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  outbox::exec(db.get(), "PRAGMA journal_mode = WAL");
  outbox::exec(db.get(), "PRAGMA synchronous = OFF");
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
  const std::int64_t old = n / 10, dead = n / 100;
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
      const char* state = i < old ? "done" : is_old ? "dead" : rest_state;
      sqlite3_bind_int64(delivery.get(), 1, sqlite3_last_insert_rowid(db.get()));
      sqlite3_bind_text(delivery.get(), 2, state, -1, SQLITE_STATIC);
      sqlite3_bind_int64(delivery.get(), 3, is_old ? now - 10 * kDay : now + rest_due_in_us);
      if (sqlite3_step(delivery.get()) != SQLITE_DONE) throw std::runtime_error("insert delivery");
      sqlite3_reset(delivery.get());
    }
    tx.commit();
  }
  outbox::exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
}

outbox::WriterOptions writer_options(const std::string& path) {
  outbox::WriterOptions o;
  o.path = path;
  return o;  // durability full, as served by default
}

// One retention pass as the Retention thread runs it; returns {total ms, longest step ms}.
std::pair<double, double> retention_pass(outbox::Writer& writer, std::size_t& deleted) {
  outbox::PruneRequest request;
  const std::int64_t now = outbox::unix_now_us();
  request.done_before_us = now - 7 * kDay;
  request.dead_before_us = now - 30 * kDay;
  double longest = 0;
  const auto start = Clock::now();
  for (;;) {
    std::promise<std::optional<outbox::PruneResult>> p;
    const auto step_start = Clock::now();
    writer.prune(request, [&p](std::optional<outbox::PruneResult> r) { p.set_value(r); });
    const auto r = p.get_future().get();
    longest = std::max(longest, ms_since(step_start));
    if (!r) throw std::runtime_error("prune failed");
    deleted += r->deleted;
    if (r->finished) break;
    request.after_seq = r->last_seq;
  }
  return {ms_since(start), longest};
}

// The median time of a claim of 100 (each claimed batch is given back as pending).
double claim_ms(outbox::Writer& writer, std::size_t& claimed) {
  return median_ms(5, [&] {
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
  fill(path, n, "done", 0);
  const double fill_ms = ms_since(start);
  const auto bytes = std::filesystem::file_size(path);

  outbox::Connection reader = outbox::open_store(path, false);
  const double gauges = median_ms(5, [&] { outbox::queue_stats(reader.get(), outbox::unix_now_us()); });
  const double stats = median_ms(5, [&] { outbox::stats(reader.get(), outbox::unix_now_us()); });
  const double list = median_ms(3, [&] {
    outbox::EventFilter f;
    f.state = "pending";
    f.limit = 20;
    outbox::list_events(reader.get(), f);
  });
  std::size_t deleted = 0;
  std::pair<double, double> pass;
  {
    outbox::Writer writer(writer_options(path));
    pass = retention_pass(writer, deleted);
  }
  reader = outbox::Connection();
  std::filesystem::remove_all(dir);

  // The backlog: every delivery pending and due; then pending but due in an hour.
  std::size_t claimed_due = 0, claimed_later = 0;
  double due = 0, later = 0;
  for (bool is_due : {true, false}) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    fill(path, n, "pending", is_due ? 0 : 3600LL * 1000 * 1000);
    outbox::Writer writer(writer_options(path));
    (is_due ? due : later) = claim_ms(writer, is_due ? claimed_due : claimed_later);
  }
  std::filesystem::remove_all(dir);

  fmt::print(
      "| {} | {:.1f} MB | {:.0f} s | {:.2f} | {:.2f} | {:.2f} | {:.1f} ({} deleted) | {:.2f} | "
      "{:.2f} ({}) | {:.2f} ({}) |\n",
      n, static_cast<double>(bytes) / 1e6, fill_ms / 1000, gauges, stats, list, pass.first,
      deleted, pass.second, due, claimed_due, later, claimed_later);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: hookd_store_bench DIR [SIZE ...]\n");
    return 2;
  }
  std::vector<std::int64_t> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(std::stoll(argv[i]));
  if (sizes.empty()) sizes = {10000, 1000000};
  fmt::print(
      "| events | store | fill | gauge refresh ms | `hookd stats` ms | `events list --state "
      "pending` (none) ms | retention pass ms | longest retention step ms | claim of 100, "
      "backlog due, ms (claimed) | claim, backlog retrying later, ms (claimed) |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  for (std::int64_t n : sizes) measure(std::string(argv[1]) + "/" + std::to_string(n), n);
  return 0;
}
