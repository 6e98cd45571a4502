// The engine test fixture; see engine_fixture.hpp.
#include "engine_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "hookd/plugin/loader.hpp"
#include "server_process.hpp"

namespace hookd::worker::test {

EngineFixture::EngineFixture() : EngineFixture([](outbox::WriterOptions&) {}) {}

EngineFixture::EngineFixture(const std::function<void(outbox::WriterOptions&)>& configure) {
  outbox::WriterOptions options;
  options.path = path();
  options.fsync_each_commit = false;
  configure(options);
  writer = std::make_unique<outbox::Writer>(options);
}

EngineFixture::~EngineFixture() {
  if (engine) engine->stop(std::chrono::seconds(10));
  writer->stop();
}

bool EngineFixture::hosted() {
  const char* mode = hookd::test::test_isolation();
  return mode != nullptr && std::string_view(mode) == "process";
}

Handler EngineFixture::handler(const std::string& plugin, std::uint32_t concurrency,
                               std::uint32_t max_attempts, bool ordered, bool in_process) {
  const std::string library = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_script.so";
  const std::string config = "log: " + log(plugin);
  Handler h;
  h.route = "r";
  h.plugin = plugin;
  if (!in_process && hosted()) {
    plugin::HostOptions o;
    o.name = plugin;
    o.binary = HOOKD_BINARY;
    o.library = library;
    o.config_yaml = config;
    o.threads = concurrency;
    h.callee.host = std::make_shared<plugin::Host>(o);
  } else {
    h.callee.instance =
        std::make_shared<const plugin::Instance>(plugin::Library::load(library)->create(config));
  }
  h.concurrency = concurrency;
  h.retry.max_attempts = max_attempts;
  h.retry.initial_backoff = std::chrono::milliseconds(20);
  h.retry.max_backoff = std::chrono::milliseconds(40);
  h.retry.jitter = config::RetryConfig::Jitter::none;
  h.ordered = ordered;
  return h;
}

void EngineFixture::start(std::vector<Handler> handlers, EngineOptions options,
                          metrics::Registry* registry) {
  engine = std::make_unique<Engine>(*writer, options, std::move(handlers), registry);
  writer->on_new_deliveries([e = engine.get()] { e->wake(); });
}

void EngineFixture::append(const std::string& id, const std::string& body,
                           const std::vector<std::string>& plugins,
                           const std::string& ordering_key) {
  BOOST_REQUIRE((submit(id, body, plugins, ordering_key).get() == outbox::AppendStatus::accepted));
}

std::future<outbox::AppendStatus> EngineFixture::submit(const std::string& id,
                                                        const std::string& body,
                                                        const std::vector<std::string>& plugins,
                                                        const std::string& ordering_key) {
  outbox::NewEvent event;
  event.route = "r";
  event.id = id;
  event.type = "t";
  event.received_at_us = 1;
  event.body = body;
  for (const auto& p : plugins) event.deliveries.push_back({p, ordering_key});
  auto status = std::make_shared<std::promise<outbox::AppendStatus>>();
  auto future = status->get_future();
  writer->append(std::move(event),
                 [status](outbox::AppendResult r) { status->set_value(r.status); });
  return future;
}

namespace {
constexpr const char* kWhere =
    "FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = ? AND d.handler = ?";
}

std::string EngineFixture::state(const std::string& id, const std::string& plugin) {
  hookd::test::Db db(path());
  return db.text(std::string("SELECT d.state ") + kWhere, {id, plugin}).value_or("(none)");
}

std::int64_t EngineFixture::count_mismatches() {
  return hookd::test::count_mismatches(path());
}

std::int64_t EngineFixture::attempts(const std::string& id, const std::string& plugin) {
  hookd::test::Db db(path());
  return db.integer(std::string("SELECT d.attempts ") + kWhere, {id, plugin});
}

std::string EngineFixture::last_error(const std::string& id, const std::string& plugin) {
  hookd::test::Db db(path());
  return db.text(std::string("SELECT d.last_error ") + kWhere, {id, plugin}).value_or("");
}

std::vector<std::string> EngineFixture::history(const std::string& id, const std::string& plugin) {
  hookd::test::Db db(path());
  return db.column(
      "SELECT a.outcome FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
      "JOIN events e ON e.seq = d.event_seq WHERE e.id = ? AND d.handler = ? ORDER BY a.attempt",
      {id, plugin});
}

bool EngineFixture::settled(const std::string& id, const std::string& plugin) {
  const auto s = state(id, plugin);
  return s == "done" || s == "dead";
}

std::vector<Call> EngineFixture::calls(const std::string& plugin) {
  std::ifstream in(log(plugin));
  std::vector<Call> out;
  std::string word;
  Call c;
  while (in >> word >> c.id >> c.attempt) {
    c.start = word == "start";
    out.push_back(c);
  }
  return out;
}

int EngineFixture::max_overlap(const std::string& plugin) {
  int now = 0, most = 0;
  for (const Call& c : calls(plugin)) {
    now += c.start ? 1 : -1;
    most = std::max(most, now);
  }
  return most;
}

}  // namespace hookd::worker::test
