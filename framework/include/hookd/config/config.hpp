// The typed configuration of hookd: what config/loader.cpp builds from YAML.
// Plain values, no behaviour; every part can be built as a literal in a test.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::config {

using Duration = std::chrono::milliseconds;

// Where a value came from, 1-based, for `FILE:LINE:COL: message` errors.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

// A value that may hold a secret (a password, an HMAC key). It is never formatted into
// logs or error messages; `str()` is the only way to read it.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  // For config comparison on reload only, never to check a credential (not constant time).
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

// server.tls.acme: certificates from an ACME CA (RFC 8555) instead of cert/key files.
struct AcmeConfig {
  enum class Challenge { tls_alpn_01, http_01 };
  std::vector<std::string> names;  // DNS names or IP addresses, all in one certificate
  std::string email;               // empty: no contact
  bool agree_tos = false;          // must be true: the CA's terms are accepted explicitly
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  Challenge challenge = Challenge::tls_alpn_01;
  std::string http_listen = "0.0.0.0:80";  // the http-01 listener (used with http-01 only)
  std::string ca_bundle;                   // empty: the system's trust store
  std::string eab_kid;                     // empty: no External Account Binding
  Secret eab_hmac_key;                     // base64url
  std::optional<Duration> renew_before;    // none: when a third of the lifetime remains

  bool operator==(const AcmeConfig&) const = default;
};

struct TlsConfig {
  std::optional<AcmeConfig> acme;  // when set, cert/key are not read
  std::string cert = "data/tls/cert.pem";
  std::string key = "data/tls/key.pem";
  bool self_signed = true;          // create a localhost cert when both files are missing
  std::string min_version = "1.2";  // "1.2" or "1.3"

  bool operator==(const TlsConfig&) const = default;
};

struct LimitsConfig {
  std::size_t max_body = 1024 * 1024;
  Duration header_timeout = std::chrono::seconds(10);  // whole header phase, from accept
  Duration body_timeout = std::chrono::seconds(30);
  // Bytes per second a request body must average after its first second (0: no minimum):
  // a body that trickles in holds its connection and budget for no more than that.
  std::size_t min_body_rate = 1024;
  Duration idle_timeout = std::chrono::seconds(60);  // keep-alive wait for the next request
  std::size_t max_connections = 10000;
  // Webhook connections one source (an IPv4 address, an IPv6 /ipv6_prefix) may hold at once;
  // 0: a quarter of what the webhook listener may hold (max_connections, or fewer within
  // the descriptor limit), at least 1.
  std::size_t max_connections_per_source = 0;
  // Connections open at once on the admin listener and on the ACME http-01 listener (small
  // plain-HTTP listeners): past it a new one is closed at once.
  std::size_t max_admin_connections = 64;
  std::size_t max_acme_http_connections = 16;
  // The longest event id a sender may give (bytes); a longer one is refused with 400.
  std::size_t max_event_id = 256;
  // Bytes of request bodies buffered at once, over all connections (each request counts
  // its Content-Length, or max_body when chunked, from its head to its answer); beyond it
  // new requests get 503. 0: a quarter of the machine's memory.
  std::size_t max_buffered_bodies = 0;
  // The per-source limits (the auth throttles) count an IPv6 source by this prefix: one
  // site or customer usually holds a whole /48.
  unsigned ipv6_prefix = 48;
  // Failed authentications per source address and route: `burst` in a row, then one per
  // `refill`; beyond that 429 with Retry-After. burst 0: off.
  // And per credential (a Basic user name, an OAuth client id) over all routes and sources:
  // a far larger ceiling, so that locking a sender out takes many sources (and is counted
  // in hookd_auth_credential_throttled_total).
  struct AuthThrottle {
    std::size_t burst = 10;
    Duration refill = std::chrono::seconds(6);
    std::size_t credential_burst = 1000;
    Duration credential_refill = std::chrono::milliseconds(100);

    bool operator==(const AuthThrottle&) const = default;
  } auth_throttle;

  bool operator==(const LimitsConfig&) const = default;
};

struct ServerConfig {
  std::vector<std::string> listen{"0.0.0.0:8443"};  // host:port; IPv6 as [::1]:8443
  TlsConfig tls;
  LimitsConfig limits;
  unsigned io_threads = 0;  // 0: one per core
  Duration shutdown_grace = std::chrono::seconds(30);

  bool operator==(const ServerConfig&) const = default;
};

struct AdminConfig {
  std::vector<std::string> listen{"127.0.0.1:9090"};  // empty list: no admin listener

  bool operator==(const AdminConfig&) const = default;
};

enum class Durability { full, normal };

