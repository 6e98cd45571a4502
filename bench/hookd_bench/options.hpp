// hookd-bench's command line: the target, the load shape, the body and the credentials,
// checked once before any connection is made.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hookd::bench {

struct Target {
  std::string host;  // as written in the URL, without brackets for IPv6
  std::string port;
  std::string path;  // with the query, "/" when the URL has none
  std::string host_header;
};

struct Options {
  Target target;
  unsigned connections = 64;
  unsigned threads = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(10);  // the run's longest
  std::uint64_t requests = 0;  // stop after this many; 0: when `duration` ends
  // Open loop: requests/s over all connections, each sent at its scheduled time and its
  // latency counted from that time (coordinated omission corrected). Unset: closed loop.
  // 0: idle mode, every connection sends one request and then stays open.
  std::optional<double> rate;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);  // per request

  std::size_t body_size = 1024;
  std::string body_file;  // its "{{id}}" and "{{type}}" are replaced per request
  std::string content_type = "application/json";
  std::string event_type = "bench.event";
  double duplicates = 0;  // share of requests that repeat an id already sent

  std::string scheme = "none";  // none | basic | bearer | an hmac scheme
  std::string secret;           // hmac secret; basic: user:password
  std::string token;            // bearer
  std::vector<std::pair<std::string, std::string>> headers;  // extra, sent as given

  bool json = false;
  std::string verify_store;  // sqlite file: every 2xx id must be in it
  std::string verify_route;  // the route name in the store; empty: any route
  int server_pid = 0;        // report this process's RSS (VmRSS, VmHWM) at the end
  std::string acked_ids;     // file: every 2xx id, one per line
  // Every `interval` (0: never), one JSON line on stderr with that interval's answers.
  std::chrono::nanoseconds interval{0};
};

// Parses argv. On --help prints the usage and returns nullopt with `exit_code` 0; on an
// error prints it to stderr and returns nullopt with `exit_code` 1.
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

// "https://host:port/path" → Target; nullopt (with `error`) for anything else.
std::optional<Target> parse_target(const std::string& url, std::string& error);

}  // namespace hookd::bench
