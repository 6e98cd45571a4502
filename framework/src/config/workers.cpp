// The workers and plugins sections and a route's `handlers` list: thread count, timeouts,
// the retry policy and its per-handler overrides, plugin libraries, their config blocks and
// the environment variables their hosts get.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "hookd/plugin/environment.hpp"
#include "sections.hpp"

namespace hookd::config {
namespace {

constexpr std::uint64_t max_threads = 1024;
constexpr std::uint64_t max_attempts_limit = 1000;

void read_jitter(Reader& r, const Entry& e, std::optional<RetryConfig::Jitter>& out) {
  auto value = r.scalar(e, "full or none");
  if (!value) return;
  if (value->text == "full") {
    out = RetryConfig::Jitter::full;
  } else if (value->text == "none") {
    out = RetryConfig::Jitter::none;
  } else {
    r.error(e.mark(), e.path + ": expected full or none, got " + value->shown());
  }
}

void read_multiplier(Reader& r, const Entry& e, std::optional<double>& out) {
  auto value = r.scalar(e, "a number from 1 to 10");
  if (!value) return;
  char* end = nullptr;
  double d = std::strtod(value->text.c_str(), &end);
  if (value->text.empty() || end != value->text.c_str() + value->text.size() || !std::isfinite(d) ||
      d < 1.0 || d > 10.0) {
    r.error(e.mark(), e.path + ": expected a number from 1 to 10, got " + value->shown());
    return;
  }
  out = d;
}

template <class T>
void read_optional_duration(Reader& r, const Entry& e, std::optional<T>& out) {
  Duration d{-1};
  r.read_duration(e, d, true);
  if (d.count() >= 0) out = d;
}

void read_retry(Reader& r, const Entry& e, RetryOverride& out) {
  r.read_map(e, {
                    {"max_attempts",
                     [&](const Entry& v) {
                       std::uint64_t n = 0;
                       r.read_count(v, n, 1, max_attempts_limit);
                       if (n > 0) out.max_attempts = static_cast<std::uint32_t>(n);
                     }},
                    {"initial_backoff",
                     [&](const Entry& v) { read_optional_duration(r, v, out.initial_backoff); }},
                    {"max_backoff",
                     [&](const Entry& v) { read_optional_duration(r, v, out.max_backoff); }},
                    {"multiplier", [&](const Entry& v) { read_multiplier(r, v, out.multiplier); }},
                    {"jitter", [&](const Entry& v) { read_jitter(r, v, out.jitter); }},
                });
}

// A type filter: "*", an exact event type, or "prefix.*". Why it is not one, or empty.
std::string bad_type_pattern(std::string_view p) {
  if (p.empty()) return "an event type pattern must not be empty";
  const auto star = p.find('*');
  if (star == std::string_view::npos || p == "*") return {};
  if (star != p.size() - 1 || p.size() < 3 || p[p.size() - 2] != '.') {
    return "'*' only stands alone or ends a prefix as in \"invitation.*\"";
  }
  return {};
}

void read_types(Reader& r, const Entry& e, std::vector<std::string>& out) {
  if (!e.value.IsSequence() && !e.value.IsScalar()) {
    r.error(e.mark(), e.path + ": expected a list of event types, got " + Reader::kind(e.value));
    return;
  }
  for (auto& [value, entry] : r.read_string_list(e)) {
    if (auto why = bad_type_pattern(value.text); !why.empty()) {
      r.error(entry.mark(), entry.path + ": " + why + ", got " + value.shown());
      continue;
    }
    out.push_back(value.text);
  }
}

void read_handler(Reader& r, const Entry& e, HandlerConfig& h) {
  bool has_plugin = false, has_types = false;
  r.read_map(e, {
                    {"plugin",
                     [&](const Entry& v) {
                       has_plugin = true;
                       r.read_string(v, h.plugin);
                     }},
                    {"types",
                     [&](const Entry& v) {
                       has_types = true;
                       read_types(r, v, h.types);
                     }},
                    {"concurrency",
                     [&](const Entry& v) {
                       std::uint64_t n = 0;
                       r.read_count(v, n, 1, max_threads);
                       h.concurrency = static_cast<std::uint32_t>(n);
                     }},
                    {"ordered_by", [&](const Entry& v) { read_field_ref(r, v, h.ordered_by); }},
                    {"retry", [&](const Entry& v) { read_retry(r, v, h.retry_override); }},
                    // A common mistake, answered with where the key belongs.
                    {"config",
                     [&](const Entry& v) {
                       r.error(v.key_mark,
                               v.path + ": a handler has no config of its own; a plugin's "
                                        "config goes under plugins.NAME.config (NAME being "
                                        "this handler's plugin)");
                     }},
                });
  if (!has_plugin) r.error(h.where, e.path + ": missing the required key 'plugin'");
  if (!has_types) {
    r.error(h.where, e.path + ": missing the required key 'types' (\"*\" for every event)");
  }
}

// Copies `node` with every scalar resolved (${env:...}, ${file:...}) by the reader.
YAML::Node substituted(Reader& r, const Entry& e) {
  const YAML::Node& n = e.value;
  if (n.IsScalar()) {
    auto v = r.scalar(e, "a value");
    return YAML::Node(v ? v->text : std::string());
  }
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    std::size_t i = 0;
    for (const auto& item : n) {
      out.push_back(
          substituted(r, Entry{item, item.Mark(), e.path + "[" + std::to_string(i++) + "]"}));
    }
    return out;
  }
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      out[key] = substituted(r, Entry{kv.second, kv.first.Mark(), e.path + "." + key});
    }
    return out;
  }
  return YAML::Node();
}

}  // namespace

