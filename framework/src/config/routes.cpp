// The routes section: each route's name, path, test flag, auth, event id/type fields and handlers,
// and the checks across routes (unique names and paths).
#include <algorithm>

#include "sections.hpp"

namespace hookd::config {
namespace {

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// RFC 9110 token characters, what an HTTP header name is made of.
bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Why `path` is not a route path, or empty when it is one.
std::string bad_path(std::string_view path) {
  if (!path.starts_with('/')) return "must start with '/'";
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return "must not contain spaces or control characters";
    if (c == '?' || c == '#') {
      return "must not contain '?' or '#' (routes match the path without the query)";
    }
  }
  return {};
}

// Why `pointer` is not an RFC 6901 JSON pointer usable for an event field, or empty.
std::string bad_pointer(std::string_view pointer) {
  if (!pointer.starts_with('/')) return "a JSON pointer must start with '/'";
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' &&
        (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) {
      return "invalid JSON pointer: '~' must be followed by 0 or 1 (RFC 6901)";
    }
  }
  return {};
}

}  // namespace

void read_field_ref(Reader& r, const Entry& e, FieldRef& out) {
  auto v = r.scalar(e, "header:NAME or json:/pointer");
  if (!v) return;
  const std::string& text = v->text;
  FieldRef ref;
  ref.text = text;
  std::string why;
  if (text.starts_with("header:")) {
    ref.kind = FieldRef::Kind::header;
    ref.name = text.substr(7);
    if (ref.name.empty() || !std::all_of(ref.name.begin(), ref.name.end(), token_char)) {
      why = "a header name must be a non-empty HTTP token";
    }
  } else if (text.starts_with("json:")) {
    ref.kind = FieldRef::Kind::json;
    ref.name = text.substr(5);
    why = bad_pointer(ref.name);
  } else {
    why = "expected header:NAME or json:/pointer";
  }
  if (!why.empty()) {
    r.error(e.mark(), e.path + ": " + why + ", got " + v->shown());
    return;
  }
  out = std::move(ref);
}

