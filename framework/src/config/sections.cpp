// The server, admin and storage sections: listeners, TLS, limits and the outbox store.
#include "sections.hpp"

#include <algorithm>
#include <limits>

namespace hookd::config {

// SQLite's default SQLITE_MAX_LENGTH: a larger body could be accepted but never stored.
constexpr std::uint64_t max_storable_body = 1'000'000'000;
constexpr std::uint64_t max_io_threads = 1024;
// An event id is a key of the store's index and a column of every listing: 64 KiB at most.
constexpr std::uint64_t max_event_id = 64 * 1024;

bool is_log_level(std::string_view name) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (name == level) return true;
  }
  return false;
}

void read_listen(Reader& r, const Entry& e, std::vector<std::string>& out, bool allow_empty,
                 std::vector<ListenSeen>& seen) {
  if (!e.value.IsScalar() && !e.value.IsSequence()) {
    r.error(e.mark(),
            e.path + ": expected host:port or a list of them, got " + Reader::kind(e.value));
    return;
  }
  auto items = r.read_string_list(e);
  bool ok = items.size() == (e.value.IsSequence() ? e.value.size() : 1);
  if (e.value.IsSequence() && e.value.size() == 0 && !allow_empty) {
    r.error(e.mark(), e.path + ": needs at least one address");
    ok = false;
  }
  std::vector<std::string> addresses;
  for (auto& [value, entry] : items) {
    auto address = parse_listen_address(value.text);
    if (!address) {
      r.error(entry.mark(), entry.path +
                                ": expected host:port (0.0.0.0:8443, 127.0.0.1:9090, [::]:8443, "
                                "localhost:9090), got " +
                                value.shown());
      ok = false;
      continue;
    }
    auto same = std::find_if(seen.begin(), seen.end(), [&](const ListenSeen& s) {
      return address->port != 0 && s.address.port == address->port &&
             s.address.host == address->host;
    });
    if (same != seen.end()) {
      r.error(entry.mark(), entry.path + ": the same address as " + same->path);
      ok = false;
    }
    seen.push_back({*address, entry.path});
    addresses.push_back(std::move(value.text));
  }
  if (ok) out = std::move(addresses);
}

