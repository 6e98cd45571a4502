// load_string / load_file: a full config, defaults, unknown keys and wrong types at their
// exact line:col, YAML syntax errors, error order, and files that cannot be read.
#include "hookd/config/loader.hpp"

#include <boost/test/unit_test.hpp>

#include "helpers.hpp"
#include "temp_dir.hpp"

using namespace hookd::config;
using namespace std::chrono_literals;
using hookd::config::test::all_errors;
using hookd::config::test::fake_env;
using hookd::config::test::load;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

namespace {

const char* const full_config = R"(# like the contract's example, without later sections
server:
  listen:                           # a list this time
    - 0.0.0.0:8443
    - "[::]:8443"
  tls:
    cert: /etc/hookd/cert.pem
    key: /etc/hookd/key.pem
    self_signed: false
    min_version: "1.3"
  limits:
    max_body: 64KiB
    header_timeout: 5s
    body_timeout: 1500ms
    idle_timeout: 2m
    max_connections: 500
  io_threads: 4
  shutdown_grace: 0s
admin:
  listen: 127.0.0.1:9091
storage:
  path: /var/lib/hookd/hookd.db
  durability: normal
  batch: { max_events: 256, max_wait: 2ms }
  retention: { done: 1d, dead: 1h }
routes:
  - name: jofi
    path: /webhooks/incoming/jofi
    auth: none
    event:
      id: json:/id
      type: json:/type
  - name: jofi-test
    path: /webhooks/test/jofi
    test: true
    auth: none
    event: { id: header:X-Event-Id, type: "json:/data/a~1b" }
  - name: bare.route_2
    path: /hook
    auth: none
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(config_loader)

BOOST_AUTO_TEST_CASE(full_config_parses_into_the_struct) {
  auto r = load_string(full_config, "hookd.yaml", fake_env());
  BOOST_TEST_INFO(all_errors(r));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.notes.empty());
  const Config& c = *r.config;
  BOOST_TEST(c.file == "hookd.yaml");
  BOOST_TEST(c.server.listen == (std::vector<std::string>{"0.0.0.0:8443", "[::]:8443"}));
  BOOST_TEST(c.server.tls.cert == "/etc/hookd/cert.pem");
  BOOST_TEST(c.server.tls.key == "/etc/hookd/key.pem");
  BOOST_TEST(!c.server.tls.self_signed);
  BOOST_TEST(c.server.tls.min_version == "1.3");
  BOOST_TEST(c.server.limits.max_body == 64u * 1024);
  BOOST_TEST(c.server.limits.header_timeout == Duration(5s));
  BOOST_TEST(c.server.limits.body_timeout == Duration(1500ms));
  BOOST_TEST(c.server.limits.idle_timeout == Duration(2min));
  BOOST_TEST(c.server.limits.max_connections == 500u);
  BOOST_TEST(c.server.io_threads == 4u);
  BOOST_TEST(c.server.shutdown_grace.count() == 0);
  BOOST_TEST(c.admin.listen == std::vector<std::string>{"127.0.0.1:9091"});
  BOOST_TEST(c.storage.path == "/var/lib/hookd/hookd.db");
  BOOST_TEST((c.storage.durability == Durability::normal));
  BOOST_TEST(c.storage.batch.max_events == 256u);
  BOOST_TEST(c.storage.batch.max_wait == Duration(2ms));
  BOOST_TEST(c.storage.retention.done == Duration(24h));
  BOOST_TEST(c.storage.retention.dead == Duration(1h));

  BOOST_REQUIRE_EQUAL(c.routes.size(), 3u);
  const auto& live = c.routes[0];
  BOOST_TEST(live.name == "jofi");
  BOOST_TEST(live.path == "/webhooks/incoming/jofi");
  BOOST_TEST(!live.test);
  BOOST_TEST(live.auth.open);
  BOOST_TEST((live.event.id.kind == FieldRef::Kind::json));
  BOOST_TEST(live.event.id.name == "/id");
  BOOST_TEST(live.event.id.text == "json:/id");
  BOOST_TEST((live.event.type.kind == FieldRef::Kind::json));
  BOOST_TEST(live.event.type.name == "/type");
  BOOST_TEST(live.where.file == "hookd.yaml");
  BOOST_TEST(live.where.line == 27);
  BOOST_TEST(live.where.column == 5);

  const auto& test_route = c.routes[1];
  BOOST_TEST(test_route.name == "jofi-test");
  BOOST_TEST(test_route.test);
  BOOST_TEST((test_route.event.id.kind == FieldRef::Kind::header));
  BOOST_TEST(test_route.event.id.name == "X-Event-Id");
  BOOST_TEST(test_route.event.id.text == "header:X-Event-Id");
  BOOST_TEST(test_route.event.type.name == "/data/a~1b");
  BOOST_TEST(test_route.where.line == 33);

