// jofi plugin through the real loader, without SMTP: the participant → assessment table,
// idempotence, late events after a completion, bad payloads, config errors, custom
// pointers and concurrent handle() calls.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "db.hpp"
#include "hookd/plugin/loader.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using hookd::plugin::Library;
using hookd::plugin::Outcome;
using hookd::plugin::Result;
using hookd::test::Db;
using hookd::test::TempDir;
using hookd::test::TestEvent;

using hookd::test::contains;
using hookd::test::create_error;

namespace {

// A JOFI-shaped payload; `extra` fields are merged into `data`.
std::string payload(const std::string& id, const std::string& type, const std::string& participant,
                    const std::string& assessment, boost::json::object extra = {}) {
  boost::json::object data{{"participant_id", participant},
                           {"participant_email", participant + "@example.com"},
                           {"participant_name", "Name " + participant},
                           {"assessment_id", assessment},
                           {"assessment_name", "Backend C++"}};
  for (const auto& kv : extra) data[kv.key()] = kv.value();
  return boost::json::serialize(boost::json::object{
      {"id", id}, {"type", type}, {"created_at", "2026-11-28T13:34:08Z"}, {"data", data}});
}

TestEvent event(const std::string& id, const std::string& type, const std::string& body) {
  TestEvent ev;
  ev.id = id;
  ev.route = "jofi";
  ev.type = type;
  ev.body = body;
  return ev;
}

struct Fixture {
  TempDir dir;
  std::string db_path = dir.file("jofi.db");
  std::shared_ptr<const Library> lib = Library::load(hookd::test::bundled_plugin("jofi"));
  hookd::plugin::Instance instance = lib->create("database: " + db_path + "\n");

  Result send(const std::string& id, const std::string& type, const std::string& participant,
              const std::string& assessment, boost::json::object extra = {}) {
    TestEvent ev = event(id, type, payload(id, type, participant, assessment, std::move(extra)));
    return instance.handle(ev.view());
  }
  std::string status(const std::string& participant, const std::string& assessment) {
    Db db(db_path);
    return db
        .text(
            "SELECT status FROM participant_assessments WHERE participant_id = ? AND "
            "assessment_id = ?",
            {participant, assessment})
        .value_or("<none>");
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_jofi)

BOOST_FIXTURE_TEST_CASE(invited_started_completed_give_the_rows, Fixture) {
  BOOST_TEST((send("e1", "test_taker.invited", "p1", "a1").outcome == Outcome::ok));
  BOOST_TEST(status("p1", "a1") == "invited");
  BOOST_TEST((send("e2", "test_taker.started", "p1", "a1").outcome == Outcome::ok));
  BOOST_TEST(status("p1", "a1") == "started");
  const Result r = send("e3", "test_taker.assessment_completed", "p1", "a1",
                        {{"status", "completed"}, {"score", 87}});
  BOOST_TEST((r.outcome == Outcome::ok));
  BOOST_TEST(contains(r.message, "no smtp configured"), r.message);
  BOOST_TEST(status("p1", "a1") == "completed");
  BOOST_TEST((send("e4", "invitation.created", "p2", "a1").outcome == Outcome::ok));
  BOOST_TEST(status("p2", "a1") == "created");

  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM participant_assessments") == 2);
  const std::string row = "FROM participant_assessments WHERE participant_id = 'p1'";
  BOOST_TEST(*db.text("SELECT last_event_id " + row) == "e3");
  BOOST_TEST(*db.text("SELECT last_event_type " + row) == "test_taker.assessment_completed");
  BOOST_TEST(*db.text("SELECT participant_email " + row) == "p1@example.com");
  BOOST_TEST(*db.text("SELECT participant_name " + row) == "Name p1");
  BOOST_TEST(*db.text("SELECT assessment_name " + row) == "Backend C++");
  BOOST_TEST(db.integer("SELECT score " + row) == 87);
  BOOST_TEST(db.integer("SELECT completed_at IS NOT NULL " + row) == 1);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == 4);

