// The bundled `forward` handler plugin: POSTs each event (raw body, original headers minus
// hop-by-hop and redacted ones, plus configured and X-Hookd-* headers) to an HTTPS URL.
#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/https/client.hpp"
#include "hookd/https/url.hpp"
#include "hookd/plugin.hpp"
#include "plugin_config.hpp"
#include "signer.hpp"

namespace hookd::plugins::forward {
namespace {

using namespace std::chrono_literals;
using https::Client;
using https::Exchange;
using https::Response;
using https::Url;

constexpr std::size_t kBodyInMessage = 200;
constexpr auto kMaxRetryAfter = std::chrono::seconds(3600);

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool one_of(std::string_view lower_name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (lower_name == n) return true;
  }
  return false;
}

// Never copied from the event: hop-by-hop, recomputed here, or redacted by hookd.
bool dropped_header(std::string_view lower) {
  return one_of(lower, {"host", "content-length", "connection", "transfer-encoding", "keep-alive",
                        "te", "trailer", "upgrade", "expect", "accept-encoding", "proxy-connection",
                        "authorization", "cookie", "proxy-authorization"});
}

// Set by the plugin itself; neither copied from the event nor accepted in `headers:`.
bool own_header(std::string_view lower) {
  return one_of(lower, {"x-hookd-event-id", "x-hookd-route", "x-hookd-attempt"});
}

// Signature headers of the schemes hookd verifies; dropped when re-signing.
bool signature_header(std::string_view lower) {
  return one_of(lower, {"webhook-id", "webhook-timestamp", "webhook-signature", "svix-id",
                        "svix-timestamp", "svix-signature", "x-hub-signature",
                        "x-hub-signature-256", "stripe-signature", "x-slack-signature",
                        "x-slack-request-timestamp", "x-shopify-hmac-sha256", "x-twilio-signature",
                        "x-twilio-email-event-webhook-signature",
                        "x-twilio-email-event-webhook-timestamp"}) ||
         lower.substr(0, 21) == "x-docusign-signature-";
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!token_char(c)) return false;
  }
  return true;
}

// No CR, LF, NUL or other control character except tab: nothing that could split a header.
bool valid_value(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Control characters become '?' so an odd event id cannot break the request.
std::string safe_value(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

// The start of a response body for a message: printable ASCII only, at most 200 bytes.
std::string body_excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kBodyInMessage)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
  }
  if (body.size() > kBodyInMessage) out += "...";
  return out;
}

// Retry-After as delta-seconds (an HTTP-date is ignored), capped at one hour.
std::chrono::milliseconds retry_after(const Response& response) {
  const auto value = response.header("retry-after");
  if (!value || value->empty() || value->size() > 12) return 0ms;
  long long seconds = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return 0ms;
    seconds = seconds * 10 + (c - '0');
  }
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
}

class Forward {
 public:
  explicit Forward(std::string_view yaml)
      : config_("forward", yaml, {"url", "timeout", "ca_file", "headers", "resign"}),
        url_(read_url()),
        timeout_(config_.duration("timeout", 10s)),
        client_(make_client()) {
    if (timeout_ <= 0ms) config_.fail("timeout", "must be greater than zero");
    if (config_.has("resign")) {
      const PluginConfig resign("forward", "resign", config_.node("resign"), {"secret"});
      try {
        signer_.emplace(resign.string("secret"));
      } catch (const std::invalid_argument& e) {
        resign.fail("secret", e.what());
      }
    }
    if (config_.has("headers")) read_headers();
  }

