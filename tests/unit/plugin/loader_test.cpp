// Plugin loader: every refusal names the file, create/handle/destroy round trips, no C++
// exception crosses the ABI, message truncation, unloading, concurrent handle() calls.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hookd/plugin/loader.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using namespace hookd::plugin;
using hookd::test::contains;
using hookd::test::fixture_plugin;

namespace {

bool mapped(const std::string& needle) {
  std::ifstream maps("/proc/self/maps");
  const std::string all((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  return all.find(needle) != std::string::npos;
}

// The LoadError message of loading `path`; fails the test when it loads.
std::string load_error(const std::string& path) {
  try {
    Library::load(path);
  } catch (const LoadError& e) {
    return e.what();
  }
  BOOST_FAIL("loaded " << path);
  return {};
}

Event event_with_body(std::string_view body) {
  Event ev;
  ev.id = "evt-1";
  ev.route = "jofi";
  ev.type = "test_taker.created";
  ev.received_at_us = 1'700'000'000'000'000;
  ev.body = body;
  return ev;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_loader)

// A private copy is a separate load (its own code and statics), named by the configured
// path, and its directory goes with the library.
BOOST_AUTO_TEST_CASE(a_private_copy_is_a_fresh_load_and_is_cleaned_up) {
  const auto shared = Library::load(fixture_plugin("ok"));
  auto copy = Library::load(fixture_plugin("ok"), true);
  BOOST_TEST(copy->path() == fixture_plugin("ok"));
  BOOST_TEST(copy->name() == shared->name());
  const std::string dir = [&] {
    for (const auto& e :
         std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
      if (e.path().filename().string().starts_with("hookd-plugin-") &&
          std::filesystem::exists(e.path() / "libhookd_fixture_ok.so")) {
        return e.path().string();
      }
    }
    return std::string();
  }();
  BOOST_REQUIRE(!dir.empty());
  Instance instance = copy->create("hello");
  hookd::plugin::Event event;
  BOOST_TEST(instance.handle(event).message == "hello");
  instance = shared->create("x");  // the copy's last instance goes ...
  copy.reset();                    // ... and with the library, its directory
  BOOST_TEST(!std::filesystem::exists(dir));
}

BOOST_AUTO_TEST_CASE(round_trip_create_handle_destroy) {
  const auto lib = Library::load(fixture_plugin("ok"));
  BOOST_TEST(lib->name() == "ok");
  BOOST_TEST(lib->path() == fixture_plugin("ok"));
  BOOST_TEST(lib->abi_minor() == 0u);
  const Instance inst = lib->create("path: data/events.jsonl\n");
  const Result r = inst.handle(event_with_body("{}"));
  BOOST_TEST((r.outcome == Outcome::ok));
  BOOST_TEST(r.message == "path: data/events.jsonl\n");
  BOOST_TEST(r.retry_after.count() == 0);
  BOOST_TEST(&inst.library() == lib.get());
}

BOOST_AUTO_TEST_CASE(event_fields_reach_the_plugin) {
  const auto lib = Library::load(fixture_plugin("retry_fail"));
  const Instance inst = lib->create("");
  const std::vector<Header> headers{{"Content-Type", "application/json"}, {"X-Id", "12345"}};
  Event ev = event_with_body(std::string_view("\0{}", 3));
  ev.id = "evt-9";
  ev.attempt = 3;
  ev.headers = headers;
  const Result r = inst.handle(ev);
  BOOST_TEST((r.outcome == Outcome::ok));
  BOOST_TEST(r.message == "evt-9 jofi test_taker.created 3 2 21 1700000000000000");

  ev.type = {};
  ev.headers = {};
  BOOST_TEST(inst.handle(ev).message == "evt-9 jofi  3 0 0 1700000000000000");
}

BOOST_AUTO_TEST_CASE(retry_with_delay_and_fail) {
  const auto lib = Library::load(fixture_plugin("retry_fail"));
  const Instance inst = lib->create("");
  const Result retry = inst.handle(event_with_body("retry"));
  BOOST_TEST((retry.outcome == Outcome::retry));
  BOOST_TEST(retry.retry_after.count() == 250);
  BOOST_TEST(retry.message == "downstream busy");

  const Result fail = inst.handle(event_with_body("fail"));
  BOOST_TEST((fail.outcome == Outcome::fail));
  BOOST_TEST(fail.message == "unknown participant");
}

BOOST_AUTO_TEST_CASE(invalid_outcome_is_a_retry) {
  const auto lib = Library::load(fixture_plugin("retry_fail"));
  const Result r = lib->create("").handle(event_with_body("invalid"));
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(r.retry_after.count() == 0);
  BOOST_TEST(r.message == "plugin 'retry_fail' returned invalid outcome 42: confused");
}

BOOST_AUTO_TEST_CASE(messages_are_cut_to_the_buffer) {
  const auto lib = Library::load(fixture_plugin("ok"));
  // hookd_result_set_message cuts at capacity - 1 bytes...
  const std::string long_config(5000, 'a');
  const Result r = lib->create(long_config).handle(event_with_body(""));
  BOOST_TEST(r.message == std::string(kMessageCapacity - 1, 'a'));
  // ...but not inside a UTF-8 sequence: "é" would need bytes 1022 and 1023.
  const std::string utf8 = std::string(kMessageCapacity - 2, 'a') + "\xc3\xa9";
  BOOST_TEST(lib->create(utf8).handle(event_with_body("")).message ==
             std::string(kMessageCapacity - 2, 'a'));

  // A plugin that fills the whole buffer without a NUL costs itself the last byte only.
  const auto rf = Library::load(fixture_plugin("retry_fail"));
  const Result overflow = rf->create("").handle(event_with_body("overflow"));
  BOOST_TEST((overflow.outcome == Outcome::ok));
  BOOST_TEST(overflow.message == std::string(kMessageCapacity - 1, 'x'));
}

BOOST_AUTO_TEST_CASE(cpp_wrapper_outcomes) {
  const auto lib = Library::load(fixture_plugin("throws"));
  BOOST_TEST(lib->name() == "throws");
  const Instance inst = lib->create("{}");
  const Result ok = inst.handle(event_with_body("ok"));
  BOOST_TEST((ok.outcome == Outcome::ok));
  BOOST_TEST(ok.message == "fine after 1");
  const Result retry = inst.handle(event_with_body("retry"));
  BOOST_TEST((retry.outcome == Outcome::retry));
  BOOST_TEST(retry.retry_after.count() == 1500);
  BOOST_TEST(retry.message == "later");
  const Result fail = inst.handle(event_with_body("fail"));
  BOOST_TEST((fail.outcome == Outcome::fail));
  BOOST_TEST(fail.message == "no");
}

BOOST_AUTO_TEST_CASE(exception_in_handle_is_a_retry_with_its_message) {
  const auto lib = Library::load(fixture_plugin("throws"));
  const Instance inst = lib->create("");
  const Result r = inst.handle(event_with_body("boom"));
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(r.retry_after.count() == 0);
  BOOST_TEST(r.message == "handler blew up on evt-1");

  const Result odd = inst.handle(event_with_body("int"));  // throw 7;
  BOOST_TEST((odd.outcome == Outcome::retry));
  BOOST_TEST(odd.message == "unknown exception in the plugin's handle()");
}

BOOST_AUTO_TEST_CASE(create_failure_carries_the_plugins_message) {
  const auto thrower = Library::load(fixture_plugin("throws"));
  try {
    thrower->create("throw: true\n");
    BOOST_FAIL("created");
  } catch (const CreateError& e) {
    const std::string what = e.what();
    BOOST_TEST(contains(what, "plugin 'throws' (" + fixture_plugin("throws") + ")"));
    BOOST_TEST(contains(what, "throws: config asked me to throw"));
  }

  const auto slow = Library::load(fixture_plugin("slow"));
  try {
    slow->create("");
    BOOST_FAIL("created");
  } catch (const CreateError& e) {
    BOOST_TEST(contains(e.what(), fixture_plugin("slow")));
    BOOST_TEST(contains(e.what(), "refused its config: missing sleep_ms"));
  }
}

BOOST_AUTO_TEST_CASE(refuses_a_missing_file) {
  const std::string path = fixture_plugin("does_not_exist");
  const std::string what = load_error(path);
  BOOST_TEST(contains(what, "plugin " + path + ": cannot load: "));
  BOOST_TEST(contains(what, "No such file"));
}

BOOST_AUTO_TEST_CASE(refuses_a_file_that_is_not_a_library) {
  hookd::test::TempDir dir;
  const std::string path = dir.write("notes.so", "not an ELF file\n");
  const std::string what = load_error(path);
  BOOST_TEST(contains(what, "plugin " + path + ": cannot load: "));
}

BOOST_AUTO_TEST_CASE(a_bare_name_is_not_searched_in_the_system_path) {
  // libc.so.6 is always loadable by name through the system search path.
  const std::string what = load_error("libc.so.6");
  BOOST_TEST(contains(what, "plugin ./libc.so.6: cannot load"));
}

BOOST_AUTO_TEST_CASE(refuses_a_missing_entry_symbol) {
  const std::string what = load_error(fixture_plugin("missing_symbol"));
  BOOST_TEST(contains(what, fixture_plugin("missing_symbol")));
  BOOST_TEST(contains(what, "does not export hookd_plugin_v1"));
}

BOOST_AUTO_TEST_CASE(refuses_another_abi_major) {
  const std::string what = load_error(fixture_plugin("wrong_abi"));
  BOOST_TEST(what == "plugin " + fixture_plugin("wrong_abi") +
                         ": was built for plugin ABI 2, this hookd speaks 1 (rebuild it "
                         "against this hookd's plugin.h)");
}

BOOST_AUTO_TEST_CASE(refuses_a_too_small_descriptor) {
  const std::string what = load_error(fixture_plugin("small_descriptor"));
  BOOST_TEST(contains(what, fixture_plugin("small_descriptor")));
  BOOST_TEST(contains(
      what, "plugin ABI 1 needs at least " + std::to_string(sizeof(hookd_plugin_descriptor))));
}

BOOST_AUTO_TEST_CASE(refuses_a_null_descriptor_no_name_or_no_function) {
  BOOST_TEST(load_error(fixture_plugin("null_descriptor")) ==
             "plugin " + fixture_plugin("null_descriptor") +
                 ": hookd_plugin_v1() returned no descriptor");
  BOOST_TEST(load_error(fixture_plugin("no_name")) ==
             "plugin " + fixture_plugin("no_name") + ": descriptor has no name");
  BOOST_TEST(load_error(fixture_plugin("no_handle")) ==
             "plugin " + fixture_plugin("no_handle") +
                 ": descriptor of 'no_handle' has no handle function");
}

BOOST_AUTO_TEST_CASE(refused_libraries_are_unloaded) {
  for (const char* name : {"wrong_abi", "missing_symbol", "small_descriptor", "no_handle"}) {
    for (int i = 0; i < 50; ++i) load_error(fixture_plugin(name));
    BOOST_TEST(!mapped("libhookd_fixture_" + std::string(name) + ".so"), name);
  }
}

BOOST_AUTO_TEST_CASE(the_last_instance_unloads_the_library) {
  std::optional<Instance> inst;
  {
    const auto lib = Library::load(fixture_plugin("ok"));
    inst.emplace(lib->create("a: 1"));
  }
  BOOST_TEST(mapped("libhookd_fixture_ok.so"));
  BOOST_TEST(inst->handle(event_with_body("")).message == "a: 1");

  Instance moved = std::move(*inst);
  inst.reset();  // a moved-from Instance destroys nothing
  BOOST_TEST(moved.handle(event_with_body("")).message == "a: 1");
  { const Instance gone = std::move(moved); }
  BOOST_TEST(!mapped("libhookd_fixture_ok.so"));
}

BOOST_AUTO_TEST_CASE(concurrent_handle_on_one_instance) {
  const auto lib = Library::load(fixture_plugin("throws"));
  const Instance inst = lib->create("");
  constexpr int kThreads = 8;
  constexpr int kCalls = 200;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::atomic<int> wrong{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const Result r = inst.handle(event_with_body(i % 2 == 0 ? "ok" : "boom"));
          if (i % 2 == 0 && r.outcome == Outcome::ok) {
            seen[t].push_back(r.message);
          } else if (!(i % 2 == 1 && r.outcome == Outcome::retry &&
                       r.message == "handler blew up on evt-1")) {
            ++wrong;
          }
        }
      });
    }
  }
  BOOST_TEST(wrong.load() == 0);
  std::set<std::string> all;
  for (const auto& v : seen) all.insert(v.begin(), v.end());
  // Every call counted once by the plugin's atomic counter: no message seen twice.
  BOOST_TEST(all.size() == static_cast<std::size_t>(kThreads * kCalls / 2));
}

BOOST_AUTO_TEST_CASE(handle_calls_run_in_parallel) {
  // Each call waits inside handle() until all four are there: they can only all return ok
  // when nothing serializes them (no time is measured; the fixture gives up after 10 s).
  const auto lib = Library::load(fixture_plugin("slow"));
  const Instance inst = lib->create("rendezvous: 4\n");
  std::atomic<int> ok{0};  // Boost.Test assertions are not thread-safe: count instead
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (inst.handle(event_with_body("")).outcome == Outcome::ok) ++ok;
      });
    }
  }
  BOOST_TEST(ok.load() == 4);
}

BOOST_AUTO_TEST_SUITE_END()
