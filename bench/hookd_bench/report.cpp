// Merging and printing hookd-bench results (see report.hpp).
#include "report.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>

namespace hookd::bench {
namespace {

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};

}  // namespace

void Stats::merge(Stats&& other) {
  latency.merge(other.latency);
  for (const auto& [status, n] : other.statuses) statuses[status] += n;
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  connect_errors += other.connect_errors;
  io_errors += other.io_errors;
  timeouts += other.timeouts;
  connections_opened += other.connections_opened;
  accepted_ids.insert(accepted_ids.end(), std::make_move_iterator(other.accepted_ids.begin()),
                      std::make_move_iterator(other.accepted_ids.end()));
}

std::uint64_t Stats::answered() const {
  std::uint64_t n = 0;
  for (const auto& [status, count] : statuses) n += count;
  return n;
}

std::uint64_t Stats::answered_2xx() const {
  std::uint64_t n = 0;
  for (const auto& [status, count] : statuses) n += status / 100 == 2 ? count : 0;
  return n;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> read_rss_kib(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string key;
  std::uint64_t rss = 0, hwm = 0;
  bool found = false;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> rss;
      found = true;
    } else if (key == "VmHWM:") {
      in >> hwm;
    }
  }
  if (!found) return std::nullopt;
  return std::make_pair(rss, hwm);
}

void print_text(const Report& r) {
  const Stats& s = r.stats;
  double rps = r.seconds > 0 ? s.answered() / r.seconds : 0;
  fmt::print("{} loop, {} connections, {} threads{}, {}\n", r.mode, r.connections, r.threads,
             r.rate ? fmt::format(", target {:.0f} req/s", *r.rate) : "",
             r.tls_version.empty() ? "no TLS session" : r.tls_version);
  fmt::print("  {} requests answered in {:.2f} s: {:.1f} req/s\n", s.answered(), r.seconds, rps);
  std::string statuses;
  for (const auto& [status, n] : s.statuses) statuses += fmt::format(" {}: {}", status, n);
  fmt::print("  status{}\n", statuses.empty() ? " (none)" : statuses);
  fmt::print("  errors: connect {}, io {}, timeout {}; connections opened {}\n", s.connect_errors,
             s.io_errors, s.timeouts, s.connections_opened);
  fmt::print("  bytes: sent {}, received {}\n", s.bytes_sent, s.bytes_received);
  if (s.latency.count() > 0) {
    std::string line;
    for (const auto& q : kQuantiles) {
      line += fmt::format(" {} {:.2f}", q.name, ms(s.latency.percentile(q.q)));
    }
    fmt::print("  latency ms:{} max {:.2f} mean {:.2f}\n", line, ms(s.latency.max()),
               s.latency.mean() / 1e6);
  }
  if (r.server_rss_kib) {
    fmt::print("  server memory: RSS {:.1f} MiB, peak {:.1f} MiB\n", *r.server_rss_kib / 1024.0,
               *r.server_hwm_kib / 1024.0);
  }
  if (r.verified) {
    fmt::print("  store: {} 2xx ids checked, {} missing\n", *r.verified, *r.missing);
    for (const auto& id : r.missing_examples) fmt::print("    missing: {}\n", id);
  }
}

void print_json(const Report& r) {
  namespace json = boost::json;
  const Stats& s = r.stats;
  json::object o;
  o["mode"] = r.mode;
  o["connections"] = r.connections;
  o["threads"] = r.threads;
  o["rate"] = r.rate ? json::value(*r.rate) : json::value(nullptr);
  o["tls"] = r.tls_version;
  o["seconds"] = r.seconds;
  o["requests"] = s.answered();
  o["rps"] = r.seconds > 0 ? s.answered() / r.seconds : 0.0;
  json::object statuses;
  for (const auto& [status, n] : s.statuses) statuses[std::to_string(status)] = n;
  o["status"] = std::move(statuses);
  o["errors"] = {{"connect", s.connect_errors}, {"io", s.io_errors}, {"timeout", s.timeouts}};
  o["connections_opened"] = s.connections_opened;
  o["bytes_sent"] = s.bytes_sent;
  o["bytes_received"] = s.bytes_received;
  json::object latency;
  for (const auto& q : kQuantiles) latency[q.name] = ms(s.latency.percentile(q.q));
  latency["max"] = ms(s.latency.max());
  latency["mean"] = s.latency.mean() / 1e6;
  o["latency_ms"] = std::move(latency);
  if (r.server_rss_kib) {
    o["server_rss_kib"] = *r.server_rss_kib;
    o["server_hwm_kib"] = *r.server_hwm_kib;
  }
  if (r.verified) {
    json::array examples;
    for (const auto& id : r.missing_examples) examples.emplace_back(id);
    o["verify"] = {{"checked", *r.verified}, {"missing", *r.missing}, {"examples", examples}};
  }
  std::cout << json::serialize(o) << '\n';
}

void IntervalStats::merge(IntervalStats&& other) {
  latency.merge(other.latency);
  for (const auto& [status, n] : other.statuses) statuses[status] += n;
  errors += other.errors;
}

void print_interval(double end_seconds, double seconds, const IntervalStats& s) {
  namespace json = boost::json;
  json::object o;
  o["t"] = end_seconds;
  o["seconds"] = seconds;
  o["answered"] = s.latency.count();
  o["rps"] = seconds > 0 ? s.latency.count() / seconds : 0.0;
  json::object statuses;
  for (const auto& [status, n] : s.statuses) statuses[std::to_string(status)] = n;
  o["status"] = std::move(statuses);
  o["errors"] = s.errors;
  o["latency_ms"] = {{"p50", ms(s.latency.percentile(0.5))},
                     {"p99", ms(s.latency.percentile(0.99))},
                     {"p99.9", ms(s.latency.percentile(0.999))},
                     {"max", ms(s.latency.max())}};
  std::cerr << json::serialize(o) << std::endl;
}

}  // namespace hookd::bench
