// hookd-bench: drives a webhook receiver with signed, uniquely identified events over
// keep-alive TLS and reports throughput, latency percentiles and, optionally, whether
// every acknowledged event is in the store. Exit 0 ok, 1 usage error or ids missing from
// the store, 2 runtime failure (nothing answered, target unresolvable).
#include <fmt/format.h>
#include <sys/resource.h>

#include <exception>

#include "load.hpp"
#include "options.hpp"
#include "report.hpp"
#include "requests.hpp"
#include "verify.hpp"

namespace {

// Many connections need many descriptors: raise the soft limit to the hard one.
void raise_fd_limit(unsigned connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < connections + 64) {
    fmt::print(stderr, "hookd-bench: warning: {} connections but only {} file descriptors\n",
               connections, limit.rlim_cur);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hookd::bench;
  int exit_code = 0;
  auto options = parse_options(argc, argv, exit_code);
  if (!options) return exit_code;
  const Options& o = *options;
  raise_fd_limit(o.connections);
  try {
    auto run_id = new_run_id();
    RequestBuilder check(o, run_id);  // credential or body-file problems before any load
    auto load = run_load(o, run_id);
    Report report;
    report.mode = !o.rate ? "closed" : *o.rate == 0 ? "idle" : "open";
    report.connections = o.connections;
    report.threads = o.threads;
    report.rate = o.rate;
    report.seconds = load.seconds;
    report.tls_version = load.tls_version;
    report.stats = std::move(load.stats);
    if (o.server_pid > 0) {
      if (auto rss = read_rss_kib(o.server_pid)) {
        report.server_rss_kib = rss->first;
        report.server_hwm_kib = rss->second;
      }
    }
    if (!o.acked_ids.empty()) write_ids(o.acked_ids, report.stats.accepted_ids);
    if (!o.verify_store.empty()) {
      auto check_result = verify_store(o.verify_store, o.verify_route, report.stats.accepted_ids);
      report.verified = check_result.checked;
      report.missing = check_result.missing;
      report.missing_examples = std::move(check_result.examples);
    }
    if (o.json) {
      print_json(report);
    } else {
      print_text(report);
    }
    if (report.stats.answered() == 0) {
      fmt::print(stderr, "hookd-bench: no request was answered ({} connect errors)\n",
                 report.stats.connect_errors);
      return 2;
    }
    return report.missing.value_or(0) > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hookd-bench: {}\n", e.what());
    return 2;
  }
}
