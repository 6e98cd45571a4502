// What a hookd-bench run measured, merged over its threads, and its two printed forms:
// a human table and one JSON object (stable keys, for scripts such as bench/compare).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace hookd::bench {

struct Stats {
  Histogram latency;                      // ns per answered request
  std::map<int, std::uint64_t> statuses;  // HTTP status → count
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t connect_errors = 0;  // TCP connect or TLS handshake failed
  std::uint64_t io_errors = 0;       // a request lost to a reset, close or bad answer
  std::uint64_t timeouts = 0;
  std::uint64_t connections_opened = 0;
  std::vector<std::string> accepted_ids;  // answered 2xx (kept for --verify-store)

  void merge(Stats&& other);
  std::uint64_t answered() const;
  std::uint64_t answered_2xx() const;
};

struct Report {
  std::string mode;  // closed | open | idle
  unsigned connections = 0, threads = 0;
  std::optional<double> rate;
  double seconds = 0;       // from the first request to the last answer
  std::string tls_version;  // as negotiated, e.g. TLSv1.3
  Stats stats;
  // From /proc/PID/status of --server-pid, in KiB.
  std::optional<std::uint64_t> server_rss_kib, server_hwm_kib;
  // --verify-store: ids checked and ids missing from the store (up to 10 shown).
  std::optional<std::uint64_t> verified, missing;
  std::vector<std::string> missing_examples;
};

void print_text(const Report& report);
void print_json(const Report& report);

// What the load threads answered in one --interval, printed as one JSON line on stderr:
// {"t":END_SECONDS,"seconds":LENGTH,"answered":N,"rps":..,"status":{..},"errors":N,
//  "latency_ms":{"p50":..,"p99":..,"p99.9":..,"max":..}}.
struct IntervalStats {
  Histogram latency;
  std::map<int, std::uint64_t> statuses;
  std::uint64_t errors = 0;  // io errors and timeouts
  void merge(IntervalStats&& other);
};
void print_interval(double end_seconds, double seconds, const IntervalStats& stats);

// VmRSS and VmHWM of process `pid` in KiB; nullopt when it cannot be read.
std::optional<std::pair<std::uint64_t, std::uint64_t>> read_rss_kib(int pid);

}  // namespace hookd::bench
