// ${env:...} / ${file:...} substitution: every form, escapes, errors, notes, and that a
// resolved value never shows up in an error message.
#include "hookd/config/substitute.hpp"

#include <boost/test/unit_test.hpp>

#include "helpers.hpp"
#include "temp_dir.hpp"

using namespace hookd::config;
using hookd::config::test::all_errors;
using hookd::config::test::fake_env;
using hookd::config::test::load;
using hookd::config::test::load_ok;
using hookd::config::test::one_error;

namespace {
const std::string secret = "s3cr3t-Value-42";
}

BOOST_AUTO_TEST_SUITE(config_substitute)

BOOST_AUTO_TEST_CASE(plain_text_is_unchanged) {
  auto s = substitute("data/hookd.db", fake_env());
  BOOST_TEST(s.value == "data/hookd.db");
  BOOST_TEST(!s.substituted);
  BOOST_TEST(s.errors.empty());
  BOOST_TEST(substitute("cost: $5 and $$ and $", fake_env()).value == "cost: $5 and $$ and $");
}

BOOST_AUTO_TEST_CASE(env_whole_and_inside_a_string) {
  auto env = fake_env({{"X", "abc"}, {"PORT", "8443"}});
  auto s = substitute("${env:X}", env);
  BOOST_TEST(s.value == "abc");
  BOOST_TEST(s.substituted);
  BOOST_TEST(substitute("prefix-${env:X}-suffix", env).value == "prefix-abc-suffix");
  BOOST_TEST(substitute("0.0.0.0:${env:PORT}", env).value == "0.0.0.0:8443");
  BOOST_TEST(substitute("${env:X}${env:X}", env).value == "abcabc");
}

BOOST_AUTO_TEST_CASE(env_set_but_empty_without_default_is_empty) {
  auto s = substitute("a${env:E}b", fake_env({{"E", ""}}));
  BOOST_TEST(s.errors.empty());
  BOOST_TEST(s.value == "ab");
}

BOOST_AUTO_TEST_CASE(env_default) {
  auto unset = substitute("${env:NOPE:-fallback}", fake_env());
  BOOST_TEST(unset.value == "fallback");
  BOOST_REQUIRE_EQUAL(unset.fallbacks.size(), 1u);
  BOOST_TEST(unset.fallbacks[0].name == "NOPE");
  BOOST_TEST(!unset.fallbacks[0].was_empty);

  auto set = substitute("${env:YES:-fallback}", fake_env({{"YES", "v"}}));
  BOOST_TEST(set.value == "v");
  BOOST_TEST(set.fallbacks.empty());

  // As in sh, `:-` also replaces an empty value.
  auto empty = substitute("${env:E:-d}", fake_env({{"E", ""}}));
  BOOST_TEST(empty.value == "d");
  BOOST_REQUIRE_EQUAL(empty.fallbacks.size(), 1u);
  BOOST_TEST(empty.fallbacks[0].was_empty);

  BOOST_TEST(substitute("${env:NOPE:-}", fake_env()).value == "");
  BOOST_TEST(substitute("${env:NOPE:-a:-b c}", fake_env()).value == "a:-b c");
}

BOOST_AUTO_TEST_CASE(env_missing_is_an_error) {
  auto s = substitute("x${env:MISSING}y", fake_env());
  BOOST_REQUIRE_EQUAL(s.errors.size(), 1u);
  BOOST_TEST(s.errors[0] == "environment variable MISSING is not set");
}

BOOST_AUTO_TEST_CASE(escape_gives_a_literal_reference) {
  auto s = substitute("$${env:X} and $${", fake_env({{"X", "abc"}}));
  BOOST_TEST(s.value == "${env:X} and ${");
  BOOST_TEST(!s.substituted);
  BOOST_TEST(s.errors.empty());
}

