// load_file / load_string: YAML text → Config, with every error of the file in file order.
// The sections themselves are read in sections.cpp and routes.cpp.
#include "hookd/config/loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "hookd/config/substitute.hpp"
#include "hookd/plugin/wire.hpp"
#include "sections.hpp"

namespace hookd::config {
namespace {

bool uses_self_issued_bearer(const std::vector<AuthItemConfig>& items, Location& where) {
  for (const auto& item : items) {
    if (item.kind == AuthItemConfig::Kind::bearer && item.bearer.self_issued) {
      where = item.where;
      return true;
    }
    if (item.kind == AuthItemConfig::Kind::any && uses_self_issued_bearer(item.any, where)) {
      return true;
    }
  }
  return false;
}

// A `bearer: {issuer: self}` with its own `audience` other than oauth.audience: the
// built-in endpoint writes `aud` = oauth.audience into every token, so that item would
// refuse them all.
void check_self_issued_audience(Reader& r, const std::vector<AuthItemConfig>& items,
                                const std::optional<OAuthConfig>& oauth) {
  for (const auto& item : items) {
    if (item.kind == AuthItemConfig::Kind::any) check_self_issued_audience(r, item.any, oauth);
    if (item.kind != AuthItemConfig::Kind::bearer || !item.bearer.self_issued ||
        item.bearer.audience.empty() || !oauth || item.bearer.audience == oauth->audience) {
      continue;
    }
    r.error(item.where, "bearer: {issuer: self}: audience '" + item.bearer.audience +
                            "' would refuse every token of the built-in endpoint, which "
                            "writes aud = oauth.audience ('" + oauth->audience +
                            "'); drop it, or set oauth.audience");
  }
}

// Whether a `server.listen` address ("127.0.0.1:8443", "[::1]:8443", "localhost:8443")
// takes connections from this machine only.
bool loopback_only(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// A listener beyond loopback with an inbound secret from a ${env:NAME:-default}: the default
// is text of the config file (the bundled one's `change-me` is published), so anyone who
// can reach the port could use it. One error per secret, at the secret.
void check_secret_defaults(Reader& r, const Config& config) {
  const auto open = std::find_if(config.server.listen.begin(), config.server.listen.end(),
                                 [](const std::string& a) { return !loopback_only(a); });
  if (open == config.server.listen.end()) return;
  for (const auto& d : r.secret_defaults()) {
    std::string names;
    for (const auto& name : d.variables) names += (names.empty() ? "" : ", ") + name;
    r.error(d.where, d.path + ": the secret is the default written in the config (" + names +
                         (d.variables.size() == 1 ? " is" : " are") +
                         " not set or empty), and server.listen " + *open +
                         " is not loopback: set " + names +
                         ", or listen on 127.0.0.1 only");
  }
}

// A plugin host is sent each event in one wire frame: a body above wire::kMaxCallBody could
// be stored but never delivered to a handler in a host. One error per handler.
void check_body_fits_hosts(Reader& r, const Config& config) {
  if (config.server.limits.max_body <= plugin::wire::kMaxCallBody) return;
  for (const auto& route : config.routes) {
    for (const auto& handler : route.handlers) {
      const auto plugin = std::find_if(config.plugins.begin(), config.plugins.end(),
                                       [&](const PluginConfig& p) { return p.name == handler.plugin; });
      if (plugin == config.plugins.end() ||
          plugin->isolation_or(config.workers.isolation) != Isolation::process) {
        continue;
      }
      r.error(handler.where,
              "route '" + route.name + "': plugin '" + handler.plugin +
                  "' runs in a plugin host (isolation: process), which is sent bodies of at "
                  "most " + std::to_string(plugin::wire::kMaxCallBody) +
                  " bytes, and server.limits.max_body is " +
                  std::to_string(config.server.limits.max_body) +
                  ": lower max_body, or run the plugin with isolation: thread");
    }
  }
}

// What no single section can check: references between routes and the oauth section,
// paths that two listeners' endpoints would share, secrets from defaults on a listener
// beyond loopback, and bodies a plugin host could not be sent.
void check_across_sections(Reader& r, const Config& config) {
  check_secret_defaults(r, config);
  check_body_fits_hosts(r, config);
  if (config.oauth) {
    for (const auto& client : config.oauth->clients) {
      if (!client.routes) continue;
      for (std::size_t i = 0; i < client.routes->size(); ++i) {
        const std::string& name = (*client.routes)[i];
        if (std::none_of(config.routes.begin(), config.routes.end(),
                         [&](const RouteConfig& route) { return route.name == name; })) {
          r.error(client.route_where[i],
                  "oauth client '" + client.id + "': no route is named '" + name + "'");
        }
      }
    }
  }
  for (const auto& route : config.routes) {
    check_self_issued_audience(r, route.auth.items, config.oauth);
    Location where;
    if (!config.oauth && uses_self_issued_bearer(route.auth.items, where)) {
      r.error(where, "`bearer: {issuer: self}` needs the top-level `oauth` section (the token "
                     "endpoint whose tokens it verifies)");
    }
    if (config.oauth &&
        (route.path == config.oauth->token_path || route.path == config.oauth->jwks_path)) {
      r.error(route.where, "route '" + route.name + "' uses the path " + route.path +
                               " of the oauth endpoint");
    }
  }
}

// Scope::store: the storage section, strictly, and each route's name; everything else is
// left unread (and so unresolved).
void read_store_scope(Reader& r, const YAML::Node& root, Config& config) {
  for (const auto& item : root) {
    const std::string key = item.first.Scalar();
    if (key == "storage") {
      read_storage(r, Entry{item.second, item.first.Mark(), "storage"}, config.storage);
    } else if (key == "routes" && item.second.IsSequence()) {
      for (std::size_t i = 0; i < item.second.size(); ++i) {
        const YAML::Node& route = item.second[i];
        if (!route.IsMap() || !route["name"]) continue;
        Entry name{route["name"], route.Mark(), "routes[" + std::to_string(i) + "].name"};
        RouteConfig out;
        r.read_string(name, out.name);
        config.routes.push_back(std::move(out));
      }
    }
  }
}

// Where each document's root node starts, for the "second document" message; builds
// nothing.
class DocumentRoots final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> roots;

  void OnDocumentStart(const YAML::Mark&) override { pending_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { root(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { root(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    root(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    root(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    root(mark);
  }
  void OnMapEnd() override {}

 private:
  void root(const YAML::Mark& mark) {
    if (pending_) roots.push_back(mark);
    pending_ = false;
  }
  bool pending_ = false;
};

// The one YAML document of a file; nullopt, after reporting, when it does not parse or
// holds more than one.
std::optional<YAML::Node> parse_document(Reader& r, std::string_view yaml) {
  const std::string text(yaml);
  YAML::Node document;
  try {
    // Not YAML::LoadAll: on a document that yaml-cpp 0.7 cannot start (a lone ",") each of
    // its rounds leaves the token where it was, so it loops forever, allocating (found by
    // the config fuzzer). Load reads the first document; two bounded rounds of the parser
    // only ask whether another one follows.
    document = YAML::Load(text);
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentRoots roots;
    parser.HandleNextDocument(roots);
    if (parser.HandleNextDocument(roots)) {
      // Often a stray dedent: yaml-cpp then starts a new document instead of failing.
      r.error(roots.roots.size() > 1 ? roots.roots[1] : document.Mark(),
              "a second YAML document starts here; a config file holds one (check the "
              "indentation)");
      return std::nullopt;
    }
  } catch (const YAML::Exception& e) {
    r.error(e.mark, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  return document;
}

}  // namespace

std::string ConfigError::str() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
         message;
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    // getenv is safe here as long as nothing calls setenv concurrently; hookd never does.
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

LoadResult load_file(const std::string& path, const Environment& env, Scope scope) {
  std::string why;
  auto text = read_text_file(path, why);
  if (!text) {
    LoadResult result;
    result.errors.push_back(ConfigError{Location{path, 0, 0}, "cannot read file: " + why});
    return result;
  }
  return load_string(*text, path, env, scope);
}

LoadResult load_string(std::string_view yaml, const std::string& file, const Environment& env,
                       Scope scope, const FileReader& files) {
  Reader r(file, env, files);
  Config config;
  config.file = file;
  const auto document = parse_document(r, yaml);
  if (document && !document->IsNull()) {
    const YAML::Node& root = *document;
    if (!root.IsMap()) {
      r.error(root.Mark(),
              "expected a map of sections (server, admin, storage, routes) at the "
              "top level, got " +
                  Reader::kind(root));
    } else {
      std::vector<ListenSeen> listeners;
      RetryOverride retry;
      try {
        if (scope == Scope::store) {
          read_store_scope(r, root, config);
        } else {
          r.read_map(
              Entry{root, root.Mark(), ""},
              {
                  {"server", [&](const Entry& v) { read_server(r, v, config.server, listeners); }},
                  {"admin", [&](const Entry& v) { read_admin(r, v, config.admin, listeners); }},
                  {"storage", [&](const Entry& v) { read_storage(r, v, config.storage); }},
                  {"log", [&](const Entry& v) { read_log(r, v, config.log); }},
                  {"routes", [&](const Entry& v) { read_routes(r, v, config.routes); }},
                  {"workers", [&](const Entry& v) { read_workers(r, v, config.workers, retry); }},
                  {"plugins", [&](const Entry& v) { read_plugins(r, v, config.plugins); }},
                  {"oauth",
                   [&](const Entry& v) {
                     config.oauth.emplace();
                     read_oauth(r, v, *config.oauth);
                   }},
              });
          resolve_handlers(r, config, retry);
          check_across_sections(r, config);
        }
      } catch (const YAML::Exception& e) {
        // Not expected: the readers check node types before they convert.
        r.error(e.mark, "invalid YAML: " + e.msg);
      }
    }
  }
  LoadResult result;
  result.errors = r.take_errors();
  result.notes = r.take_notes();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

PluginConfigText load_plugin_config_file(const std::string& path, const Environment& env) {
  PluginConfigText result;
  std::string why;
  const auto text = read_text_file(path, why);
  if (!text) {
    result.errors.push_back(ConfigError{Location{path, 0, 0}, "cannot read file: " + why});
    return result;
  }
  Reader r(path, env);
  std::string yaml;
  if (const auto document = parse_document(r, *text)) {
    try {
      read_plugin_config(r, Entry{*document, document->Mark(), "config"}, yaml);
    } catch (const YAML::Exception& e) {
      r.error(e.mark, "invalid YAML: " + e.msg);
    }
  }
  result.errors = r.take_errors();
  if (result.errors.empty()) result.yaml = std::move(yaml);
  return result;
}

}  // namespace hookd::config