  // Without smtp the notification is recorded and stays unsent.
  BOOST_TEST(db.integer("SELECT count(*) FROM notifications") == 1);
  const std::string note = "FROM notifications WHERE event_id = 'e3'";
  BOOST_TEST(*db.text("SELECT participant_id " + note) == "p1");
  BOOST_TEST(*db.text("SELECT assessment_id " + note) == "a1");
  BOOST_TEST(db.integer("SELECT score " + note) == 87);
  BOOST_TEST(db.integer("SELECT sent_at IS NULL " + note) == 1);
  BOOST_TEST(db.integer("SELECT attempts " + note) == 0);
  BOOST_TEST(db.integer("SELECT created_at IS NOT NULL " + note) == 1);
}

BOOST_FIXTURE_TEST_CASE(the_same_event_twice_changes_nothing, Fixture) {
  BOOST_TEST((send("e1", "test_taker.started", "p1", "a1").outcome == Outcome::ok));
  BOOST_TEST((send("e2", "test_taker.invited", "p1", "a1").outcome == Outcome::ok));
  const Result again = send("e1", "test_taker.started", "p1", "a1");
  BOOST_TEST((again.outcome == Outcome::ok));
  BOOST_TEST(contains(again.message, "already applied"), again.message);
  BOOST_TEST(status("p1", "a1") == "invited");  // e1 was not applied a second time
  BOOST_TEST((send("e3", "test_taker.assessment_completed", "p1", "a1").outcome == Outcome::ok));
  BOOST_TEST((send("e3", "test_taker.assessment_completed", "p1", "a1").outcome == Outcome::ok));
  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM participant_assessments") == 1);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == 3);
  BOOST_TEST(db.integer("SELECT count(*) FROM notifications") == 1);
  BOOST_TEST(*db.text("SELECT last_event_id FROM participant_assessments") == "e3");
}

BOOST_FIXTURE_TEST_CASE(a_late_event_never_undoes_a_completion, Fixture) {
  send("e1", "test_taker.assessment_completed", "p1", "a1", {{"score", 90}});
  BOOST_TEST(status("p1", "a1") == "completed");  // derived from the type without /data/status
  BOOST_TEST((send("e0", "test_taker.started", "p1", "a1").outcome == Outcome::ok));
  BOOST_TEST(status("p1", "a1") == "completed");
  Db db(db_path);
  BOOST_TEST(*db.text("SELECT last_event_id FROM participant_assessments") == "e0");
  BOOST_TEST(db.integer("SELECT score FROM participant_assessments") == 90);
}

BOOST_FIXTURE_TEST_CASE(the_sample_payloads_apply_with_the_defaults, Fixture) {
  const std::string dir = std::string(HOOKD_SOURCE_DIR) + "/config/examples/jofi-payloads/";
  int n = 0;
  for (const std::string name : {"invited", "started", "assessment_completed"}) {
    std::ifstream in(dir + name + ".json");
    BOOST_REQUIRE(in);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TestEvent ev = event("e" + std::to_string(++n), "", body);  // type from /type
    const Result r = instance.handle(ev.view());
    BOOST_TEST((r.outcome == Outcome::ok), name << ": " << r.message);
  }
  BOOST_TEST(status("p_123", "a_9") == "completed");
  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == 3);
  BOOST_TEST(*db.text("SELECT participant_name FROM notifications") == "Ana Souza");
  BOOST_TEST(db.integer("SELECT score FROM notifications") == 87);
}

BOOST_FIXTURE_TEST_CASE(missing_ids_fail_naming_the_pointer, Fixture) {
  TestEvent ev = event("e1", "test_taker.started",
                       R"({"type":"test_taker.started","data":{"assessment_id":"a1"}})");
  Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "/data/participant_id"), r.message);

  ev = event("e2", "invitation.accepted", R"({"data":{"participant_id":"p1","assessment_id":{}}})");
  r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "/data/assessment_id"), r.message);

  ev = event("e3", "invitation.accepted", R"({"data":{"participant_id":"p1"}})");
  r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "missing assessment_id at JSON pointer /data/assessment_id"),
             r.message);
  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == 0);
}

BOOST_FIXTURE_TEST_CASE(a_body_that_is_not_json_fails, Fixture) {
  TestEvent ev = event("e1", "test_taker.started", "participant_id=p1&assessment_id=a1");
  const Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::fail));
  BOOST_TEST(contains(r.message, "not JSON"), r.message);
}

BOOST_FIXTURE_TEST_CASE(other_event_types_are_ignored, Fixture) {
  TestEvent ev = event("e1", "company.updated", R"({"data":{}})");
  const Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::ok));
  BOOST_TEST(contains(r.message, "ignored"), r.message);
  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == 0);
}

