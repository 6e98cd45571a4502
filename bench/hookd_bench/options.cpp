// hookd-bench's options (CLI11, as the hookd binary) and their validation.
#include "options.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "hookd/config/units.hpp"

namespace hookd::bench {
namespace {

const char* const kSchemes[] = {"none",  "basic",   "bearer",   "github",           "stripe",
                                "slack", "shopify", "docusign", "standard-webhooks"};

std::string validate(Options& o, const std::string& duration, const std::string& timeout,
                     const std::string& interval, const std::vector<std::string>& headers) {
  auto d = config::parse_duration(duration);
  if (!d || d->count() <= 0) return "--duration: expected a duration like 10s or 500ms";
  o.duration = *d;
  auto t = config::parse_duration(timeout);
  if (!t || t->count() <= 0) return "--timeout: expected a duration like 10s or 500ms";
  o.timeout = *t;
  if (!interval.empty()) {
    auto i = config::parse_duration(interval);
    if (!i || i->count() <= 0) return "--interval: expected a duration like 10s or 500ms";
    o.interval = *i;
  }
  if (o.connections == 0) return "--connections must be at least 1";
  if (o.threads == 0) return "--threads must be at least 1";
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.rate && *o.rate < 0) return "--rate must be 0 (idle) or more";
  if (o.duplicates < 0 || o.duplicates >= 1) return "--duplicates must be in [0, 1)";
  if (o.scheme == "basic" && o.secret.find(':') == std::string::npos) {
    return "--scheme basic needs --secret USER:PASSWORD";
  }
  if (o.scheme == "bearer" && o.token.empty()) return "--scheme bearer needs --token";
  bool hmac = o.scheme != "none" && o.scheme != "basic" && o.scheme != "bearer";
  if (hmac && o.secret.empty()) return "--scheme " + o.scheme + " needs --secret";
  if ((!o.verify_store.empty() || !o.acked_ids.empty()) && o.rate && *o.rate == 0) {
    return "--verify-store and --acked-ids need a load (not --rate 0)";
  }
  for (const auto& h : headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) return "--header: expected 'Name: value'";
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    o.headers.emplace_back(h.substr(0, colon), value);
  }
  return {};
}

}  // namespace

std::optional<Target> parse_target(const std::string& url, std::string& error) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    error = "the URL must start with https://";
    return std::nullopt;
  }
  std::string rest = url.substr(kScheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Target t;
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  t.host_header = authority;
  std::string::size_type colon;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "unterminated IPv6 address in the URL";
      return std::nullopt;
    }
    t.host = authority.substr(1, close - 1);
    colon = authority.find(':', close);
  } else {
    colon = authority.rfind(':');
    t.host = authority.substr(0, colon);
  }
  t.port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
  if (t.host.empty() || t.port.empty() ||
      t.port.find_first_not_of("0123456789") != std::string::npos) {
    error = "expected https://HOST[:PORT]/PATH";
    return std::nullopt;
  }
  return t;
}

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
  std::string url, duration = "10s", timeout = "10s";
  std::vector<std::string> headers;
  CLI::App app{
      "hookd-bench: a load generator for webhook receivers over HTTPS keep-alive.\n"
      "Every request carries a unique event id (json:/id of the body and the scheme's id\n"
      "header) and, with --scheme, valid credentials, so it measures the real path."};
  app.add_option("url", url, "https://HOST:PORT/PATH (certificates are not verified)")->required();
  app.add_option("-c,--connections", o.connections, "Keep-alive TLS connections")
      ->capture_default_str();
  app.add_option("-t,--threads", o.threads, "I/O threads (connections are spread over them)")
      ->capture_default_str();
  app.add_option("-d,--duration", duration, "How long to run at most (e.g. 10s, 2m)")
      ->capture_default_str();
  app.add_option("-n,--requests", o.requests,
                 "Stop after this many requests (0: when --duration ends)")
      ->capture_default_str();
  app.add_option("--rate", o.rate,
                 "Open loop: requests/s over all connections, latency from the scheduled time "
                 "(coordinated omission corrected); 0 = idle: one request per connection, "
                 "then hold them open for --duration");
  app.add_option("--timeout", timeout, "Per-request timeout (connect, write and answer)")
      ->capture_default_str();
  app.add_option("--body-size", o.body_size, "Size of the generated JSON body in bytes")
      ->capture_default_str();
  app.add_option("--body-file", o.body_file,
                 "Send this body; {{id}} and {{type}} in it are replaced per request")
      ->check(CLI::ExistingFile);
  app.add_option("--content-type", o.content_type)->capture_default_str();
  app.add_option("--type", o.event_type, "Event type in the body and type headers")
      ->capture_default_str();
  app.add_option("--duplicates", o.duplicates,
                 "Share of requests (0..1) that repeat an id sent before (expect 200 duplicate)")
      ->capture_default_str();
  app.add_option("--scheme", o.scheme, "Credentials to attach")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kSchemes), std::end(kSchemes))))
      ->capture_default_str();
  // Also from the environment, which keeps them out of the process list.
  app.add_option("--secret", o.secret,
                 "HMAC secret (whsec_... for standard-webhooks); "
                 "basic: USER:PASSWORD")
      ->envname("HOOKD_BENCH_SECRET");
  app.add_option("--token", o.token, "Bearer token")->envname("HOOKD_BENCH_TOKEN");
  app.add_option("-H,--header", headers, "Extra header 'Name: value' (repeatable)");
  app.add_flag("--json", o.json, "Print the report as one JSON object");
  app.add_option("--verify-store", o.verify_store,
                 "After the run, check that every id answered 2xx is in this SQLite store");
  app.add_option("--verify-route", o.verify_route,
                 "Route name the ids are stored under (default: any route)");
  app.add_option("--server-pid", o.server_pid, "Report this process's resident memory");
  app.add_option("--acked-ids", o.acked_ids,
                 "Write every id answered 2xx to this file, one per line (to check a store "
                 "whose retention deleted some of them)");
  std::string interval;
  app.add_option("--interval", interval,
                 "Every INTERVAL (e.g. 10s), print one JSON line to stderr with that "
                 "interval's answers, statuses, errors and latency percentiles");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e) == 0 ? 0 : 1;
    return std::nullopt;
  }
  std::string error;
  auto target = parse_target(url, error);
  if (!target) {
    fmt::print(stderr, "hookd-bench: {}: {}\n", url, error);
    exit_code = 1;
    return std::nullopt;
  }
  o.target = *target;
  if (auto problem = validate(o, duration, timeout, interval, headers); !problem.empty()) {
    fmt::print(stderr, "hookd-bench: {}\n", problem);
    exit_code = 1;
    return std::nullopt;
  }
  return o;
}

}  // namespace hookd::bench
