// The routes section: required keys, auth, name/path rules, event field references and
// uniqueness across routes.
#include <boost/test/unit_test.hpp>

#include "helpers.hpp"

using namespace hookd::config;
using hookd::config::test::all_errors;
using hookd::config::test::load;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

namespace {

// One route with the given extra lines (indented as route keys).
std::string route(const std::string& lines) {
  return "routes:\n  - name: r\n" + lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_routes)

BOOST_AUTO_TEST_CASE(open_route) {
  auto c = load_ok(route("    path: /r\n    auth: none\n"));
  BOOST_REQUIRE_EQUAL(c.routes.size(), 1u);
  BOOST_TEST(c.routes[0].auth.open);
  BOOST_TEST(!c.routes[0].test);
}

BOOST_AUTO_TEST_CASE(route_without_auth) {
  auto e = one_error("routes:\n  - name: jofi\n    path: /webhooks/incoming/jofi\n");
  BOOST_TEST(e.str() ==
             "test.yaml:2:5: route 'jofi' has no auth (write `auth: none` for an open route)");
}

BOOST_AUTO_TEST_CASE(route_without_auth_named_by_substitution) {
  auto e = one_error("routes:\n  - name: ${env:N}\n    path: /x\n", {{"N", "hidden"}});
  BOOST_TEST(e.message == "routes[0] has no auth (write `auth: none` for an open route)");
}

BOOST_AUTO_TEST_CASE(auth_empty_list_is_refused) {
  auto f = one_error(route("    path: /r\n    auth: []\n"));
  BOOST_TEST(f.str() ==
             "test.yaml:4:11: routes[0].auth: an empty list would let anyone in; "
             "write `auth: none` for an open route");
}

BOOST_AUTO_TEST_CASE(auth_other_values) {
  auto e = one_error(route("    path: /r\n    auth: open\n"));
  BOOST_TEST(e.str() ==
             "test.yaml:4:11: routes[0].auth: expected `none` or a list of auth items, got 'open'");
  auto f = one_error(route("    path: /r\n    auth:\n"));
  BOOST_TEST(f.str() ==
             "test.yaml:4:5: routes[0].auth: expected `none` or a list of auth items, got nothing");
  auto g = one_error(route("    path: /r\n    auth: { basic: {} }\n"));
  BOOST_TEST(g.message == "routes[0].auth: expected `none` or a list of auth items, got a map");
}

BOOST_AUTO_TEST_CASE(missing_name_and_path) {
  auto r = load("routes:\n  - auth: none\n");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 2u);
  BOOST_TEST(r.errors[0].str() == "test.yaml:2:5: routes[0]: missing the required key 'name'");
  BOOST_TEST(r.errors[1].str() == "test.yaml:2:5: routes[0]: missing the required key 'path'");
  auto s = load("routes:\n  - {}\n");
  BOOST_TEST(s.errors.size() == 3u);
  BOOST_TEST(s.errors[2].message == "routes[0] has no auth (write `auth: none` for an open route)");
}

BOOST_AUTO_TEST_CASE(route_not_a_map) {
  auto e = one_error("routes:\n  - /webhooks/x\n");
  BOOST_TEST(e.str() ==
             "test.yaml:2:5: routes[0]: expected a route (a map with name, path and auth), got "
             "'/webhooks/x'");
}

BOOST_AUTO_TEST_CASE(bad_names) {
  for (const char* name : {"\"\"", "\"a b\"", "a/b", "\"ü\"", "a:b"}) {
    BOOST_TEST_INFO("name: " << name);
    auto e =
        one_error(std::string("routes:\n  - name: ") + name + "\n    path: /r\n    auth: none\n");
    BOOST_TEST(e.where.line == 2);
    BOOST_TEST(e.where.column == 11);
    BOOST_TEST(e.message.starts_with(
        "routes[0].name: a route name is letters, digits, '_', '.' and '-', got "));
  }
}

BOOST_AUTO_TEST_CASE(bad_paths) {
  struct Case {
    std::string path;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {"webhooks/x", "must start with '/'"},
           {"\"/a b\"", "must not contain spaces or control characters"},
           {"\"/a?x=1\"", "must not contain '?' or '#' (routes match the path without the query)"},
           {"\"/a#b\"", "must not contain '?' or '#' (routes match the path without the query)"},
       }) {
    BOOST_TEST_INFO("path: " << c.path);
    auto e = one_error(route("    path: " + c.path + "\n    auth: none\n"));
    BOOST_TEST(e.where.line == 3);
    BOOST_TEST(e.where.column == 11);
    BOOST_TEST(e.message.starts_with("routes[0].path: " + c.why + ", got '"));
  }
}

