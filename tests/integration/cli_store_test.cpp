// The operator CLI against a running server's store: events list/show, stats and replay
// through the real binary, their --json formats, exit codes and --help.
#include <sqlite3.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "hookd/outbox/sqlite.hpp"
#include "server_process.hpp"
#include "tls_client.hpp"

using namespace hookd::test;
namespace json = boost::json;

namespace {

// A server with two events on the jofi route, received through HTTPS.
struct Fixture {
  TempDir dir;
  ServerProcess server{dir, basic_config()};
  Fixture() {
    TlsClient c(server.port());
    BOOST_REQUIRE(c.post("/webhooks/incoming/jofi", R"({"id":"evt_1","type":"invitation.sent"})",
                         {{"X-Trace", "t1"}})
                      .status == 202);
    BOOST_REQUIRE(
        c.post("/webhooks/incoming/jofi", R"({"id":"evt_2","type":"test_taker.started"})").status ==
        202);
  }
  CommandResult hookd(const std::string& args) const {
    return run_hookd(dir.path().string(), args + " -c hookd.yaml");
  }
};

// The JSON lines of a command's output (a log line on stderr would not start with '{').
std::vector<json::object> json_lines(const std::string& output) {
  std::vector<json::object> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.front() == '{') out.push_back(json::parse(line).as_object());
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_store)

