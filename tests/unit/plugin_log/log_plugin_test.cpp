// The bundled `log` plugin through the real loader: JSON lines, base64 for non-UTF-8
// bodies, intact lines under concurrent handle() calls, create() and write failures.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hookd/plugin/loader.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using namespace hookd::plugin;
namespace json = boost::json;
using namespace std::string_literals;

using hookd::test::contains;
using hookd::test::create_error;
using hookd::test::file_text;

namespace {

Instance make_log(const std::string& yaml) {
  return Library::load(hookd::test::bundled_plugin("log"))->create(yaml);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_log)

BOOST_AUTO_TEST_CASE(writes_one_json_line_per_event) {
  hookd::test::TempDir dir;
  const std::string path = dir.file("a/b/events.jsonl");  // parents are created
  const Instance log = make_log("path: " + path + "\n");

  hookd::test::TestEvent ev;
  ev.id = "evt-\"42\"";
  ev.route = "jofi";
  ev.type = "test_taker.created";
  ev.received_at_us = 1'700'000'000'123'456;
  ev.attempt = 3;
  ev.body = "{\"name\":\"Zoë\",\"note\":\"a\\nb\"}\n\t\x01 nul:\0 end"s;  // NUL is UTF-8
  const Result r = log.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::ok));

  hookd::test::TestEvent second;
  second.type = "";  // the route extracts no type
  second.body = "";
  BOOST_TEST((log.handle(second.view()).outcome == Outcome::ok));

  const auto text = file_text(path);
  BOOST_TEST(text.back() == '\n');
  const auto lines = read_lines(path);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);

  const json::object first = json::parse(lines[0]).as_object();
  BOOST_TEST(first.at("id").as_string() == "evt-\"42\"");
  BOOST_TEST(first.at("route").as_string() == "jofi");
  BOOST_TEST(first.at("type").as_string() == "test_taker.created");
  BOOST_TEST(first.at("received_at").as_string() == "2023-11-14T22:13:20.123456Z");
  BOOST_TEST(first.at("attempt").as_int64() == 3);
  BOOST_TEST(std::string(first.at("body").as_string()) == ev.body);
  BOOST_TEST(!first.contains("body_encoding"));

  const json::object other = json::parse(lines[1]).as_object();
  BOOST_TEST(other.at("type").is_null());
  BOOST_TEST(other.at("body").as_string() == "");
  BOOST_TEST(other.at("received_at").as_string() == "2023-11-14T22:13:20.000000Z");
  BOOST_TEST(other.at("attempt").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(non_utf8_body_is_base64) {
  hookd::test::TempDir dir;
  const Instance log = make_log("path: " + dir.file("events.jsonl") + "\nfsync: true\n");
  for (const std::string& body : {"\xff\xfe\0abc"s,             // invalid start bytes
                                  std::string("\xed\xa0\x80"),  // a UTF-16 surrogate
                                  std::string("\xc0\xaf")}) {   // an overlong '/'
    hookd::test::TestEvent ev;
    ev.body = body;
    BOOST_TEST((log.handle(ev.view()).outcome == Outcome::ok));
  }
  const auto lines = read_lines(dir.file("events.jsonl"));
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  const std::vector<std::string> expected = {"//4AYWJj", "7aCA", "wK8="};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const json::object line = json::parse(lines[i]).as_object();
    BOOST_TEST(line.at("body_encoding").as_string() == "base64");
    BOOST_TEST(std::string(line.at("body").as_string()) == expected[i]);
  }
}

BOOST_AUTO_TEST_CASE(concurrent_calls_never_interleave_lines) {
  hookd::test::TempDir dir;
  const std::string path = dir.file("events.jsonl");
  const Instance log = make_log("path: " + path + "\n");
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        hookd::test::TestEvent ev;
        ev.id = "t" + std::to_string(t) + "-" + std::to_string(i);
        // Bigger than PIPE_BUF and a page boundary or two, so an interleaving would show.
        ev.body = std::string(3000 + 37 * i, static_cast<char>('a' + t));
        if (log.handle(ev.view()).outcome != Outcome::ok) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) BOOST_TEST(f == 0);

  const auto lines = read_lines(path);
  BOOST_REQUIRE_EQUAL(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const auto& text : lines) {
    const json::object line = json::parse(text).as_object();
    const std::string id(line.at("id").as_string());
    const int t = id[1] - '0';
    const int i = std::stoi(id.substr(id.find('-') + 1));
    BOOST_TEST(std::string(line.at("body").as_string()) ==
               std::string(3000 + 37 * i, static_cast<char>('a' + t)));
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kThreads * kPerThread));
}

BOOST_AUTO_TEST_CASE(appends_to_an_existing_file) {
  hookd::test::TempDir dir;
  const std::string path = dir.write("events.jsonl", "{\"earlier\":true}\n");
  {
    const Instance log = make_log("path: " + path + "\n");
    hookd::test::TestEvent ev;
    BOOST_TEST((log.handle(ev.view()).outcome == Outcome::ok));
  }
  const auto lines = read_lines(path);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0] == "{\"earlier\":true}");
  BOOST_TEST(json::parse(lines[1]).as_object().at("id").as_string() == "evt-1");
}

BOOST_AUTO_TEST_CASE(unopenable_path_refuses_the_config) {
  hookd::test::TempDir dir;
  const std::string blocker = dir.write("blocker", "a regular file\n");
  const std::string under_file = blocker + "/sub/events.jsonl";
  const std::string e1 = create_error("log", "path: " + under_file + "\n");
  BOOST_TEST(contains(e1, under_file), e1);

  const std::string e2 = create_error("log", "path: " + dir.path().string() + "\n");  // a directory
  BOOST_TEST(contains(e2, dir.path().string()), e2);
  BOOST_TEST(contains(e2, "Is a directory"), e2);
}

BOOST_AUTO_TEST_CASE(bad_config_is_refused) {
  hookd::test::TempDir dir;
  const std::string unknown = create_error("log", "path: " + dir.file("x") + "\nrotate: daily\n");
  BOOST_TEST(contains(unknown, "rotate"), unknown);
  BOOST_TEST(contains(unknown, "unknown key"), unknown);

  const std::string missing = create_error("log", "fsync: true\n");
  BOOST_TEST(contains(missing, "path"), missing);
  const std::string not_bool =
      create_error("log", "path: " + dir.file("x") + "\nfsync: sometimes\n");
  BOOST_TEST(contains(not_bool, "fsync"), not_bool);
}

BOOST_AUTO_TEST_CASE(write_failure_is_a_retry_naming_the_path) {
  // Every write to /dev/full fails with ENOSPC, as on a full disk.
  const Instance log = make_log("path: /dev/full\n");
  hookd::test::TestEvent ev;
  const Result r = log.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(contains(r.message, "/dev/full"), r.message);
  BOOST_TEST(contains(r.message, "No space left on device"), r.message);
}

BOOST_AUTO_TEST_SUITE_END()