BOOST_AUTO_TEST_CASE(config_errors_are_refused) {
  TempDir dir;
  const std::string db = "database: " + dir.file("j.db") + "\n";
  BOOST_TEST(contains(create_error("jofi", db + "colour: blue\n"), "colour: unknown key"));
  BOOST_TEST(
      contains(create_error("jofi", "smtp: {host: h, from: a@b.c, to: d@e.f}\n"), "database"));
  BOOST_TEST(contains(create_error("jofi", db + "pointers: {participant: /x}\n"),
                      "pointers.participant: unknown key"));
  BOOST_TEST(
      contains(create_error("jofi", db + "pointers: {score: data.score}\n"), "pointers.score"));
  BOOST_TEST(
      contains(create_error("jofi", db + "smtp: {host: h, from: a@b.c, to: d@e.f, tls: true}\n"),
               "smtp.tls: unknown key"));
  const std::string no_to = create_error("jofi", db + "smtp: {host: h, from: a@b.c}\n");
  BOOST_TEST(contains(no_to, "smtp.to: required"), no_to);
  BOOST_TEST(contains(create_error("jofi", db + "smtp: {host: h, from: nobody, to: d@e.f}\n"),
                      "smtp.from"));
  BOOST_TEST(
      contains(create_error("jofi", db + "smtp: {host: h, from: a@b.c, to: d@e.f, port: 0}\n"),
               "smtp.port"));
  // A missing directory is created; one that cannot be (under a regular file) is refused.
  BOOST_CHECK_NO_THROW(Library::load(hookd::test::bundled_plugin("jofi"))
                           ->create("database: " + dir.file("no/such/dir/j.db") + "\n"));
  BOOST_TEST(std::filesystem::exists(dir.file("no/such/dir/j.db")));
  std::ofstream(dir.file("plain")) << "x";
  BOOST_TEST(
      contains(create_error("jofi", "database: " + dir.file("plain/j.db") + "\n"), "cannot open"));
}

BOOST_AUTO_TEST_CASE(custom_pointers_work) {
  TempDir dir;
  const std::string db_path = dir.file("j.db");
  auto lib = Library::load(hookd::test::bundled_plugin("jofi"));
  auto instance = lib->create("database: " + db_path +
                              "\n"
                              "pointers:\n"
                              "  type: /event\n"
                              "  participant_id: /candidate/id\n"
                              "  participant_email: /candidate/email\n"
                              "  participant_name: /candidate/name\n"
                              "  assessment_id: /test/id\n"
                              "  assessment_name: /test/title\n"
                              "  status: /test/state\n"
                              "  score: /result/percent\n");
  TestEvent ev = event("e1", "", R"({"event":"test_taker.assessment_completed",
      "candidate":{"id":42,"email":"ana@example.com","name":"Ana"},
      "test":{"id":"t/9","title":"Go","state":"graded"},"result":{"percent":91.5}})");
  const Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  Db db(db_path);
  BOOST_TEST(*db.text("SELECT participant_id FROM participant_assessments") == "42");
  BOOST_TEST(*db.text("SELECT assessment_id FROM participant_assessments") == "t/9");
  BOOST_TEST(*db.text("SELECT status FROM participant_assessments") == "graded");
  BOOST_TEST(*db.text("SELECT participant_name FROM participant_assessments") == "Ana");
  BOOST_TEST(*db.text("SELECT assessment_name FROM participant_assessments") == "Go");
  BOOST_TEST(*db.text("SELECT last_event_type FROM participant_assessments") ==
             "test_taker.assessment_completed");
  BOOST_TEST(*db.text("SELECT CAST(score AS TEXT) FROM notifications") == "91.5");

  // The default pointer no longer applies.
  ev = event("e2", "test_taker.started", R"({"data":{"participant_id":"p","assessment_id":"a"}})");
  BOOST_TEST((instance.handle(ev.view()).outcome == Outcome::fail));
}

BOOST_FIXTURE_TEST_CASE(concurrent_events_all_land, Fixture) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> not_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        const std::string type = i % 5 == 4   ? "test_taker.assessment_completed"
                                 : i % 2 == 0 ? "invitation.created"
                                              : "test_taker.started";
        if (send("e" + n, type, "p" + n, "a" + std::to_string(i % 3)).outcome != Outcome::ok) {
          ++not_ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(not_ok.load() == 0);
  Db db(db_path);
  BOOST_TEST(db.integer("SELECT count(*) FROM participant_assessments") == kThreads * kPerThread);
  BOOST_TEST(db.integer("SELECT count(*) FROM applied_events") == kThreads * kPerThread);
  BOOST_TEST(db.integer("SELECT count(*) FROM notifications") == kThreads * kPerThread / 5);
}

BOOST_AUTO_TEST_SUITE_END()