  const auto& bare = c.routes[2];
  BOOST_TEST(bare.name == "bare.route_2");
  BOOST_TEST(!bare.event.id.set());
  BOOST_TEST(!bare.event.type.set());
}

BOOST_AUTO_TEST_CASE(empty_file_and_empty_sections_give_the_defaults) {
  Config defaults;
  for (const char* text : {"", "# only a comment\n", "server:\nadmin:\nstorage:\nroutes:\n",
                           "server: {}\nstorage: {}\n", "routes: []\n"}) {
    BOOST_TEST_INFO("input: " << text);
    auto c = load_ok(text);
    BOOST_TEST(c.server.listen == defaults.server.listen);
    BOOST_TEST(c.server.tls.cert == "data/tls/cert.pem");
    BOOST_TEST(c.server.tls.self_signed);
    BOOST_TEST(c.server.tls.min_version == "1.2");
    BOOST_TEST(c.server.limits.max_body == 1024u * 1024);
    BOOST_TEST(c.server.limits.header_timeout == Duration(10s));
    BOOST_TEST(c.server.io_threads == 0u);
    BOOST_TEST(c.server.shutdown_grace == Duration(30s));
    BOOST_TEST(c.admin.listen == std::vector<std::string>{"127.0.0.1:9090"});
    BOOST_TEST(c.storage.path == "data/hookd.db");
    BOOST_TEST((c.storage.durability == Durability::full));
    BOOST_TEST(c.storage.batch.max_events == 1024u);
    BOOST_TEST(c.storage.retention.dead == Duration(24h * 30));
    BOOST_TEST(c.routes.empty());
  }
}

BOOST_AUTO_TEST_CASE(admin_listen_empty_list_disables_it) {
  auto c = load_ok("admin:\n  listen: []\n");
  BOOST_TEST(c.admin.listen.empty());
  auto e = one_error("server:\n  listen: []\n");
  BOOST_TEST(e.str() == "test.yaml:2:11: server.listen: needs at least one address");
}

BOOST_AUTO_TEST_CASE(listen_ephemeral_port_and_v6) {
  auto c = load_ok(
      "server: { listen: \"127.0.0.1:0\" }\nadmin: { listen: [\"[::1]:0\", 127.0.0.1:0] }\n");
  BOOST_TEST(c.server.listen == std::vector<std::string>{"127.0.0.1:0"});
  BOOST_TEST(c.admin.listen.size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_listen_addresses) {
  auto r = load(
      "server:\n  listen: [0.0.0.0:8443, 0.0.0.0:70000, nope]\nadmin:\n  listen: 0.0.0.0:8443\n");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 3u);
  BOOST_TEST(r.errors[0].str() ==
             "test.yaml:2:26: server.listen[1]: expected host:port (0.0.0.0:8443, "
             "127.0.0.1:9090, [::]:8443, localhost:9090), got '0.0.0.0:70000'");
  BOOST_TEST(r.errors[1].where.column == 41);
  BOOST_TEST(r.errors[2].str() ==
             "test.yaml:4:11: admin.listen: the same address as server.listen[0]");
  auto e = one_error("server:\n  listen: { host: x }\n");
  BOOST_TEST(e.message == "server.listen: expected host:port or a list of them, got a map");
}

BOOST_AUTO_TEST_CASE(unknown_top_level_keys) {
  auto r = load(
      "server:\n  io_threads: 2\nworker:\n  threads: 4\nplugins: {}\nfrobnicate:\n  issuer: x\n");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 2u);
  BOOST_TEST(r.errors[0].str() == "test.yaml:3:1: unknown key 'worker' (did you mean 'workers'?)");
  BOOST_TEST(r.errors[1].str() == "test.yaml:6:1: unknown key 'frobnicate'");
  BOOST_TEST(!r.config.has_value());
}

BOOST_AUTO_TEST_CASE(unknown_nested_keys_at_exact_location) {
  auto e = one_error("server:\n  tls:\n    cert: a.pem\n    ciphers: ALL\n");
  BOOST_TEST(e.str() == "test.yaml:4:5: unknown key 'ciphers' in server.tls");
  auto f = one_error("storage:\n  batch: { max_events: 1, size: 2 }\n");
  BOOST_TEST(f.str() == "test.yaml:2:27: unknown key 'size' in storage.batch");
  auto g = one_error("routes:\n  - name: a\n    path: /a\n    auth: none\n    handler: []\n");
  BOOST_TEST(g.str() ==
             "test.yaml:5:5: unknown key 'handler' in routes[0] (did you mean 'handlers'?)");
}

