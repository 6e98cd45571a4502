// counter_test.cpp: unit tests of the counter plugin with hookd/plugin_testing.hpp, which
// loads the built libhookd_counter.so and calls it exactly as hookd does. No test framework
// needed: each failed check prints a line, and the exit code is the number of failures
// (CTest runs it: `ctest --test-dir build-plugin`). The library's path comes from CMake.
//   counter_test LIBRARY_PATH SCRATCH_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <hookd/plugin_testing.hpp>

namespace {

int failures = 0;

#define CHECK_EQ(got, want)                                                        \
  do {                                                                             \
    const auto& got_ = (got);                                                      \
    const auto& want_ = (want);                                                    \
    if (!(got_ == want_)) {                                                        \
      std::printf("%s:%d: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, #got, \
                  std::string(got_).c_str(), std::string(want_).c_str());          \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

std::string outcome(const hookd::testing::Result& r) {
  return (r.ok() ? "ok " : r.retry() ? "retry " : "fail ") + r.message;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One event as hookd would hand it: route "example", a fixed receive time.
hookd::testing::Event event(const std::string& id, const std::string& type,
                            const std::string& body) {
  return hookd::testing::Event()
      .id(id)
      .route("example")
      .type(type)
      .received_at_us(1764336848123456)  // 2025-11-28T13:34:08.123456Z
      .body(body);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s LIBRARY_PATH SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  const auto plugin = hookd::testing::Plugin::load(argv[1]);
  const std::filesystem::path dir = argv[2];
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  CHECK_EQ(plugin.name(), std::string("counter"));

  // Counts per type on one instance; an empty body is a permanent failure.
  const auto log = dir / "counter.log";
  {
    const auto counter = plugin.create("path: " + log.string());
    CHECK_EQ(outcome(counter.handle(event("evt_1", "invitation.created", R"({"id":1})"))),
             std::string("ok invitation.created #1"));
    CHECK_EQ(outcome(counter.handle(event("evt_2", "invitation.created", R"({"id":2})"))),
             std::string("ok invitation.created #2"));
    CHECK_EQ(outcome(counter.handle(event("evt_3", "assessment.completed", "{}"))),
             std::string("ok assessment.completed #1"));
    CHECK_EQ(outcome(counter.handle(event("evt_4", "invitation.created", ""))),
             std::string("fail empty body: nothing to count"));
    CHECK_EQ(outcome(counter.handle(event("evt_5", "", "nobody"))), std::string("ok (none) #1"));
  }
  CHECK_EQ(read_file(log),
           std::string("2025-11-28T13:34:08.123456Z example evt_1 invitation.created #1\n"
                       "2025-11-28T13:34:08.123456Z example evt_2 invitation.created #2\n"
                       "2025-11-28T13:34:08.123456Z example evt_3 assessment.completed #1\n"
                       "2025-11-28T13:34:08.123456Z example evt_5 (none) #1\n"));

  // A file that cannot be written is worth a retry (after the handler's backoff).
  const auto unwritable = dir / "no" / "such" / "dir" / "counter.log";
  const auto retry =
      hookd::testing::invoke(plugin, "path: " + unwritable.string(), event("evt_6", "t", "{}"));
  CHECK_EQ(outcome(retry),
           "retry " + unwritable.string() + ": cannot open: No such file or directory");
  CHECK_EQ(std::to_string(retry.retry_after.count()), std::string("0"));

  // A config without `path` is refused: hookd check and serve would show this reason.
  try {
    hookd::testing::invoke(plugin, "{}", event("evt_7", "t", "{}"));
    std::printf("%s:%d: a config without path was accepted\n", __FILE__, __LINE__);
    ++failures;
  } catch (const hookd::testing::CreateError& e) {
    CHECK_EQ(e.reason(), std::string("counter: the config needs `path`, the file to append to"));
  }

  if (failures == 0) std::printf("counter_test: all checks passed\n");
  return failures;
}
