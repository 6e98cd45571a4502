// hookd/plugin_testing.hpp, the plugin authors' test helper: it must make of a plugin
// exactly what hookd's loader makes of it (same refusals, results and messages), for a
// .so file and for a descriptor linked into the test.
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/ingest/route_endpoint.hpp"
#include "hookd/plugin.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/plugin_testing.hpp"
#include "plugins.hpp"

namespace ht = hookd::testing;
using hookd::test::fixture_plugin;

// One source of truth would need the framework in the authors' header: pin the copy instead.
static_assert(ht::kMessageCapacity == hookd::plugin::kMessageCapacity);

namespace {

ht::Event authors_event(std::string body) {
  return ht::Event()
      .id("evt-1")
      .route("jofi")
      .type("test_taker.created")
      .received_at_us(1'700'000'000'000'000)
      .attempt(3)
      .header("X-One", "1")
      .header("X-Two", "22")
      .body(std::move(body));
}

// What hookd's own loader makes of the same call.
hookd::plugin::Result loader_result(const std::string& library, const std::string& config,
                                    const ht::Event& e) {
  std::vector<hookd::plugin::Header> headers;
  for (const auto& [name, value] : e.headers()) headers.push_back({name, value});
  hookd::plugin::Event ev;
  ev.id = e.id();
  ev.route = e.route();
  ev.type = e.type();
  ev.received_at_us = e.received_at_us();
  ev.attempt = e.attempt();
  ev.headers = headers;
  ev.body = e.body();
  return hookd::plugin::Library::load(library)->create(config).handle(ev);
}

hookd_outcome c_outcome(hookd::plugin::Outcome o) {
  switch (o) {
    case hookd::plugin::Outcome::ok:
      return HOOKD_OK;
    case hookd::plugin::Outcome::retry:
      return HOOKD_RETRY;
    case hookd::plugin::Outcome::fail:
      return HOOKD_FAIL;
  }
  return HOOKD_RETRY;
}

template <class Load>
std::string error_of(Load load) {
  try {
    load();
  } catch (const std::exception& e) {
    return e.what();
  }
  BOOST_FAIL("no error");
  return {};
}

// A C++ plugin linked into the test, used through its descriptor.
struct Echo {
  explicit Echo(std::string_view config) {
    if (config == "refuse") throw std::invalid_argument("echo: refused");
  }
  hookd::Outcome handle(const hookd::Event& e) {
    if (e.body() == "throw") throw std::runtime_error("boom");
    if (e.body() == "later") return hookd::Outcome::retry("later", std::chrono::seconds(2));
    return hookd::Outcome::ok(std::string(e.type()) + " " +
                              std::string(e.header("authorization").value_or("-")));
  }
};
constexpr hookd_plugin_descriptor kEcho = hookd::detail::make_descriptor<Echo>("echo");

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_testing)

BOOST_AUTO_TEST_CASE(a_library_gives_what_hookd_gives) {
  for (const char* body : {"retry", "fail", "invalid", "overflow", "anything"}) {
    const auto event = authors_event(body);
    const ht::Result got = ht::invoke(fixture_plugin("retry_fail"), "", event);
    const auto want = loader_result(fixture_plugin("retry_fail"), "", event);
    BOOST_TEST(got.outcome == c_outcome(want.outcome), body);
    BOOST_TEST(got.retry_after.count() == want.retry_after.count(), body);
    BOOST_TEST(got.message == want.message, body);
  }
  const auto retry = ht::invoke(fixture_plugin("retry_fail"), "", authors_event("retry"));
  BOOST_TEST(retry.retry());
  BOOST_TEST(retry.retry_after.count() == 250);
  BOOST_TEST(retry.message == "downstream busy");
  const auto invalid = ht::invoke(fixture_plugin("retry_fail"), "", authors_event("invalid"));
  BOOST_TEST(invalid.retry());
  BOOST_TEST(invalid.message == "plugin 'retry_fail' returned invalid outcome 42: confused");
  // No terminator: the last byte of the buffer is lost, nothing is read past it.
  const auto overflow = ht::invoke(fixture_plugin("retry_fail"), "", authors_event("overflow"));
  BOOST_TEST(overflow.message == std::string(ht::kMessageCapacity - 1, 'x'));
  // Every field reaches the plugin: id route type attempt header_count header_bytes time.
  const auto echo = ht::invoke(fixture_plugin("retry_fail"), "", authors_event("x"));
  BOOST_TEST(echo.ok());
  BOOST_TEST(echo.message == "evt-1 jofi test_taker.created 3 2 3 1700000000000000");
}

BOOST_AUTO_TEST_CASE(an_instance_keeps_its_state_and_gets_its_config) {
  const auto plugin = ht::Plugin::load(fixture_plugin("ok"));
  BOOST_TEST(plugin.name() == "ok");
  const auto instance = plugin.create("path: /tmp/x\n");
  for (int i = 0; i < 2; ++i) BOOST_TEST(instance.handle(ht::Event()).message == "path: /tmp/x\n");
}

BOOST_AUTO_TEST_CASE(refusals_are_hookds) {
  for (const char* name : {"missing_symbol", "wrong_abi", "small_descriptor", "null_descriptor",
                           "no_name", "no_handle", "does_not_exist"}) {
    const std::string ours = error_of([&] { ht::Plugin::load(fixture_plugin(name)); });
    const std::string hookds =
        error_of([&] { hookd::plugin::Library::load(fixture_plugin(name)); });
    BOOST_TEST(ours == hookds, name);
  }
  BOOST_CHECK_THROW(ht::Plugin::load(fixture_plugin("wrong_abi")), ht::LoadError);

  const std::string ours =
      error_of([] { ht::invoke(fixture_plugin("crashy"), "fail_create", {}); });
  const std::string hookds =
      error_of([] { loader_result(fixture_plugin("crashy"), "fail_create", {}); });
  BOOST_TEST(ours == hookds);
  try {
    ht::Plugin::load(fixture_plugin("crashy")).create("fail_create");
    BOOST_FAIL("created");
  } catch (const ht::CreateError& e) {
    BOOST_TEST(e.reason() == "refused: fail_create is set");
  }
}

BOOST_AUTO_TEST_CASE(a_linked_descriptor) {
  const auto plain = ht::invoke(&kEcho, "", ht::Event().type("a.b"));
  BOOST_TEST(plain.ok());
  BOOST_TEST(plain.message == "a.b -");
  // Credentials arrive redacted, as hookd stores them.
  const auto redacted = ht::invoke(&kEcho, "", ht::Event().header("Authorization", "Bearer x"));
  BOOST_TEST(redacted.message == " [redacted]");
  const auto thrown = ht::invoke(&kEcho, "", ht::Event().body("throw"));
  BOOST_TEST(thrown.retry());
  BOOST_TEST(thrown.message == "boom");
  const auto later = ht::invoke(&kEcho, "", ht::Event().body("later"));
  BOOST_TEST(later.retry_after.count() == 2000);
  BOOST_TEST(error_of([] { ht::invoke(&kEcho, "refuse", {}); }) ==
             "plugin 'echo' (descriptor) refused its config: echo: refused");

  hookd_plugin_descriptor wrong = kEcho;
  wrong.abi_major = 2;
  BOOST_TEST(error_of([&] { ht::Plugin::from_descriptor(&wrong); }) ==
             "plugin (descriptor): was built for plugin ABI 2, this hookd speaks 1 (rebuild it "
             "against this hookd's plugin.h)");
  hookd_plugin_descriptor no_destroy = kEcho;
  no_destroy.destroy = nullptr;
  BOOST_TEST(error_of([&] { ht::Plugin::from_descriptor(&no_destroy); }) ==
             "plugin (descriptor): descriptor of 'echo' has no destroy function");
}

BOOST_AUTO_TEST_CASE(redacts_what_hookd_redacts) {
  for (const char* name : {"Authorization", "cookie", "PROXY-AUTHORIZATION", "X-Auth", "Cookies",
                           "Signature", "Proxy-Authenticate"}) {
    BOOST_TEST(ht::Event::is_redacted(name) == hookd::ingest::is_redacted_header(name), name);
  }
}

BOOST_AUTO_TEST_SUITE_END()