BOOST_AUTO_TEST_CASE(near_miss_gets_a_suggestion) {
  auto e = one_error("server:\n  listne: 0.0.0.0:1\n");
  BOOST_TEST(e.message == "unknown key 'listne' in server (did you mean 'listen'?)");
  auto f = one_error("storag:\n  path: x\n");
  BOOST_TEST(f.message == "unknown key 'storag' (did you mean 'storage'?)");
}

BOOST_AUTO_TEST_CASE(duplicate_keys) {
  auto e = one_error("storage:\n  path: a\n  path: b\n");
  BOOST_TEST(e.str() == "test.yaml:3:3: duplicate key 'path' (first at line 2)");
}

BOOST_AUTO_TEST_CASE(wrong_types) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  std::vector<Case> cases{
      {"storage:\n  batch:\n    max_events: abc\n",
       "test.yaml:3:17: storage.batch.max_events: expected a positive integer, got 'abc'"},
      {"storage:\n  batch:\n    max_events: 0\n",
       "test.yaml:3:17: storage.batch.max_events: expected a positive integer, got '0'"},
      {"storage:\n  batch:\n    max_events: -5\n",
       "test.yaml:3:17: storage.batch.max_events: expected a positive integer, got '-5'"},
      {"server:\n  io_threads: yes\n",
       "test.yaml:2:15: server.io_threads: expected a non-negative integer, got 'yes'"},
      {"server:\n  io_threads: 1.5\n",
       "test.yaml:2:15: server.io_threads: expected a non-negative integer, got '1.5'"},
      {"server:\n  io_threads: 5000\n",
       "test.yaml:2:15: server.io_threads: must be at most 1024, got '5000'"},
      {"server:\n  limits:\n    max_connections: 99999999999999999999999\n",
       "test.yaml:3:22: server.limits.max_connections: expected a positive integer, got "
       "'99999999999999999999999'"},
      {"server:\n  tls:\n    self_signed: yes\n",
       "test.yaml:3:18: server.tls.self_signed: expected true or false, got 'yes'"},
      {"server:\n  tls:\n    cert: [a, b]\n",
       "test.yaml:3:11: server.tls.cert: expected a string, got a list"},
      {"server:\n  tls:\n    cert:\n",
       "test.yaml:3:5: server.tls.cert: expected a string, got nothing"},
      {"server:\n  tls:\n    cert: \"\"\n", "test.yaml:3:11: server.tls.cert: must not be empty"},
      {"server:\n  tls:\n    min_version: 1.1\n",
       "test.yaml:3:18: server.tls.min_version: expected \"1.2\" or \"1.3\", got '1.1'"},
      {"server:\n  tls: on\n", "test.yaml:2:8: server.tls: expected a map, got 'on'"},
      {"server:\n  limits:\n    max_body: 0\n",
       "test.yaml:3:15: server.limits.max_body: must be at least 1 byte, got '0'"},
      {"server:\n  limits:\n    max_body: 1GiB\n",
       "test.yaml:3:15: server.limits.max_body: must be at most 1000000000 bytes, got '1GiB'"},
      {"server:\n  limits:\n    max_body: 1MB\n",
       "test.yaml:3:15: server.limits.max_body: expected a size like 1048576, 64KiB or 1MiB, "
       "got '1MB'"},
      {"server:\n  limits:\n    body_timeout: 30\n",
       "test.yaml:3:19: server.limits.body_timeout: a duration needs a unit (ms, s, m, h or d), "
       "got '30'"},
      {"server:\n  limits:\n    body_timeout: 0s\n",
       "test.yaml:3:19: server.limits.body_timeout: must be greater than 0, got '0s'"},
      {"server:\n  limits:\n    idle_timeout: soon\n",
       "test.yaml:3:19: server.limits.idle_timeout: expected a duration like 500ms, 10s, 5m, 1h "
       "or 7d, got 'soon'"},
      {"server:\n  shutdown_grace: 99999999999999999d\n",
       "test.yaml:2:19: server.shutdown_grace: duration too large, got '99999999999999999d'"},
      {"server:\n  shutdown_grace: {a: 1}\n",
       "test.yaml:2:19: server.shutdown_grace: expected a duration like 500ms, 10s, 5m, 1h or 7d, "
       "got a map"},
      {"storage:\n  durability: fast\n",
       "test.yaml:2:15: storage.durability: expected full or normal, got 'fast'"},
      {"storage:\n  retention: { done: 0d }\n",
       "test.yaml:2:22: storage.retention.done: must be greater than 0, got '0d'"},
      {"storage: data.db\n", "test.yaml:1:10: storage: expected a map, got 'data.db'"},
      {"- a\n- b\n",
       "test.yaml:1:1: expected a map of sections (server, admin, storage, routes) at the top "
       "level, got a list"},
      {"routes: {a: 1}\n", "test.yaml:1:9: routes: expected a list of routes, got a map"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_INFO("yaml:\n" << c.yaml);
    auto e = one_error(c.yaml);
    BOOST_TEST(e.str() == c.error);
  }
}

