// The bundled `forward` handler plugin: POSTs each event (raw body, original headers minus
// hop-by-hop and redacted ones, plus configured and X-Hookd-* headers) to an HTTPS URL.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "header_rules.hpp"
#include "hookd/https/client.hpp"
#include "hookd/plugin.hpp"
#include "plugin_config.hpp"
#include "retry_after.hpp"
#include "settings.hpp"

namespace hookd::plugins::forward {
namespace {

using https::Client;
using https::Exchange;
using https::Response;

constexpr std::size_t kBodyInMessage = 200;

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

class Forward {
 public:
  explicit Forward(std::string_view yaml)
      : settings_(read_settings(yaml)), client_(make_client()) {}

  hookd::Outcome handle(const hookd::Event& event) const {
    const std::string id = safe_value(event.id());
    std::string head =
        "POST " + settings_.url.target + " HTTP/1.1\r\nHost: " + settings_.url.host_header +
        "\r\nContent-Length: " + std::to_string(event.body().size()) + "\r\nConnection: close\r\n";
    const auto add = [&head](std::string_view name, std::string_view value) {
      head.append(name).append(": ").append(value).append("\r\n");
    };
    for (std::size_t i = 0; i < event.header_count(); ++i) {
      const hookd::Header h = event.header(i);
      const std::string lower = to_lower(h.name);
      if (dropped_header(lower) || own_header(lower) || overridden(lower) ||
          (settings_.signer && signature_header(lower)) || !valid_name(h.name) ||
          !valid_value(h.value)) {
        continue;
      }
      add(h.name, h.value);
    }
    for (const auto& [name, value] : settings_.headers) add(name, value);
    if (settings_.signer) {
      const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
      add("webhook-id", id);
      add("webhook-timestamp", std::to_string(now));
      add("webhook-signature", settings_.signer->sign(id, now, event.body()));
    }
    add("X-Hookd-Event-Id", id);
    add("X-Hookd-Route", safe_value(event.route()));
    add("X-Hookd-Attempt", std::to_string(event.attempt()));
    head += "\r\n";

    const Exchange exchange =
        client_.send(settings_.url, head, event.body(), Client::Clock::now() + settings_.timeout,
                     kBodyInMessage + 1);
    return outcome(exchange);
  }

 private:
  Client make_client() const {
    try {
      return Client(settings_.ca_file);
    } catch (const std::runtime_error& e) {
      throw ConfigError(std::string("forward: ca_file: ") + e.what());
    }
  }

  bool overridden(std::string_view lower) const {
    for (const auto& [name, value] : settings_.headers) {
      if (to_lower(name) == lower) return true;
    }
    return false;
  }

  hookd::Outcome outcome(const Exchange& exchange) const {
    if (exchange.error == Exchange::Error::timeout) {
      return hookd::Outcome::retry(exchange.message + " (timeout " +
                                   std::to_string(settings_.timeout.count()) + "ms)");
    }
    if (exchange.error != Exchange::Error::none) return hookd::Outcome::retry(exchange.message);
    const Response& r = exchange.response;
    std::string message = "HTTP " + std::to_string(r.status);
    if (!r.reason.empty()) message += " " + body_excerpt(r.reason);
    message += " from " + settings_.url.host_header;
    if (r.status >= 200 && r.status < 300) return hookd::Outcome::ok(message);
    if (!r.body.empty()) message += ": " + body_excerpt(r.body);
    if (r.status == 429 || r.status >= 500) {
      return hookd::Outcome::retry(message, retry_after(r));
    }
    if (r.status >= 300 && r.status < 400) message += " (redirects are not followed)";
    return hookd::Outcome::fail(message);
  }

  Settings settings_;
  Client client_;
};

}  // namespace
}  // namespace hookd::plugins::forward

HOOKD_PLUGIN(hookd::plugins::forward::Forward, "forward")
