// A store, a writer and an engine running the "script" fixture plugin, with helpers to
// append events and to read what the plugin and the store saw.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db.hpp"
#include "eventually.hpp"
#include "hookd/outbox/writer.hpp"
#include "hookd/worker/engine.hpp"
#include "temp_dir.hpp"

namespace hookd::worker::test {

// One "start ID ATTEMPT" / "end ID ATTEMPT" line of the script plugin's log.
struct Call {
  bool start = false;
  std::string id;
  std::uint32_t attempt = 0;
};

using hookd::test::eventually;

class EngineFixture {
 public:
  EngineFixture();
  // With the writer's options adjusted by `configure` (after the fixture's own).
  explicit EngineFixture(const std::function<void(outbox::WriterOptions&)>& configure);
  ~EngineFixture();

  // A handler of route "r" on a new script instance logging to log(plugin); in a plugin
  // host when the suite runs under process isolation, unless `in_process`.
  Handler handler(const std::string& plugin, std::uint32_t concurrency = 4,
                  std::uint32_t max_attempts = 5, bool ordered = false, bool in_process = false);
  // Starts the engine (once); the writer wakes it on new deliveries.
  void start(std::vector<Handler> handlers, EngineOptions options = {},
             metrics::Registry* registry = nullptr);

  // Appends event `id` with `body` and a delivery per plugin; waits for the commit.
  void append(const std::string& id, const std::string& body,
              const std::vector<std::string>& plugins, const std::string& ordering_key = {});
  // The same without waiting: the future has the append's status once it committed.
  std::future<outbox::AppendStatus> submit(const std::string& id, const std::string& body,
                                           const std::vector<std::string>& plugins,
                                           const std::string& ordering_key = {});

  std::string state(const std::string& id, const std::string& plugin);
  std::int64_t attempts(const std::string& id, const std::string& plugin);
  std::string last_error(const std::string& id, const std::string& plugin);
  std::vector<std::string> history(const std::string& id, const std::string& plugin);
  bool settled(const std::string& id, const std::string& plugin);  // done or dead
  // Rows in which the count table (kept by the writer from the engine's results) and a
  // count of the deliveries themselves differ; 0 when they agree.
  std::int64_t count_mismatches();
  std::vector<Call> calls(const std::string& plugin);
  // The most calls of `plugin` that overlapped in time, per the log's order.
  int max_overlap(const std::string& plugin);

  std::string log(const std::string& plugin) { return tmp.file(plugin + ".log"); }
  // handler() puts plugins in hosts (the suite runs under process isolation).
  static bool hosted();
  std::string path() { return tmp.file("hookd.db"); }

  hookd::test::TempDir tmp;
  std::unique_ptr<outbox::Writer> writer;
  std::unique_ptr<Engine> engine;
};

}  // namespace hookd::worker::test