void read_plugin_config(Reader& r, const Entry& e, std::string& out) {
  if (e.value.IsNull()) return;
  if (!e.value.IsMap()) {
    r.error(e.mark(), e.path + ": expected a map (the plugin's own settings), got " +
                          Reader::kind(e.value));
    return;
  }
  YAML::Emitter emitter;
  emitter << substituted(r, e);
  out = emitter.c_str();
}

namespace {

void read_isolation(Reader& r, const Entry& e, Isolation& out) {
  auto value = r.scalar(e, "process or thread");
  if (!value) return;
  if (value->text == "process") {
    out = Isolation::process;
  } else if (value->text == "thread") {
    out = Isolation::thread;
  } else {
    r.error(e.mark(), e.path + ": expected process or thread, got " + value->shown());
  }
}

// `env`: names of hookd's environment variables to pass on. A string that cannot be a
// name ("FOO=bar", "$FOO") would silently pass nothing, so it is an error.
void read_env_names(Reader& r, const Entry& e, PluginConfig& p) {
  p.env_where = r.location(e.mark());
  if (e.value.IsNull()) return;
  if (!e.value.IsSequence() && !e.value.IsScalar()) {
    r.error(e.mark(), e.path + ": expected a list of environment variable names, got " +
                          Reader::kind(e.value));
    return;
  }
  for (auto& [value, entry] : r.read_string_list(e)) {
    if (!plugin::is_variable_name(value.text)) {
      r.error(entry.mark(), entry.path +
                                ": expected an environment variable name (letters, digits and "
                                "'_', not starting with a digit), got " +
                                value.shown());
    } else if (std::find(p.env.begin(), p.env.end(), value.text) != p.env.end()) {
      r.error(entry.mark(), entry.path + ": " + value.shown() + " is listed twice");
    } else {
      p.env.push_back(value.text);
    }
  }
}

void read_plugin(Reader& r, const Entry& e, PluginConfig& p) {
  bool has_library = false;
  r.read_map(e, {
                    {"isolation",
                     [&](const Entry& v) {
                       Isolation i = Isolation::process;
                       read_isolation(r, v, i);
                       p.isolation = i;
                     }},
                    {"memory_limit",
                     [&](const Entry& v) {
                       std::size_t n = 0;
                       // Below 64 MiB a host cannot even load a C++ library and its threads.
                       r.read_size(v, n, 64ull << 20, std::numeric_limits<std::uint64_t>::max());
                       p.memory_limit = n;
                     }},
                    {"cpu_limit", [&](const Entry& v) { r.read_duration(v, p.cpu_limit, true); }},
                    {"env", [&](const Entry& v) { read_env_names(r, v, p); }},
                    {"library",
                     [&](const Entry& v) {
                       has_library = true;
                       r.read_string(v, p.library);
                     }},
                    {"config", [&](const Entry& v) { read_plugin_config(r, v, p.config_yaml); }},
                });
  if (!has_library) r.error(p.where, e.path + ": missing the required key 'library'");
}

}  // namespace

RetryConfig RetryOverride::apply(RetryConfig base) const {
  if (max_attempts) base.max_attempts = *max_attempts;
  if (initial_backoff) base.initial_backoff = *initial_backoff;
  if (max_backoff) base.max_backoff = *max_backoff;
  if (multiplier) base.multiplier = *multiplier;
  if (jitter) base.jitter = *jitter;
  return base;
}

bool HandlerConfig::matches(std::string_view type) const {
  for (const std::string& p : types) {
    if (p == "*") return true;
    if (p.ends_with(".*")) {
      // "invitation.*" matches "invitation.created" but not "invitation" itself.
      std::string_view prefix(p.data(), p.size() - 1);
      if (type.size() > prefix.size() && type.starts_with(prefix)) return true;
    } else if (type == p) {
      return true;
    }
  }
  return false;
}