BOOST_AUTO_TEST_CASE(zero_durations_where_allowed) {
  auto c = load_ok("server: { shutdown_grace: 0 }\nstorage: { batch: { max_wait: 0ms } }\n");
  BOOST_TEST(c.server.shutdown_grace.count() == 0);
  BOOST_TEST(c.storage.batch.max_wait.count() == 0);
}

BOOST_AUTO_TEST_CASE(yaml_syntax_error_location) {
  auto e = one_error("server:\n  listen: [0.0.0.0:1\nadmin: {}\n");
  BOOST_TEST(e.where.file == "test.yaml");
  BOOST_TEST(e.where.line == 3);
  BOOST_TEST(e.where.column == 6);
  BOOST_TEST(e.message == "invalid YAML: end of sequence flow not found");

  auto f = one_error("server:\n  tls: a: b\n");
  BOOST_TEST(f.str() == "test.yaml:2:9: invalid YAML: illegal map value");

  auto g = one_error("server:\n  io_threads: 1\n\tadmin: {}\n");
  BOOST_TEST(g.where.line == 3);
  BOOST_TEST(g.where.column == 1);
}

BOOST_AUTO_TEST_CASE(second_document_is_an_error) {
  auto e = one_error("server:\n  io_threads: 1\n---\nstorage: {}\n");
  BOOST_TEST(e.where.line == 4);
  BOOST_TEST(e.message.find("second YAML document") != std::string::npos);
  // yaml-cpp reads a stray dedent as the start of a new document.
  auto f = one_error("  server: {}\n admin: {}\n");
  BOOST_TEST(f.where.line == 2);
}

// yaml-cpp's LoadAll never returns on these (found by the config fuzzer): the loader must
// answer with an error instead of hanging `hookd check` or a reload.
BOOST_AUTO_TEST_CASE(document_yaml_cannot_start_is_an_error) {
  for (const char* text : {",", " ,\n", "# comment\n,\nserver: {}\n"}) {
    auto r = load(text);
    BOOST_TEST(!r.ok(), text);
  }
}

BOOST_AUTO_TEST_CASE(all_errors_in_file_order) {
  auto r = load(
      "storage:\n"
      "  durability: sometimes\n"
      "  batch: { max_events: x, max_wait: y }\n"
      "server:\n"
      "  bogus: 1\n"
      "  limits: { max_body: huge }\n"
      "routes:\n"
      "  - name: a\n"
      "    path: /a\n"
      "  - name: b\n"
      "    path: /b\n"
      "    auth: none\n"
      "    event: { id: query:x }\n");
  BOOST_TEST_INFO(all_errors(r));
  BOOST_REQUIRE_EQUAL(r.errors.size(), 7u);
  std::vector<std::string> where;
  for (const auto& e : r.errors) {
    where.push_back(std::to_string(e.where.line) + ":" + std::to_string(e.where.column));
  }
  std::vector<std::string> expected{"2:15", "3:24", "3:37", "5:3", "6:23", "8:5", "13:18"};
  BOOST_TEST(where == expected, boost::test_tools::per_element());
  BOOST_TEST(r.errors[5].message == "route 'a' has no auth (write `auth: none` for an open route)");
}

BOOST_AUTO_TEST_CASE(error_str_format) {
  ConfigError e{Location{"conf/hookd.yaml", 12, 7}, "unknown key 'x'"};
  BOOST_TEST(e.str() == "conf/hookd.yaml:12:7: unknown key 'x'");
}

BOOST_AUTO_TEST_CASE(load_file_reads_the_file) {
  hookd::test::TempDir dir;
  auto path = dir.write("hookd.yaml", "storage:\n  path: ${env:DB}\n");
  auto r = load_file(path, fake_env({{"DB", "x.db"}}));
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.config->file == path);
  BOOST_TEST(r.config->storage.path == "x.db");

  auto bad = dir.write("bad.yaml", "storage:\n  nope: 1\n");
  auto b = load_file(bad, fake_env());
  BOOST_REQUIRE_EQUAL(b.errors.size(), 1u);
  BOOST_TEST(b.errors[0].str() == bad + ":2:3: unknown key 'nope' in storage");
}

BOOST_AUTO_TEST_CASE(load_file_missing) {
  hookd::test::TempDir dir;
  auto path = dir.file("absent.yaml");
  auto r = load_file(path, fake_env());
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(!r.config.has_value());
  BOOST_TEST(r.errors[0].str() == path + ":0:0: cannot read file: No such file or directory");
}

BOOST_AUTO_TEST_SUITE_END()
