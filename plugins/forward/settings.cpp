// Reading the forward plugin's config; see settings.hpp.
#include "settings.hpp"

#include <stdexcept>

#include "header_rules.hpp"
#include "plugin_config.hpp"

namespace hookd::plugins::forward {
namespace {

https::Url read_url(const PluginConfig& config) {
  try {
    return https::parse_url(config.string("url"));
  } catch (const std::invalid_argument& e) {
    config.fail("url", e.what());
  }
}

void read_headers(const PluginConfig& config, Settings& s) {
  const YAML::Node node = config.node("headers");
  if (!node.IsMap()) config.fail("headers", "expected a map of header names to values");
  for (const auto& kv : node) {
    const std::string name = kv.first.IsScalar() ? kv.first.as<std::string>() : "";
    if (!valid_name(name)) config.fail("headers", "bad header name '" + name + "'");
    const std::string lower = to_lower(name);
    if (dropped_header(lower) && !one_of(lower, {"authorization", "cookie"})) {
      config.fail("headers." + name, "set by the plugin (or hop-by-hop), cannot be configured");
    }
    if (own_header(lower) || (s.signer && signature_header(lower))) {
      config.fail("headers." + name, "set by the plugin, cannot be configured");
    }
    if (!kv.second.IsScalar()) config.fail("headers." + name, "expected a string");
    const std::string value = kv.second.as<std::string>();
    if (!valid_value(value)) config.fail("headers." + name, "control characters in the value");
    s.headers.emplace_back(name, value);
  }
}

}  // namespace

Settings read_settings(std::string_view yaml) {
  const PluginConfig config("forward", yaml, {"url", "timeout", "ca_file", "headers", "resign"});
  Settings s;
  s.url = read_url(config);
  s.timeout = config.duration("timeout", s.timeout);
  if (s.timeout <= std::chrono::milliseconds(0)) {
    config.fail("timeout", "must be greater than zero");
  }
  s.ca_file = config.string("ca_file", "");
  if (config.has("resign")) {
    const PluginConfig resign("forward", "resign", config.node("resign"), {"secret"});
    try {
      s.signer = std::make_unique<Signer>(resign.string("secret"));
    } catch (const std::invalid_argument& e) {
      resign.fail("secret", e.what());
    }
  }
  if (config.has("headers")) read_headers(config, s);
  return s;
}

}  // namespace hookd::plugins::forward