void read_workers(Reader& r, const Entry& e, WorkersConfig& out, RetryOverride& retry) {
  r.read_map(e, {
                    {"threads",
                     [&](const Entry& v) {
                       std::uint64_t n = out.threads;
                       r.read_count(v, n, 1, max_threads);
                       out.threads = static_cast<std::uint32_t>(n);
                     }},
                    {"handler_timeout",
                     [&](const Entry& v) { r.read_duration(v, out.handler_timeout, true); }},
                    {"retry", [&](const Entry& v) { read_retry(r, v, retry); }},
                    {"isolation", [&](const Entry& v) { read_isolation(r, v, out.isolation); }},
                    {"max_crashes",
                     [&](const Entry& v) {
                       std::uint64_t n = out.max_crashes;
                       r.read_count(v, n, 1, max_attempts_limit);
                       out.max_crashes = static_cast<std::uint32_t>(n);
                     }},
                });
}

void read_plugins(Reader& r, const Entry& e, std::vector<PluginConfig>& out) {
  if (e.value.IsNull()) return;
  if (!e.value.IsMap()) {
    r.error(e.mark(), e.path + ": expected a map of plugin name → {library, config}, got " +
                          Reader::kind(e.value));
    return;
  }
  for (const auto& kv : e.value) {
    PluginConfig p;
    p.name = kv.first.as<std::string>();
    p.where = r.location(kv.first.Mark());
    Entry entry{kv.second, kv.first.Mark(), e.path + "." + p.name};
    if (p.name.empty() || p.name.find_first_of(" \t/:") != std::string::npos) {
      r.error(p.where, entry.path + ": a plugin name must not be empty or hold spaces, '/' or ':'");
      continue;
    }
    read_plugin(r, entry, p);
    out.push_back(std::move(p));
  }
}

void read_handlers(Reader& r, const Entry& e, std::vector<HandlerConfig>& out) {
  if (e.value.IsNull()) return;
  if (!e.value.IsSequence()) {
    r.error(e.mark(), e.path + ": expected a list of handlers, got " + Reader::kind(e.value));
    return;
  }
  std::size_t i = 0;
  for (const auto& item : e.value) {
    Entry entry{item, item.Mark(), e.path + "[" + std::to_string(i++) + "]"};
    HandlerConfig h;
    h.where = r.location(item.Mark());
    read_handler(r, entry, h);
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const HandlerConfig& o) { return o.plugin == h.plugin; });
    if (!h.plugin.empty() && same != out.end()) {
      r.error(h.where, entry.path + ": plugin '" + h.plugin +
                           "' is already a handler of this "
                           "route (line " +
                           std::to_string(same->where.line) + "); list its types once");
    }
    out.push_back(std::move(h));
  }
}

void resolve_handlers(Reader& r, Config& config, const RetryOverride& global_retry) {
  config.workers.retry = global_retry.apply(config.workers.retry);
  for (auto& route : config.routes) {
    for (auto& h : route.handlers) {
      h.retry = h.retry_override.apply(config.workers.retry);
      if (h.retry.max_backoff < h.retry.initial_backoff) {
        r.error(h.where, "route '" + route.name + "', handler '" + h.plugin +
                             "': retry.max_backoff is shorter than initial_backoff");
      }
      if (h.plugin.empty()) continue;
      auto known = std::find_if(config.plugins.begin(), config.plugins.end(),
                                [&](const PluginConfig& p) { return p.name == h.plugin; });
      if (known == config.plugins.end()) {
        r.error(h.where, "route '" + route.name + "': handler plugin '" + h.plugin +
                             "' is not in the `plugins` section");
      }
    }
  }
  if (config.workers.retry.max_backoff < config.workers.retry.initial_backoff) {
    r.error(Location{r.file(), 1, 1}, "workers.retry.max_backoff is shorter than initial_backoff");
  }
  // Not an error: switching a plugin to thread isolation (to debug it, say) should not make
  // the operator delete its env list first.
  for (const PluginConfig& p : config.plugins) {
    if (p.env.empty() || p.isolation_or(config.workers.isolation) != Isolation::thread) continue;
    r.note("plugins." + p.name + ".env (" + p.env_where.file + ":" +
           std::to_string(p.env_where.line) + ":" + std::to_string(p.env_where.column) +
           ") has no effect: under isolation: thread the plugin runs in hookd's own process "
           "and sees all of its environment");
  }
}

}  // namespace hookd::config