namespace {

// What the checks across routes need to know of one route.
struct RouteSeen {
  std::string label;  // "route 'jofi'"; "routes[0]" when the name is unknown or substituted
  std::string name;   // empty when missing or invalid
  Location name_at;
  std::string path;  // empty when missing or invalid
  Location path_at;
};

void read_name(Reader& r, const Entry& e, RouteConfig& route, RouteSeen& seen) {
  auto value = r.scalar(e, "a route name");
  if (!value) return;
  if (value->text.empty() || !std::all_of(value->text.begin(), value->text.end(), name_char)) {
    r.error(e.mark(),
            e.path + ": a route name is letters, digits, '_', '.' and '-', got " + value->shown());
    return;
  }
  route.name = seen.name = value->text;
  seen.name_at = r.location(e.mark());
  if (!value->substituted) seen.label = "route '" + value->text + "'";
}

void read_path(Reader& r, const Entry& e, RouteConfig& route, RouteSeen& seen) {
  auto value = r.scalar(e, "a path like /webhooks/incoming/NAME");
  if (!value) return;
  if (auto why = bad_path(value->text); !why.empty()) {
    r.error(e.mark(), e.path + ": " + why + ", got " + value->shown());
    return;
  }
  route.path = seen.path = value->text;
  seen.path_at = r.location(e.mark());
}

void read_event(Reader& r, const Entry& e, EventConfig& out) {
  r.read_map(e, {
                    {"id", [&](const Entry& v) { read_field_ref(r, v, out.id); }},
                    {"type", [&](const Entry& v) { read_field_ref(r, v, out.type); }},
                });
}

FieldRef preset(FieldRef::Kind kind, std::string name) {
  std::string text = (kind == FieldRef::Kind::header ? "header:" : "json:") + name;
  return FieldRef{kind, std::move(name), std::move(text)};
}

// Schemes that define where the event id and type are fill them in, unless the route's
// own `event` says otherwise. The first item (depth first) with a preset wins.
bool find_preset(const std::vector<AuthItemConfig>& items, EventConfig& out) {
  using K = FieldRef::Kind;
  for (const auto& item : items) {
    std::string scheme;
    if (item.kind == AuthItemConfig::Kind::hmac) scheme = item.hmac.scheme;
    if (item.kind == AuthItemConfig::Kind::signature) scheme = item.signature.scheme;
    if (scheme == "github") {
      out = {preset(K::header, "X-GitHub-Delivery"), preset(K::header, "X-GitHub-Event")};
      return true;
    }
    if (scheme == "stripe") {
      out = {preset(K::json, "/id"), preset(K::json, "/type")};
      return true;
    }
    if (scheme == "standard-webhooks") {
      out = {preset(K::header, "webhook-id"), preset(K::json, "/type")};
      return true;
    }
    if (item.kind == AuthItemConfig::Kind::any && find_preset(item.any, out)) return true;
  }
  return false;
}

void apply_presets(RouteConfig& route) {
  EventConfig p;
  if (!find_preset(route.auth.items, p)) return;
  if (!route.event.id.set()) route.event.id = p.id;
  if (!route.event.type.set()) route.event.type = p.type;
}

void read_route(Reader& r, const Entry& e, RouteConfig& route, RouteSeen& seen) {
  bool has_name = false, has_path = false, has_auth = false;
  seen.label = e.path;
  r.read_map(e, {
                    {"name",
                     [&](const Entry& v) {
                       has_name = true;
                       read_name(r, v, route, seen);
                     }},
                    {"path",
                     [&](const Entry& v) {
                       has_path = true;
                       read_path(r, v, route, seen);
                     }},
                    {"test", [&](const Entry& v) { r.read_bool(v, route.test); }},
                    {"auth",
                     [&](const Entry& v) {
                       has_auth = true;
                       read_auth(r, v, route.auth);
                     }},
                    {"event", [&](const Entry& v) { read_event(r, v, route.event); }},
                    {"handlers", [&](const Entry& v) { read_handlers(r, v, route.handlers); }},
                });
  apply_presets(route);
  if (!has_name) r.error(route.where, e.path + ": missing the required key 'name'");
  if (!has_path) r.error(route.where, e.path + ": missing the required key 'path'");
  if (!has_auth) {  // fail closed: an open route must say so
    r.error(route.where, seen.label + " has no auth (write `auth: none` for an open route)");
  }
}

}  // namespace

void read_routes(Reader& r, const Entry& e, std::vector<RouteConfig>& out) {
  if (e.value.IsNull()) return;  // `routes:` with nothing: a server without routes
  if (!e.value.IsSequence()) {
    r.error(e.mark(), e.path + ": expected a list of routes, got " + Reader::kind(e.value));
    return;
  }
  std::vector<RouteSeen> seen;
  std::size_t i = 0;
  for (const auto& item : e.value) {
    Entry entry{item, item.Mark(), e.path + "[" + std::to_string(i++) + "]"};
    if (!item.IsMap()) {
      r.error(entry.mark(), entry.path +
                                ": expected a route (a map with name, path and auth), got " +
                                Reader::kind(item));
      continue;
    }
    RouteConfig route;
    route.where = r.location(item.Mark());
    RouteSeen mine;
    read_route(r, entry, route, mine);
    for (const auto& other : seen) {
      if (!mine.name.empty() && mine.name == other.name) {
        r.error(mine.name_at, entry.path + ".name: another route has the same name (" +
                                  other.label + " at line " + std::to_string(other.name_at.line) +
                                  ")");
      }
      if (!mine.path.empty() && mine.path == other.path) {
        r.error(mine.path_at, entry.path + ".path: another route has the same path (" +
                                  other.label + " at line " + std::to_string(other.path_at.line) +
                                  ")");
      }
    }
    seen.push_back(std::move(mine));
    out.push_back(std::move(route));
  }
}

}  // namespace hookd::config