BOOST_AUTO_TEST_CASE(malformed_references) {
  for (const char* bad : {"${env:}", "${env:1X}", "${env:A-B}", "${file:}", "${foo}", "${}",
                          "${ENV:X}", "abc ${env:X", "${env:X:default}"}) {
    BOOST_TEST_INFO("input: '" << bad << "'");
    auto s = substitute(bad, fake_env({{"X", "v"}}));
    BOOST_TEST(s.errors.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(resolved_text_is_not_scanned_again) {
  auto s = substitute("${env:A}", fake_env({{"A", "${env:B}"}, {"B", "no"}}));
  BOOST_TEST(s.value == "${env:B}");
}

BOOST_AUTO_TEST_CASE(file_drops_one_trailing_newline) {
  hookd::test::TempDir dir;
  auto one = dir.write("one", "secret\n");
  auto two = dir.write("two", "secret\n\n");
  auto crlf = dir.write("crlf", "secret\r\n");
  auto none = dir.write("none", "secret");
  auto multi = dir.write("multi", "line1\nline2\n");
  auto env = fake_env();
  BOOST_TEST(substitute("${file:" + one + "}", env).value == "secret");
  BOOST_TEST(substitute("${file:" + two + "}", env).value == "secret\n");
  BOOST_TEST(substitute("${file:" + crlf + "}", env).value == "secret");
  BOOST_TEST(substitute("${file:" + none + "}", env).value == "secret");
  BOOST_TEST(substitute("${file:" + multi + "}", env).value == "line1\nline2");
  BOOST_TEST(substitute("k=${file:" + one + "};", env).value == "k=secret;");
}

BOOST_AUTO_TEST_CASE(file_unreadable_is_an_error) {
  hookd::test::TempDir dir;
  auto s = substitute("${file:" + dir.file("absent") + "}", fake_env());
  BOOST_REQUIRE_EQUAL(s.errors.size(), 1u);
  BOOST_TEST(s.errors[0] ==
             "cannot read file " + dir.file("absent") + ": No such file or directory");
  auto d = substitute("${file:" + dir.path().string() + "}", fake_env());
  BOOST_REQUIRE_EQUAL(d.errors.size(), 1u);
  BOOST_TEST(d.errors[0].find("Is a directory") != std::string::npos);
}

// The FileReader seam (what the config fuzzer sandboxes): every ${file:} goes through it,
// also from load_string, and its error reads like the file system's.
BOOST_AUTO_TEST_CASE(file_reader_replaces_the_file_system) {
  const hookd::config::FileReader files = [](const std::string& path,
                                             std::string& error) -> std::optional<std::string> {
    if (path == "/etc/hookd/secret") return std::string("from-reader\n");
    error = "not in the sandbox";
    return std::nullopt;
  };
  BOOST_TEST(substitute("k=${file:/etc/hookd/secret}", fake_env(), files).value == "k=from-reader");
  auto s = substitute("${file:/etc/passwd}", fake_env(), files);
  BOOST_REQUIRE_EQUAL(s.errors.size(), 1u);
  BOOST_TEST(s.errors[0] == "cannot read file /etc/passwd: not in the sandbox");

  auto r = hookd::config::load_string("storage: { path: \"${file:/etc/hookd/secret}\" }\n",
                                      "t.yaml", fake_env(), hookd::config::Scope::all, files);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.config->storage.path == "from-reader");
}

// Through the loader: locations, notes and secrecy.

BOOST_AUTO_TEST_CASE(loader_substitutes_every_scalar) {
  hookd::test::TempDir dir;
  auto cert = dir.write("cert-path", dir.file("cert.pem") + "\n");
  auto cfg = load_ok(
      "server:\n"
      "  listen: 127.0.0.1:${env:PORT}\n"
      "  tls:\n"
      "    cert: ${file:" +
          cert +
          "}\n"
          "    self_signed: ${env:SELF}\n"
          "  limits:\n"
          "    max_body: ${env:BODY}\n"
          "    header_timeout: \"${env:HT:-5s}\"\n"
          "storage:\n"
          "  path: ${env:DATA}/hookd.db\n",
      {{"PORT", "9443"}, {"SELF", "false"}, {"BODY", "2MiB"}, {"DATA", "/var/lib"}});
  BOOST_TEST(cfg.server.listen == std::vector<std::string>{"127.0.0.1:9443"});
  BOOST_TEST(cfg.server.tls.cert == dir.file("cert.pem"));
  BOOST_TEST(!cfg.server.tls.self_signed);
  BOOST_TEST(cfg.server.limits.max_body == 2u * 1024 * 1024);
  BOOST_TEST(cfg.server.limits.header_timeout.count() == 5000);
  BOOST_TEST(cfg.storage.path == "/var/lib/hookd.db");
}

BOOST_AUTO_TEST_CASE(default_fallback_adds_a_note_without_the_value) {
  auto r = load(
      "storage:\n"
      "  path: ${env:HOOKD_DB:-" +
      secret +
      "}\n"
      "  durability: ${env:DUR:-normal}\n");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.config->storage.path == secret);
  BOOST_TEST((r.config->storage.durability == Durability::normal));
  BOOST_REQUIRE_EQUAL(r.notes.size(), 2u);
  BOOST_TEST(r.notes[0] ==
             "environment variable HOOKD_DB is not set; using the default from test.yaml:2:9");
  BOOST_TEST(r.notes[1] ==
             "environment variable DUR is not set; using the default from test.yaml:3:15");
  BOOST_TEST(r.notes[0].find(secret) == std::string::npos);

  auto empty = load("storage: { path: \"${env:E:-x}\" }\n", {{"E", ""}});
  BOOST_REQUIRE_EQUAL(empty.notes.size(), 1u);
  BOOST_TEST(empty.notes[0] ==
             "environment variable E is empty; using the default from test.yaml:1:18");
}

BOOST_AUTO_TEST_CASE(missing_variable_error_at_the_value) {
  auto e = one_error("storage:\n  path: ${env:HOOKD_DB}\n");
  BOOST_TEST(e.str() == "test.yaml:2:9: storage.path: environment variable HOOKD_DB is not set");
}

BOOST_AUTO_TEST_CASE(unreadable_file_error_at_the_value) {
  hookd::test::TempDir dir;
  auto e = one_error("server:\n  tls:\n    key: \"${file:" + dir.file("k.pem") + "}\"\n");
  BOOST_TEST(e.where.line == 3);
  BOOST_TEST(e.where.column == 10);
  BOOST_TEST(e.message == "server.tls.key: cannot read file " + dir.file("k.pem") +
                              ": No such file or directory");
}

BOOST_AUTO_TEST_CASE(secret_never_in_an_error) {
  hookd::test::TempDir dir;
  auto secret_file = dir.write("secret", secret + "\n");
  // Every reader that rejects a value: the secret must not appear, the reference must.
  auto r = load(
      "server:\n"
      "  listen: ${env:S}\n"
      "  tls: { min_version: \"${env:S}\", self_signed: \"${file:" +
          secret_file +
          "}\" }\n"
          "  limits: { max_body: \"${env:S}\", header_timeout: \"x${env:S}\" }\n"
          "  io_threads: ${env:S}\n"
          "admin:\n"
          "  listen: [\"${env:S}\"]\n"
          "storage:\n"
          "  durability: ${env:S}\n"
          "  batch: { max_events: \"${env:S}\" }\n"
          "routes:\n"
          "  - name: \"${env:S}!\"\n"
          "    path: ${env:S}\n"
          "    auth: ${env:S}\n"
          "    event: { id: \"${env:S}\", type: \"json:${env:S}\" }\n",
      {{"S", secret}});
  BOOST_TEST(r.errors.size() == 14u, all_errors(r));
  auto text = all_errors(r);
  BOOST_TEST_INFO(text);
  BOOST_TEST(text.find(secret) == std::string::npos);
  BOOST_TEST(text.find("s3cr3t") == std::string::npos);
  BOOST_TEST(text.find("(value from '${env:S}')") != std::string::npos);
  BOOST_TEST(text.find("(value from 'json:${env:S}')") != std::string::npos);
  for (const auto& n : r.notes) BOOST_TEST(n.find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_value_from_substitution) {
  auto e = one_error("storage:\n  path: ${env:P}\n", {{"P", ""}});
  BOOST_TEST(e.str() == "test.yaml:2:9: storage.path: must not be empty (value from '${env:P}')");
}

BOOST_AUTO_TEST_CASE(bad_reference_error_quotes_only_what_is_written) {
  auto e = one_error("storage:\n  path: \"${env:X\"\n", {{"X", secret}});
  BOOST_TEST(e.where.line == 2);
  BOOST_TEST(e.message.find("without a closing '}'") != std::string::npos);
  BOOST_TEST(e.message.find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(several_errors_in_one_value) {
  auto r = load("storage:\n  path: ${env:A}/${env:B}\n");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 2u);
  BOOST_TEST(r.errors[0].message == "storage.path: environment variable A is not set");
  BOOST_TEST(r.errors[1].message == "storage.path: environment variable B is not set");
}

BOOST_AUTO_TEST_CASE(keys_are_not_substituted) {
  auto e = one_error("storage:\n  ${env:K}: x\n", {{"K", "path"}});
  BOOST_TEST(e.message == "unknown key '${env:K}' in storage");
}

BOOST_AUTO_TEST_CASE(process_environment_reads_getenv) {
  ::setenv("HOOKD_CONFIG_TEST_VAR", "from-env", 1);
  ::unsetenv("HOOKD_CONFIG_TEST_UNSET");
  auto env = process_environment();
  BOOST_TEST(env("HOOKD_CONFIG_TEST_VAR").value() == "from-env");
  BOOST_TEST(!env("HOOKD_CONFIG_TEST_UNSET").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
