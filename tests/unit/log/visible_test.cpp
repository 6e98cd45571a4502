// log::visible and the text line format: control characters, C1 and bytes that are not
// UTF-8 become visible escapes; everything else is kept as it is.
#include "hookd/log/visible.hpp"

#include <spdlog/details/log_msg.h>

#include <boost/test/unit_test.hpp>

#include <regex>

#include "hookd/log/text_formatter.hpp"

using namespace hookd::log;

namespace {

std::string text_line(std::string_view message) {
  spdlog::details::log_msg msg("hookd", spdlog::level::warn,
                               spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t out;
  make_text_formatter()->format(msg, out);
  return {out.data(), out.size()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_visible)

BOOST_AUTO_TEST_CASE(printable_text_is_kept) {
  const std::string text = "route jofi, id evt_1 \"quoted\" C:\\path é € 𝄞";
  BOOST_TEST(!needs_escaping(text));
  BOOST_TEST(visible(text) == text);
}

BOOST_AUTO_TEST_CASE(control_characters_are_escaped) {
  BOOST_TEST(visible("a\nb\rc\td") == "a\\nb\\rc\\td");
  BOOST_TEST(visible(std::string("nul\0bel\x07" "esc\x1b[2Jdel\x7f", 19)) ==
             "nul\\x00bel\\x07esc\\x1b[2Jdel\\x7f");
  // OSC 52 (the clipboard) with ESC and with the C1 form of OSC (U+009D) and ST (U+009C).
  BOOST_TEST(visible("\x1b]52;c;aGk=\x07") == "\\x1b]52;c;aGk=\\x07");
  BOOST_TEST(visible("\xC2\x9D" "0;title\xC2\x9C") == "\\u009d0;title\\u009c");
  BOOST_TEST(visible("\xC2\x9B" "2J") == "\\u009b2J");
  BOOST_TEST(visible("\xC2\xA0") == "\xC2\xA0");  // U+00A0 is printable
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_are_escaped) {
  BOOST_TEST(visible("bad \x9b \xC3 \xFF \xED\xA0\x80 end") ==
             "bad \\x9b \\xc3 \\xff \\xed\\xa0\\x80 end");
  BOOST_TEST(!valid_utf8("\xC3"));
  BOOST_TEST(!valid_utf8("\xE0\x80\x80"));  // overlong
  BOOST_TEST(valid_utf8("é€𝄞"));
}

BOOST_AUTO_TEST_CASE(newlines_and_tabs_kept_for_a_body) {
  BOOST_TEST(visible("{\n\t\"a\": 1\r\n}\x1b", Newlines::keep) == "{\n\t\"a\": 1\\r\n}\\x1b");
  BOOST_TEST(!needs_escaping("{\n\t}", Newlines::keep));
  BOOST_TEST(needs_escaping("{\n\t}"));
}

BOOST_AUTO_TEST_CASE(a_text_log_line_cannot_be_forged) {
  const std::string line = text_line(
      "event evt\n2026-12-07T00:00:00.000+00:00 error forged\x1b]52;c;aGk=\x07 stored");
  static const std::regex format(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d warning .*\n)");
  BOOST_TEST(std::regex_match(line, format), line);
  BOOST_TEST(line.find('\n') == line.size() - 1);  // one line
  BOOST_TEST(line.find('\x1b') == std::string::npos);
  BOOST_TEST(line.find("event evt\\n2026-12-07T00:00:00.000+00:00 error forged\\x1b]52") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
