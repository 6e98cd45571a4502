// The section readers of the config file (server, admin, storage, routes, workers, plugins). Private to
// config/; loader.cpp dispatches the top-level keys to them.
#pragma once

#include <vector>

#include "hookd/config/address.hpp"
#include "hookd/config/config.hpp"
#include "node_reader.hpp"

namespace hookd::config {

// Every listen address read so far, so that one bound twice is reported at its second use.
struct ListenSeen {
  ListenAddress address;
  std::string path;
};

// Addresses in `listen`-style keys (one or a list); each one bound twice is an error.
void read_listen(Reader& r, const Entry& e, std::vector<std::string>& out, bool allow_empty,
                 std::vector<ListenSeen>& seen);
void read_server(Reader& r, const Entry& e, ServerConfig& out, std::vector<ListenSeen>& seen);
void read_admin(Reader& r, const Entry& e, AdminConfig& out, std::vector<ListenSeen>& seen);
void read_storage(Reader& r, const Entry& e, StorageConfig& out);
void read_log(Reader& r, const Entry& e, LogConfig& out);
void read_routes(Reader& r, const Entry& e, std::vector<RouteConfig>& out);
// A route's `auth` value (auth.cpp).
void read_auth(Reader& r, const Entry& e, AuthConfig& out);
// 64 hex digits: a SHA-256 as `password_sha256` / `secret_sha256` give it (auth.cpp).
bool is_sha256_hex(const std::string& s);
// `header:NAME` or `json:/pointer` (routes.cpp).
void read_field_ref(Reader& r, const Entry& e, FieldRef& out);
// A route's `handlers`, and the `workers` and `plugins` sections (workers.cpp). The retry
// override of `workers.retry` applies to the defaults once every section is read.
void read_handlers(Reader& r, const Entry& e, std::vector<HandlerConfig>& out);
void read_workers(Reader& r, const Entry& e, WorkersConfig& out, RetryOverride& retry);
void read_plugins(Reader& r, const Entry& e, std::vector<PluginConfig>& out);
// A plugin's `config:` value (a map, or nothing for the empty text) → the YAML text its
// create() receives: substituted and re-emitted in block style (workers.cpp).
void read_plugin_config(Reader& r, const Entry& e, std::string& out);
// Applies the retry policies and checks that each handler names a known plugin; notes a
// plugin `env` list that thread isolation makes moot.
void resolve_handlers(Reader& r, Config& config, const RetryOverride& global_retry);
// A secret value: substituted text is fine, but it must not be empty (auth.cpp). An
// inbound one (senders prove they know it) is recorded when it came from a default.
enum class SecretUse { inbound, outbound };
void read_secret(Reader& r, const Entry& e, Secret& out, SecretUse use = SecretUse::inbound);
// server.tls.acme (acme.cpp).
void read_acme(Reader& r, const Entry& e, AcmeConfig& out, std::vector<ListenSeen>& seen);
// The top-level `oauth` section (oauth.cpp).
void read_oauth(Reader& r, const Entry& e, OAuthConfig& out);

}  // namespace hookd::config