struct BatchConfig {
  std::size_t max_events = 1024;
  Duration max_wait = std::chrono::milliseconds(1);

  bool operator==(const BatchConfig&) const = default;
};

struct RetentionConfig {
  Duration done = std::chrono::hours(24 * 7);
  Duration dead = std::chrono::hours(24 * 30);

  bool operator==(const RetentionConfig&) const = default;
};

struct StorageConfig {
  std::string path = "data/hookd.db";
  Durability durability = Durability::full;
  BatchConfig batch;
  RetentionConfig retention;

  bool operator==(const StorageConfig&) const = default;
};

// Where an event's id or type comes from: `header:NAME` or `json:/pointer` (RFC 6901).
struct FieldRef {
  enum class Kind { none, header, json };
  Kind kind = Kind::none;
  std::string name;  // header name, or the JSON pointer including its leading '/'
  std::string text;  // as written, for error messages ("json:/data/id")
  bool set() const { return kind != Kind::none; }
};

struct EventConfig {
  FieldRef id;    // none: a fresh id is generated and there is no dedupe
  FieldRef type;  // none: the type is stored empty
};

// `basic: {username, password | password_sha256}` (RFC 7617).
struct BasicAuthConfig {
  std::string username;
  Secret password;         // set when the config gives the password itself
  Secret password_sha256;  // or its SHA-256, 64 hex digits
};

// `bearer: {issuer: self}` or `bearer: {jwks: FILE, issuer, audience, algorithms, typ}`.
struct BearerAuthConfig {
  bool self_issued = false;  // tokens of the built-in `oauth` endpoint (always `typ` at+jwt)
  std::string jwks;          // path of a JWKS file (external authorization server)
  std::string issuer;        // required `iss` (external)
  std::string audience;      // required `aud` when set
  std::vector<std::string> algorithms{"RS256", "ES256", "EdDSA"};
  std::string typ;  // external: the JWS header `typ` required when set (e.g. at+jwt)
};

// `hmac: {scheme, secrets, tolerance, ...}`: shared-secret signatures.
struct HmacAuthConfig {
  // github | stripe | standard-webhooks | slack | shopify | docusign | twilio | generic
  std::string scheme;
  std::vector<Secret> secrets;                   // several at once for rotation; any may match
  Duration tolerance = std::chrono::minutes(5);  // where the scheme has a timestamp
  std::string url;                               // twilio: the public URL configured at Twilio
  // generic:
  std::string header;                // the signature header
  std::string algorithm = "sha256";  // sha256 | sha512 | sha1
  std::string encoding = "hex";      // hex | base64
  std::string prefix;                // e.g. "sha256=" before the encoded MAC
  std::string payload = "{body}";    // template over {body}, {timestamp}, {id}
  std::string timestamp_header;      // where {timestamp} comes from; enables tolerance
  std::string id_header;             // where {id} comes from
};

// `signature: {scheme: sendgrid | standard-webhooks, public_key}`: asymmetric signatures.
struct SignatureAuthConfig {
  std::string scheme;
  std::vector<std::string> public_keys;  // PEM, base64 DER SPKI, or whpk_<base64 raw key>
  Duration tolerance = std::chrono::minutes(5);
};

// One item of a route's `auth` list.
struct AuthItemConfig {
  enum class Kind { basic, bearer, hmac, signature, ip_allow, any };
  Kind kind = Kind::basic;
  Location where;
  BasicAuthConfig basic;
  BearerAuthConfig bearer;
  HmacAuthConfig hmac;
  SignatureAuthConfig signature;
  std::vector<std::string> ip_allow;  // CIDRs, IPv4 and IPv6
  std::vector<AuthItemConfig> any;    // passes when one of these passes
};

// The route's `auth`: `none` (open) or items that must all pass, in order.
struct AuthConfig {
  bool open = false;
  std::vector<AuthItemConfig> items;
};

// How a failed delivery is retried: exponential backoff from initial_backoff, times
// multiplier per attempt, capped at max_backoff; with full jitter the wait is uniform in
// [0, that]. After max_attempts attempts the delivery is dead.
struct RetryConfig {
  enum class Jitter { full, none };
  std::uint32_t max_attempts = 12;
  Duration initial_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::hours(1);
  double multiplier = 2.0;
  Jitter jitter = Jitter::full;

  bool operator==(const RetryConfig&) const = default;
};

// A handler's `retry:` override: only the keys it gives replace workers.retry's.
struct RetryOverride {
  std::optional<std::uint32_t> max_attempts;
  std::optional<Duration> initial_backoff;
  std::optional<Duration> max_backoff;
  std::optional<double> multiplier;
  std::optional<RetryConfig::Jitter> jitter;
  RetryConfig apply(RetryConfig base) const;
};

