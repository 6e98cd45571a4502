// Reading a bundled plugin's YAML config block; see plugin_config.hpp.
#include "plugin_config.hpp"

#include <algorithm>

#include "hookd/config/units.hpp"

namespace hookd::plugins {
namespace {

void check_keys(const PluginConfig& self, const YAML::Node& root,
                std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      self.fail(key, "unknown key (expected one of: " + list + ")");
    }
  }
}

}  // namespace

PluginConfig::PluginConfig(std::string_view plugin, std::string_view yaml,
                           std::initializer_list<std::string_view> allowed)
    : plugin_(plugin) {
  try {
    root_ = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(plugin_ + ": config: " + e.what());
  }
  if (root_.IsNull() || !root_.IsDefined()) root_ = YAML::Node(YAML::NodeType::Map);
  if (!root_.IsMap()) throw ConfigError(plugin_ + ": config: expected a map");
  check_keys(*this, root_, allowed);
}

PluginConfig::PluginConfig(std::string_view plugin, std::string key, YAML::Node node,
                           std::initializer_list<std::string_view> allowed)
    : plugin_(plugin), prefix_(key + ".") {
  if (!node.IsMap()) throw ConfigError(plugin_ + ": " + key + ": expected a map");
  root_ = node;
  check_keys(*this, root_, allowed);
}

void PluginConfig::fail(const std::string& key, const std::string& why) const {
  throw ConfigError(plugin_ + ": " + prefix_ + key + ": " + why);
}

bool PluginConfig::has(const std::string& key) const {
  return root_[key].IsDefined() && !root_[key].IsNull();
}

YAML::Node PluginConfig::node(const std::string& key) const {
  return root_[key];
}

std::string PluginConfig::string(const std::string& key) const {
  if (!has(key)) fail(key, "required");
  const YAML::Node n = root_[key];
  if (!n.IsScalar()) fail(key, "expected a string");
  std::string value = n.as<std::string>();
  if (value.empty()) fail(key, "must not be empty");
  return value;
}

std::string PluginConfig::string(const std::string& key, std::string fallback) const {
  return has(key) ? string(key) : fallback;
}

bool PluginConfig::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  try {
    return root_[key].as<bool>();
  } catch (const YAML::Exception&) {
    fail(key, "expected true or false");
  }
}

long long PluginConfig::integer(const std::string& key, long long fallback, long long min,
                                long long max) const {
  if (!has(key)) return fallback;
  long long value = 0;
  try {
    value = root_[key].as<long long>();
  } catch (const YAML::Exception&) {
    fail(key, "expected an integer");
  }
  if (value < min || value > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

std::chrono::milliseconds PluginConfig::duration(const std::string& key,
                                                 std::chrono::milliseconds fallback) const {
  if (!has(key)) return fallback;
  const YAML::Node n = root_[key];
  auto parsed = n.IsScalar() ? config::parse_duration(n.as<std::string>()) : std::nullopt;
  if (!parsed) fail(key, "expected a duration such as 500ms, 30s, 5m or 1h");
  return *parsed;
}

std::vector<std::string> PluginConfig::strings(const std::string& key) const {
  if (!has(key)) fail(key, "required");
  const YAML::Node n = root_[key];
  if (!n.IsSequence() || n.size() == 0) fail(key, "expected a non-empty list of strings");
  std::vector<std::string> out;
  for (const auto& item : n) {
    if (!item.IsScalar()) fail(key, "expected a non-empty list of strings");
    out.push_back(item.as<std::string>());
  }
  return out;
}

}  // namespace hookd::plugins