BOOST_AUTO_TEST_CASE(duplicate_route_path) {
  auto e = one_error(
      "routes:\n"
      "  - { name: a, path: /hook, auth: none }\n"
      "  - { name: b, path: /other, auth: none }\n"
      "  - name: c\n"
      "    path: /hook\n"
      "    auth: none\n");
  BOOST_TEST(
      e.str() ==
      "test.yaml:5:11: routes[2].path: another route has the same path (route 'a' at line 2)");
}

BOOST_AUTO_TEST_CASE(duplicate_route_name) {
  auto e = one_error(
      "routes:\n"
      "  - { name: a, path: /a, auth: none }\n"
      "  - { name: a, path: /b, auth: none }\n");
  BOOST_TEST(
      e.str() ==
      "test.yaml:3:13: routes[1].name: another route has the same name (route 'a' at line 2)");
}

BOOST_AUTO_TEST_CASE(event_field_refs) {
  auto c =
      load_ok(route("    path: /r\n    auth: none\n"
                    "    event: { id: \"header:X-GitHub-Delivery\", type: \"json:/a/~0b/0\" }\n"));
  const auto& ev = c.routes[0].event;
  BOOST_TEST((ev.id.kind == FieldRef::Kind::header));
  BOOST_TEST(ev.id.name == "X-GitHub-Delivery");
  BOOST_TEST(ev.id.text == "header:X-GitHub-Delivery");
  BOOST_TEST((ev.type.kind == FieldRef::Kind::json));
  BOOST_TEST(ev.type.name == "/a/~0b/0");
  BOOST_TEST(ev.type.text == "json:/a/~0b/0");
}

BOOST_AUTO_TEST_CASE(bad_event_field_refs) {
  struct Case {
    std::string value;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"\"header:\"", "a header name must be a non-empty HTTP token, got 'header:'"},
           {"\"header:X Id\"", "a header name must be a non-empty HTTP token, got 'header:X Id'"},
           {"\"header:X:Id\"", "a header name must be a non-empty HTTP token, got 'header:X:Id'"},
           {"\"json:\"", "a JSON pointer must start with '/', got 'json:'"},
           {"json:id", "a JSON pointer must start with '/', got 'json:id'"},
           {"json:/a~2",
            "invalid JSON pointer: '~' must be followed by 0 or 1 (RFC 6901), got "
            "'json:/a~2'"},
           {"json:/a~",
            "invalid JSON pointer: '~' must be followed by 0 or 1 (RFC 6901), got "
            "'json:/a~'"},
           {"/id", "expected header:NAME or json:/pointer, got '/id'"},
           {"query:id", "expected header:NAME or json:/pointer, got 'query:id'"},
       }) {
    BOOST_TEST_INFO("value: " << c.value);
    auto e =
        one_error(route("    path: /r\n    auth: none\n    event:\n      id: " + c.value + "\n"));
    BOOST_TEST(e.where.line == 6);
    BOOST_TEST(e.where.column == 11);
    BOOST_TEST(e.message == "routes[0].event.id: " + c.message);
  }
  auto e =
      one_error(route("    path: /r\n    auth: none\n    event: { id: json:/id, source: x }\n"));
  BOOST_TEST(e.message == "unknown key 'source' in routes[0].event");
}

BOOST_AUTO_TEST_CASE(test_flag) {
  auto c = load_ok(route("    path: /r\n    test: true\n    auth: none\n"));
  BOOST_TEST(c.routes[0].test);
  auto e = one_error(route("    path: /r\n    test: 1\n    auth: none\n"));
  BOOST_TEST(e.str() == "test.yaml:4:11: routes[0].test: expected true or false, got '1'");
}

BOOST_AUTO_TEST_CASE(many_routes_keep_their_order) {
  std::string yaml = "routes:\n";
  for (int i = 0; i < 20; ++i) {
    yaml += "  - { name: r" + std::to_string(i) + ", path: /r/" + std::to_string(i) +
            ", auth: none }\n";
  }
  auto c = load_ok(yaml);
  BOOST_REQUIRE_EQUAL(c.routes.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    BOOST_TEST(c.routes[static_cast<std::size_t>(i)].name == "r" + std::to_string(i));
    BOOST_TEST(c.routes[static_cast<std::size_t>(i)].where.line == i + 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