  hookd::Outcome handle(const hookd::Event& event) const {
    const std::string id = safe_value(event.id());
    std::string head = "POST " + url_.target + " HTTP/1.1\r\nHost: " + url_.host_header +
                       "\r\nContent-Length: " + std::to_string(event.body().size()) +
                       "\r\nConnection: close\r\n";
    const auto add = [&head](std::string_view name, std::string_view value) {
      head.append(name).append(": ").append(value).append("\r\n");
    };
    for (std::size_t i = 0; i < event.header_count(); ++i) {
      const hookd::Header h = event.header(i);
      const std::string lower = to_lower(h.name);
      if (dropped_header(lower) || own_header(lower) || overridden(lower) ||
          (signer_ && signature_header(lower)) || !valid_name(h.name) || !valid_value(h.value)) {
        continue;
      }
      add(h.name, h.value);
    }
    for (const auto& [name, value] : headers_) add(name, value);
    if (signer_) {
      const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
      add("webhook-id", id);
      add("webhook-timestamp", std::to_string(now));
      add("webhook-signature", signer_->sign(id, now, event.body()));
    }
    add("X-Hookd-Event-Id", id);
    add("X-Hookd-Route", safe_value(event.route()));
    add("X-Hookd-Attempt", std::to_string(event.attempt()));
    head += "\r\n";

    const Exchange exchange =
        client_.send(url_, head, event.body(), Client::Clock::now() + timeout_, kBodyInMessage + 1);
    return outcome(exchange);
  }

 private:
  Url read_url() const {
    try {
      return https::parse_url(config_.string("url"));
    } catch (const std::invalid_argument& e) {
      config_.fail("url", e.what());
    }
  }

  Client make_client() const {
    try {
      return Client(config_.string("ca_file", ""));
    } catch (const ConfigError&) {
      throw;
    } catch (const std::runtime_error& e) {
      config_.fail("ca_file", e.what());
    }
  }

  void read_headers() {
    const YAML::Node node = config_.node("headers");
    if (!node.IsMap()) config_.fail("headers", "expected a map of header names to values");
    for (const auto& kv : node) {
      const std::string name = kv.first.IsScalar() ? kv.first.as<std::string>() : "";
      if (!valid_name(name)) config_.fail("headers", "bad header name '" + name + "'");
      const std::string lower = to_lower(name);
      if (dropped_header(lower) && !one_of(lower, {"authorization", "cookie"})) {
        config_.fail("headers." + name, "set by the plugin (or hop-by-hop), cannot be configured");
      }
      if (own_header(lower) || (signer_ && signature_header(lower))) {
        config_.fail("headers." + name, "set by the plugin, cannot be configured");
      }
      if (!kv.second.IsScalar()) config_.fail("headers." + name, "expected a string");
      const std::string value = kv.second.as<std::string>();
      if (!valid_value(value)) config_.fail("headers." + name, "control characters in the value");
      headers_.emplace_back(name, value);
    }
  }

  bool overridden(std::string_view lower) const {
    for (const auto& [name, value] : headers_) {
      if (to_lower(name) == lower) return true;
    }
    return false;
  }

  hookd::Outcome outcome(const Exchange& exchange) const {
    if (exchange.error == Exchange::Error::timeout) {
      return hookd::Outcome::retry(exchange.message + " (timeout " +
                                   std::to_string(timeout_.count()) + "ms)");
    }
    if (exchange.error != Exchange::Error::none) return hookd::Outcome::retry(exchange.message);
    const Response& r = exchange.response;
    std::string message = "HTTP " + std::to_string(r.status);
    if (!r.reason.empty()) message += " " + body_excerpt(r.reason);
    message += " from " + url_.host_header;
    if (r.status >= 200 && r.status < 300) return hookd::Outcome::ok(message);
    if (!r.body.empty()) message += ": " + body_excerpt(r.body);
    if (r.status == 429 || r.status >= 500) {
      return hookd::Outcome::retry(message, retry_after(r));
    }
    if (r.status >= 300 && r.status < 400) message += " (redirects are not followed)";
    return hookd::Outcome::fail(message);
  }

  PluginConfig config_;
  Url url_;
  std::chrono::milliseconds timeout_;
  Client client_;
  std::vector<std::pair<std::string, std::string>> headers_;  // from `headers:`, in order
  std::optional<Signer> signer_;
};

}  // namespace
}  // namespace hookd::plugins::forward

HOOKD_PLUGIN(hookd::plugins::forward::Forward, "forward")