namespace {

// An integer field of type T (unsigned, std::size_t), limited to what T can hold.
template <class T>
void read_integer(Reader& r, const Entry& e, T& out, std::uint64_t min,
                  std::uint64_t max = std::numeric_limits<T>::max()) {
  std::uint64_t n = out;
  r.read_count(e, n, min, max);
  out = static_cast<T>(n);
}

void read_min_version(Reader& r, const Entry& e, std::string& out) {
  auto value = r.scalar(e, "\"1.2\" or \"1.3\"");
  if (!value) return;
  if (value->text == "1.2" || value->text == "1.3") {
    out = value->text;
  } else {
    r.error(e.mark(), e.path + ": expected \"1.2\" or \"1.3\", got " + value->shown());
  }
}

void read_tls(Reader& r, const Entry& e, TlsConfig& out, std::vector<ListenSeen>& seen) {
  r.read_map(e,
             {
                 {"cert", [&](const Entry& v) { r.read_string(v, out.cert); }},
                 {"key", [&](const Entry& v) { r.read_string(v, out.key); }},
                 {"self_signed", [&](const Entry& v) { r.read_bool(v, out.self_signed); }},
                 {"min_version", [&](const Entry& v) { read_min_version(r, v, out.min_version); }},
                 {"acme",
                  [&](const Entry& v) {
                    out.acme.emplace();
                    read_acme(r, v, *out.acme, seen);
                  }},
             });
}

void read_auth_throttle(Reader& r, const Entry& e, LimitsConfig::AuthThrottle& out) {
  r.read_map(e, {
                    {"burst", [&](const Entry& v) { read_integer(r, v, out.burst, 0, 1'000'000); }},
                    {"refill", [&](const Entry& v) { r.read_duration(v, out.refill, true); }},
                    {"credential_burst",
                     [&](const Entry& v) { read_integer(r, v, out.credential_burst, 0, 1'000'000); }},
                    {"credential_refill",
                     [&](const Entry& v) { r.read_duration(v, out.credential_refill, true); }},
                });
}

void read_limits(Reader& r, const Entry& e, LimitsConfig& out) {
  r.read_map(
      e,
      {
          {"max_body", [&](const Entry& v) { r.read_size(v, out.max_body, 1, max_storable_body); }},
          {"header_timeout", [&](const Entry& v) { r.read_duration(v, out.header_timeout, true); }},
          {"body_timeout", [&](const Entry& v) { r.read_duration(v, out.body_timeout, true); }},
          {"min_body_rate",
           [&](const Entry& v) { r.read_size(v, out.min_body_rate, 0, 1024ull * 1024 * 1024); }},
          {"idle_timeout", [&](const Entry& v) { r.read_duration(v, out.idle_timeout, true); }},
          {"max_connections", [&](const Entry& v) { read_integer(r, v, out.max_connections, 1); }},
          {"max_connections_per_source",
           [&](const Entry& v) { read_integer(r, v, out.max_connections_per_source, 0); }},
          {"max_admin_connections",
           [&](const Entry& v) { read_integer(r, v, out.max_admin_connections, 1, 100'000); }},
          {"max_acme_http_connections",
           [&](const Entry& v) { read_integer(r, v, out.max_acme_http_connections, 1, 100'000); }},
          {"max_event_id",
           [&](const Entry& v) { read_integer(r, v, out.max_event_id, 1, max_event_id); }},
          {"max_buffered_bodies",
           [&](const Entry& v) {
             r.read_size(v, out.max_buffered_bodies, 0, std::numeric_limits<std::uint64_t>::max());
           }},
          {"auth_throttle", [&](const Entry& v) { read_auth_throttle(r, v, out.auth_throttle); }},
          {"ipv6_prefix", [&](const Entry& v) { read_integer(r, v, out.ipv6_prefix, 16, 128); }},
      });
}

void read_durability(Reader& r, const Entry& e, Durability& out) {
  auto value = r.scalar(e, "full or normal");
  if (!value) return;
  if (value->text == "full") {
    out = Durability::full;
  } else if (value->text == "normal") {
    out = Durability::normal;
  } else {
    r.error(e.mark(), e.path + ": expected full or normal, got " + value->shown());
  }
}

void read_batch(Reader& r, const Entry& e, BatchConfig& out) {
  r.read_map(e, {
                    {"max_events", [&](const Entry& v) { read_integer(r, v, out.max_events, 1); }},
                    {"max_wait", [&](const Entry& v) { r.read_duration(v, out.max_wait, false); }},
                });
}

void read_log_format(Reader& r, const Entry& e, LogConfig::Format& out) {
  auto value = r.scalar(e, "text or json");
  if (!value) return;
  if (value->text == "text") {
    out = LogConfig::Format::text;
  } else if (value->text == "json") {
    out = LogConfig::Format::json;
  } else {
    r.error(e.mark(), e.path + ": expected text or json, got " + value->shown());
  }
}

void read_retention(Reader& r, const Entry& e, RetentionConfig& out) {
  r.read_map(e, {
                    {"done", [&](const Entry& v) { r.read_duration(v, out.done, true); }},
                    {"dead", [&](const Entry& v) { r.read_duration(v, out.dead, true); }},
                });
}

}  // namespace

void read_server(Reader& r, const Entry& e, ServerConfig& out, std::vector<ListenSeen>& seen) {
  r.read_map(e,
             {
                 {"listen", [&](const Entry& v) { read_listen(r, v, out.listen, false, seen); }},
                 {"tls", [&](const Entry& v) { read_tls(r, v, out.tls, seen); }},
                 {"limits", [&](const Entry& v) { read_limits(r, v, out.limits); }},
                 {"io_threads",
                  [&](const Entry& v) { read_integer(r, v, out.io_threads, 0, max_io_threads); }},
                 {"shutdown_grace",
                  [&](const Entry& v) { r.read_duration(v, out.shutdown_grace, false); }},
             });
}

void read_admin(Reader& r, const Entry& e, AdminConfig& out, std::vector<ListenSeen>& seen) {
  r.read_map(e, {
                    {"listen", [&](const Entry& v) { read_listen(r, v, out.listen, true, seen); }},
                });
}

void read_storage(Reader& r, const Entry& e, StorageConfig& out) {
  r.read_map(e, {
                    {"path", [&](const Entry& v) { r.read_string(v, out.path); }},
                    {"durability", [&](const Entry& v) { read_durability(r, v, out.durability); }},
                    {"batch", [&](const Entry& v) { read_batch(r, v, out.batch); }},
                    {"retention", [&](const Entry& v) { read_retention(r, v, out.retention); }},
                });
}

void read_log(Reader& r, const Entry& e, LogConfig& out) {
  static constexpr const char* kLevels = "trace, debug, info, warn, error, critical or off";
  r.read_map(e, {
                    {"format", [&](const Entry& v) { read_log_format(r, v, out.format); }},
                    {"level",
                     [&](const Entry& v) {
                       auto value = r.scalar(v, kLevels);
                       if (!value) return;
                       if (is_log_level(value->text)) {
                         out.level = value->text;
                       } else {
                         r.error(v.mark(),
                                 v.path + ": expected " + kLevels + ", got " + value->shown());
                       }
                     }},
                });
}

}  // namespace hookd::config
