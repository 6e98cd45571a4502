// The forward plugin's header rules; see header_rules.hpp.
#include "header_rules.hpp"

namespace hookd::plugins::forward {
namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

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

bool dropped_header(std::string_view lower) {
  return one_of(lower, {"host", "content-length", "connection", "transfer-encoding", "keep-alive",
                        "te", "trailer", "upgrade", "expect", "accept-encoding", "proxy-connection",
                        "authorization", "cookie", "proxy-authorization"});
}

bool own_header(std::string_view lower) {
  return one_of(lower, {"x-hookd-event-id", "x-hookd-route", "x-hookd-attempt"});
}

bool signature_header(std::string_view lower) {
  return one_of(lower, {"webhook-id", "webhook-timestamp", "webhook-signature", "svix-id",
                        "svix-timestamp", "svix-signature", "x-hub-signature",
                        "x-hub-signature-256", "stripe-signature", "x-slack-signature",
                        "x-slack-request-timestamp", "x-shopify-hmac-sha256", "x-twilio-signature",
                        "x-twilio-email-event-webhook-signature",
                        "x-twilio-email-event-webhook-timestamp"}) ||
         lower.substr(0, 21) == "x-docusign-signature-";
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!token_char(c)) return false;
  }
  return true;
}

bool valid_value(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string safe_value(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

}  // namespace hookd::plugins::forward
