// restart_only_changes: compares the sections a reload leaves as they were at start.
#include "hookd/config/restart.hpp"

namespace hookd::config {

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
  std::vector<std::string> out;
  const ServerConfig& a = running.server;
  const ServerConfig& b = next.server;
  if (a.listen != b.listen) out.emplace_back("server.listen");
  // A reload re-reads cert/key and applies the acme block's names, CA and renewal; what
  // the listeners were built with stays.
  if (a.tls.min_version != b.tls.min_version) out.emplace_back("server.tls.min_version");
  if (a.tls.acme.has_value() != b.tls.acme.has_value()) {
    out.emplace_back("server.tls.acme");
  } else if (a.tls.acme && (a.tls.acme->challenge != b.tls.acme->challenge ||
                            a.tls.acme->http_listen != b.tls.acme->http_listen)) {
    out.emplace_back("server.tls.acme.challenge/http_listen");
  }
  // max_event_id is read by the routes, which a reload rebuilds.
  LimitsConfig limits = b.limits;
  limits.max_event_id = a.limits.max_event_id;
  if (limits != a.limits) out.emplace_back("server.limits");
  if (a.io_threads != b.io_threads) out.emplace_back("server.io_threads");
  if (a.shutdown_grace != b.shutdown_grace) out.emplace_back("server.shutdown_grace");
  // Any other key of the server section (one added later and not listed above).
  ServerConfig rest = b;
  rest.listen = a.listen;
  rest.tls = a.tls;
  rest.limits = a.limits;
  rest.io_threads = a.io_threads;
  rest.shutdown_grace = a.shutdown_grace;
  if (rest != a) out.emplace_back("server");
  // log.level is applied by a reload, the format is not.
  if (running.log.format != next.log.format) out.emplace_back("log.format");
  if (running.admin != next.admin) out.emplace_back("admin");
  if (running.storage != next.storage) out.emplace_back("storage");
  // workers.retry, isolation and max_crashes reach the engine through the handlers and
  // plugins, which a reload replaces.
  WorkersConfig workers = next.workers;
  workers.retry = running.workers.retry;
  workers.isolation = running.workers.isolation;
  workers.max_crashes = running.workers.max_crashes;
  if (workers != running.workers) out.emplace_back("workers");
  return out;
}

}  // namespace hookd::config