BOOST_FIXTURE_TEST_CASE(events_list_json_prints_one_object_per_event_newest_first, Fixture) {
  auto r = hookd("events list --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  auto events = json_lines(r.output);
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(events[0].at("id").as_string() == "evt_2");
  BOOST_TEST(events[1].at("id").as_string() == "evt_1");
  const auto& e = events[1];
  BOOST_TEST(e.at("route").as_string() == "jofi");
  BOOST_TEST(e.at("type").as_string() == "invitation.sent");
  BOOST_TEST(e.at("test").as_bool() == false);
  BOOST_TEST(e.at("deliveries").is_array());
  std::string received(e.at("received_at").as_string());
  BOOST_TEST(received.size() == 27u, received);  // 2026-11-28T13:34:08.123456Z
  BOOST_TEST(received.back() == 'Z');
  BOOST_TEST(received[19] == '.');

  auto filtered = json_lines(hookd("events list --json --type 'invitation.*' --limit 5").output);
  BOOST_REQUIRE_EQUAL(filtered.size(), 1u);
  BOOST_TEST(filtered[0].at("id").as_string() == "evt_1");
  BOOST_TEST(json_lines(hookd("events list --json --route anon").output).empty());

  auto table = hookd("events list");
  BOOST_TEST(table.code == 0);
  BOOST_TEST(table.output.find("RECEIVED") != std::string::npos, table.output);
  BOOST_TEST(table.output.find("evt_2") != std::string::npos, table.output);
  BOOST_TEST(hookd("events list --state asleep").code == 1);
}

BOOST_FIXTURE_TEST_CASE(events_show_json_has_headers_and_body, Fixture) {
  auto r = hookd("events show evt_1 --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  auto objects = json_lines(r.output);
  BOOST_REQUIRE_EQUAL(objects.size(), 1u);
  const auto& e = objects[0];
  BOOST_TEST(e.at("id").as_string() == "evt_1");
  BOOST_TEST(e.at("body").as_string() == R"({"id":"evt_1","type":"invitation.sent"})");
  BOOST_TEST(e.at("body_encoding").as_string() == "utf-8");
  bool trace = false;
  for (const auto& h : e.at("headers").as_array()) {
    const auto& pair = h.as_array();
    BOOST_REQUIRE_EQUAL(pair.size(), 2u);
    if (pair[0].as_string() == "X-Trace") trace = pair[1].as_string() == "t1";
  }
  BOOST_TEST(trace);

  auto text = hookd("events show evt_1");
  BOOST_TEST(text.code == 0);
  BOOST_TEST(text.output.find("X-Trace: t1") != std::string::npos, text.output);

  auto unknown = hookd("events show nope --json");
  BOOST_TEST(unknown.code == 1);
  BOOST_TEST(unknown.output.find("no event 'nope'") != std::string::npos, unknown.output);
}

BOOST_FIXTURE_TEST_CASE(stats_json_counts_routes, Fixture) {
  auto r = hookd("stats --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  auto objects = json_lines(r.output);
  BOOST_REQUIRE_EQUAL(objects.size(), 1u);
  const auto& routes = objects[0].at("routes").as_object();
  const auto& jofi = routes.at("jofi").as_object();
  BOOST_TEST(jofi.at("events").as_int64() == 2);
  for (const char* key : {"pending", "running", "done", "dead", "unmatched"}) {
    BOOST_TEST(jofi.at(key).is_int64(), key);
  }
  BOOST_TEST(routes.at("anon").as_object().at("events").as_int64() == 0);  // configured, empty
  BOOST_TEST(objects[0].contains("oldest_pending_age_seconds"));
  auto table = hookd("stats");
  BOOST_TEST(table.code == 0);
  BOOST_TEST(table.output.find("jofi") != std::string::npos, table.output);
}

BOOST_FIXTURE_TEST_CASE(replay_puts_a_dead_delivery_back_while_the_server_runs, Fixture) {
  {
    // Play the worker: evt_1's delivery died.
    auto db = hookd::outbox::open_connection(dir.file("hookd.db"), SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(db.get(), 5000);
    hookd::outbox::exec(db.get(),
                        "INSERT INTO deliveries (event_seq, handler, state, attempts, "
                        "scheduled_at, updated_at, last_error) SELECT seq, 'mail', 'dead', 5, 0, "
                        "0, 'smtp refused' FROM events WHERE id = 'evt_1'");
  }
  auto listed = json_lines(hookd("events list --json --state dead").output);
  BOOST_REQUIRE_EQUAL(listed.size(), 1u);
  const auto& d = listed[0].at("deliveries").as_array().at(0).as_object();
  BOOST_TEST(d.at("handler").as_string() == "mail");
  BOOST_TEST(d.at("attempts").as_int64() == 5);
  BOOST_TEST(d.at("last_error").as_string() == "smtp refused");

  auto none = json_lines(hookd("replay evt_2 --json").output);  // it has no deliveries
  BOOST_REQUIRE_EQUAL(none.size(), 1u);
  BOOST_TEST(none[0].at("replayed").as_int64() == 0);

  auto r = hookd("replay --dead --route jofi");
  BOOST_TEST(r.code == 0, r.output);
  BOOST_TEST(r.output.find("1 delivery put back to pending") != std::string::npos, r.output);
  // (What happens next is the dispatcher's business: no assertion on the later state.)

  BOOST_TEST(hookd("replay nope").code == 1);
  BOOST_TEST(hookd("replay").code == 1);
}

// A long id (or type) is cut with an ellipsis in the table, so the other rows keep their
// width; --json has it whole.
BOOST_FIXTURE_TEST_CASE(events_list_cuts_long_cells_but_not_json, Fixture) {
  const std::string id(200, 'x');
  TlsClient c(server.port());
  BOOST_REQUIRE(c.post("/webhooks/incoming/jofi", R"({"id":")" + id + R"(","type":"t"})").status ==
                202);
  auto r = hookd("events list");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.output);
  BOOST_TEST(r.output.find(id) == std::string::npos);
  BOOST_TEST(r.output.find(std::string(39, 'x') + "\xE2\x80\xA6") != std::string::npos, r.output);
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) BOOST_TEST(line.size() < 160u, line);
  auto j = hookd("events list --json");
  BOOST_TEST(j.output.find("\"" + id + "\"") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(every_command_has_help, Fixture) {
  for (const char* cmd : {"events --help", "events list --help", "events show --help",
                          "stats --help", "replay --help", "backup --help"}) {
    auto r = run_hookd(dir.path().string(), cmd);
    BOOST_TEST(r.code == 0, cmd << ": " << r.output);
    bool mentions_config = r.output.find("--config") != std::string::npos;
    BOOST_TEST((mentions_config || std::string(cmd) == "events --help"), cmd << ": " << r.output);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_store_is_a_user_error) {
  TempDir dir;
  dir.write("hookd.yaml", basic_config());
  for (const char* cmd :
       {"events list", "events show x", "stats", "replay --dead", "backup b.db"}) {
    auto r = run_hookd(dir.path().string(), std::string(cmd) + " -c hookd.yaml");
    BOOST_TEST(r.code == 1, cmd << ": " << r.output);
    BOOST_TEST(r.output.find("no store at hookd.db: has the server run?") != std::string::npos,
               r.output);
  }
  BOOST_TEST(!std::filesystem::exists(dir.path() / "hookd.db"));
  BOOST_TEST(run_hookd(dir.path().string(), "stats -c nope.yaml").code == 1);
}

// issue 24 item 10: what senders chose, shown on the operator's terminal. An id with OSC 52
// (writes the clipboard), a type with CSI 2J (clears the screen), a header value with the C1
// form of CSI, a body with OSC 0 (sets the title) and its lines. On a terminal (`script`
// gives the command one) they are shown escaped; --raw and a pipe keep the bytes.
BOOST_AUTO_TEST_CASE(events_on_a_terminal_show_control_characters_escaped) {
  TempDir dir;
  ServerProcess server(dir, basic_config());
  TlsClient c(server.port());
  const std::string body =
      "{\"id\":\"evil\\u001b]52;c;aGk=\\u0007\",\n\t\"type\":\"t\\u001b[2J\",\"note\":"
      "\"\\u001b]0;pwned\\u0007 \xC2\x9B" "31m\"}";
  BOOST_REQUIRE(c.post("/webhooks/incoming/jofi", body, {{"X-Note", "a\xC2\x9B" "2Jb"}}).status ==
                202);
  const std::string id = "evil\x1b]52;c;aGk=\x07";
  const auto on_terminal = [&](const std::string& args) {
    // `script` runs the command on a new pseudo-terminal and copies what it printed.
    // $ID: the id, for `events show "$ID"` (printf: sh has no $'...').
    return run_command(dir.path().string(),
                       "ID=$(printf 'evil\\033]52;c;aGk=\\007') script -qec '" +
                           std::string(HOOKD_BINARY) + " " + args + " -c hookd.yaml' /dev/null");
  };
  for (const char* args :
       {"events list", "events show \"$ID\"", "events list --json", "events show \"$ID\" --json"}) {
    const auto r = on_terminal(args);
    BOOST_TEST(r.code == 0, args << ": " << r.output);
    BOOST_TEST(r.output.find('\x1b') == std::string::npos, args << ": " << r.output);
    BOOST_TEST(r.output.find('\x07') == std::string::npos, args << ": " << r.output);
    BOOST_TEST(r.output.find("\xC2\x9B") == std::string::npos, args << ": " << r.output);
  }
  const auto shown = on_terminal("events show \"$ID\"").output;
  BOOST_TEST(shown.find(R"(event     evil\x1b]52;c;aGk=\x07)") != std::string::npos, shown);
  BOOST_TEST(shown.find(R"(type      t\x1b[2J)") != std::string::npos, shown);
  BOOST_TEST(shown.find(R"(X-Note: a\u009b2Jb)") != std::string::npos, shown);
  // The body keeps its lines (the terminal turns \n into \r\n) and tab.
  BOOST_TEST(shown.find("\"evil\\u001b]52;c;aGk=\\u0007\",\r\n\t\"type\"") != std::string::npos,
             shown);
  BOOST_TEST(shown.find(R"(\u009b31m)") != std::string::npos, shown);
  // --json on a terminal: C1 in a JSON string is escaped as well (C0 always is).
  const auto shown_json = on_terminal("events show \"$ID\" --json").output;
  BOOST_TEST(shown_json.find(R"(["X-Note","a\u009b2Jb"])") != std::string::npos, shown_json);

  // --raw on a terminal, and a pipe: the bytes as they are.
  const auto raw = on_terminal("events list --raw").output;
  BOOST_TEST(raw.find(id.substr(0, 8)) != std::string::npos, raw);
  const auto piped = run_command(dir.path().string(), std::string(HOOKD_BINARY) +
                                                         " events show \"$(printf 'evil\\033]52;"
                                                         "c;aGk=\\007')\" -c hookd.yaml");
  BOOST_TEST(piped.code == 0, piped.output);
  BOOST_TEST(piped.output.find("event     " + id + "\n") != std::string::npos, piped.output);
  BOOST_TEST(piped.output.find("a\xC2\x9B" "2Jb") != std::string::npos, piped.output);
}

BOOST_AUTO_TEST_SUITE_END()
