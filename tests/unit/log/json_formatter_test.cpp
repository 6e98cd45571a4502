// JsonFormatter: every line parses as JSON with ts, level, thread and msg, whatever the
// message holds; thread names.
#include "hookd/log/json_formatter.hpp"

#include <spdlog/details/log_msg.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <regex>
#include <thread>

#include "hookd/log/fields.hpp"
#include "hookd/log/thread_name.hpp"

namespace json = boost::json;
using namespace hookd::log;

namespace {

json::object format(std::string_view text, spdlog::level::level_enum level = spdlog::level::info) {
  spdlog::details::log_msg msg("hookd", level, spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  JsonFormatter formatter;
  formatter.format(msg, out);
  std::string line(out.data(), out.size());
  BOOST_REQUIRE(line.ends_with("}\n"));
  BOOST_REQUIRE(line.find('\n') == line.size() - 1);  // one line
  return json::parse(line).as_object();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_json)

BOOST_AUTO_TEST_CASE(keys_and_their_formats) {
  auto o = format("listening for webhooks on https://0.0.0.0:8443", spdlog::level::warn);
  BOOST_TEST(o.size() == 4u);
  BOOST_TEST(o.at("msg").as_string() == "listening for webhooks on https://0.0.0.0:8443");
  BOOST_TEST(o.at("level").as_string() == "warn");
  static const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  BOOST_TEST(std::regex_match(std::string(o.at("ts").as_string()), rfc3339), o.at("ts"));
  BOOST_TEST(!o.at("thread").as_string().empty());
  BOOST_TEST(format("x", spdlog::level::err).at("level").as_string() == "error");
}

BOOST_AUTO_TEST_CASE(messages_are_escaped) {
  const std::string nasty = "quote \" backslash \\ newline \n tab \t nul " + std::string(1, '\0') +
                            " bell \x07 del \x7f é €";
  BOOST_TEST(format(nasty).at("msg").as_string() == nasty);
}

BOOST_AUTO_TEST_CASE(c1_controls_are_escaped) {
  spdlog::details::log_msg msg("hookd", spdlog::level::info, "csi \xC2\x9B" "2J");
  spdlog::memory_buf_t out;
  JsonFormatter().format(msg, out);
  const std::string line(out.data(), out.size());
  BOOST_TEST(line.find("\xC2\x9B") == std::string::npos);
  BOOST_TEST(line.find("csi \\u009b2J") != std::string::npos, line);
  BOOST_TEST(format("csi \xC2\x9B" "2J").at("msg").as_string() == "csi \xC2\x9B" "2J");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_the_replacement_character) {
  auto msg = format("bad \xC3 \xFF \xED\xA0\x80 end").at("msg").as_string();
  BOOST_TEST(msg == "bad \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end");
}

BOOST_AUTO_TEST_CASE(fields_of_the_thread_become_members) {
  BOOST_TEST(!format("x").contains("route"));
  {
    hookd::log::Fields outer{{"route", "jofi"}, {"peer", "192.0.2.1"}};
    hookd::log::Fields inner{{"event_id", "e\"1"}, {"msg", "cannot replace the message"}};
    auto o = format("refused");
    BOOST_TEST(o.at("route").as_string() == "jofi");
    BOOST_TEST(o.at("peer").as_string() == "192.0.2.1");
    BOOST_TEST(o.at("event_id").as_string() == "e\"1");
    BOOST_TEST(o.at("msg").as_string() == "refused");
  }
  BOOST_TEST(!format("x").contains("route"));  // gone with the Fields objects
}

BOOST_AUTO_TEST_CASE(the_thread_is_named) {
  std::string seen;
  std::thread t([&] {
    set_thread_name("a-rather-long-thread-name");
    seen = std::string(format("x").at("thread").as_string());
  });
  t.join();
  BOOST_TEST(seen == "a-rather-long-t");  // 15 bytes, the kernel's limit
}

BOOST_AUTO_TEST_SUITE_END()