// One entry of a route's `handlers`: which plugin runs for which event types, and how.
struct HandlerConfig {
  std::string plugin;              // a key of the `plugins` section
  std::vector<std::string> types;  // "*", exact names, or "prefix.*"
  std::uint32_t concurrency = 0;   // at most this many at once; 0 = workers.threads
  FieldRef ordered_by;             // none: no ordering between this handler's deliveries
  RetryOverride retry_override;    // as written
  RetryConfig retry;               // workers.retry with the override applied (by the loader)
  Location where;

  // Whether an event of type `type` goes to this handler.
  bool matches(std::string_view type) const;
};

struct RouteConfig {
  std::string name;
  std::string path;
  bool test = false;
  AuthConfig auth;
  EventConfig event;
  std::vector<HandlerConfig> handlers;  // empty: events are stored and marked unmatched
  Location where;                       // the route's entry in the file
};

// Where plugin calls run: `process`, in one `hookd plugin-host` child per plugin (a crash,
// exit or hang costs a restart of that host, never the receiver), or `thread`, in hookd's
// own worker threads (no per-call overhead; a crash takes hookd down).
enum class Isolation { process, thread };

struct WorkersConfig {
  std::uint32_t threads = 4;
  Duration handler_timeout = std::chrono::seconds(30);
  RetryConfig retry;
  Isolation isolation = Isolation::process;  // plugins.NAME.isolation overrides it
  // Crashes of a plugin host blamed on one delivery (it was the host's only call) after
  // which the delivery is dead: the poison event is quarantined until `hookd replay`.
  std::uint32_t max_crashes = 3;

  bool operator==(const WorkersConfig&) const = default;
};

// One entry of the `plugins` section: a named handler plugin and its own config.
struct PluginConfig {
  std::string name;         // the key; handlers refer to it, deliveries store it
  std::string library;      // path of the shared library
  std::string config_yaml;  // the `config:` block as YAML text (after ${...} substitution)
  std::optional<Isolation> isolation;  // unset: workers.isolation
  // Process isolation only; 0: none. The host's address space (RLIMIT_AS), and the CPU time
  // one call may use. Exceeding either kills the host (a crash).
  std::uint64_t memory_limit = 0;
  Duration cpu_limit{0};
  // `env`: names of hookd's environment variables its host gets besides PATH, LANG, TZ and
  // the proxy variables (process isolation only: a thread plugin shares hookd's process).
  std::vector<std::string> env;
  Location env_where;  // where `env` is written, for the note when it cannot apply
  Location where;

  Isolation isolation_or(Isolation workers_default) const {
    return isolation.value_or(workers_default);
  }
};

struct OAuthClientConfig {
  std::string id;
  Secret secret;         // the client secret itself ...
  Secret secret_sha256;  // ... or its SHA-256, 64 hex digits
  // The routes (by name) whose `bearer: {issuer: self}` accept this client's tokens;
  // nullopt (no `routes` key): every route.
  std::optional<std::vector<std::string>> routes;
  std::vector<Location> route_where;  // where each name of `routes` is written
};

// The built-in OAuth 2.0 token endpoint (RFC 6749 4.4 client credentials).
struct OAuthConfig {
  std::string token_path = "/oauth/token";
  std::string jwks_path = "/oauth/jwks";
  std::string issuer = "hookd";
  Duration token_ttl = std::chrono::hours(1);
  std::string signing_key = "data/oauth-key.pem";  // EC P-256 → ES256, Ed25519 → EdDSA
  std::string audience;                            // `aud` of issued tokens when set
  std::vector<OAuthClientConfig> clients;
};

// The `log` section: how serve writes its log lines (to stderr, for the journal).
struct LogConfig {
  enum class Format { text, json };  // json: one object per line (ts, level, thread, msg)
  Format format = Format::text;
  // trace | debug | info | warn | error | critical | off; HOOKD_LOG_LEVEL overrides it.
  std::string level = "info";

  bool operator==(const LogConfig&) const = default;
};
// Whether `name` is one of the level names above.
bool is_log_level(std::string_view name);

struct Config {
  std::string file;  // the file it was loaded from
  LogConfig log;
  ServerConfig server;
  AdminConfig admin;
  StorageConfig storage;
  std::optional<OAuthConfig> oauth;  // absent: no token endpoint
  WorkersConfig workers;
  std::vector<PluginConfig> plugins;
  std::vector<RouteConfig> routes;
};

}  // namespace hookd::config
