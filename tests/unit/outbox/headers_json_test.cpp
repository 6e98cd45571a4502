// The events.headers encoding: order, duplicates, escaping, and non-UTF-8 header bytes.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <stdexcept>

#include "hookd/outbox/headers_json.hpp"

using namespace hookd::outbox;

BOOST_AUTO_TEST_SUITE(outbox_headers_json)

BOOST_AUTO_TEST_CASE(array_of_pairs_in_order) {
  std::vector<Header> headers = {{"A", "1"}, {"a", "2"}, {"X-Quote", "\"\\\n"}};
  const std::string json = headers_to_json(headers);
  BOOST_TEST(json == R"([["A","1"],["a","2"],["X-Quote","\"\\\n"]])");
  auto back = headers_from_json(json);
  BOOST_REQUIRE(back.size() == 3u);
  BOOST_TEST(back[2].value == "\"\\\n");
  BOOST_TEST(headers_to_json({}) == "[]");
}

BOOST_AUTO_TEST_CASE(escapes_as_boost_json_does) {
  // Every ASCII byte, in a name and in a value, plus valid multi-byte UTF-8: the same text
  // as boost::json::serialize of the same array of pairs.
  std::string ascii;
  for (int c = 0; c < 0x80; ++c) ascii += static_cast<char>(c);
  std::vector<Header> headers = {
      {ascii, ascii}, {"X-Utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}, {"", ""}};
  boost::json::array expected;
  for (const Header& h : headers) expected.push_back(boost::json::array{h.name, h.value});
  BOOST_TEST(headers_to_json(headers) == boost::json::serialize(expected));
  auto back = headers_from_json(headers_to_json(headers));
  BOOST_REQUIRE(back.size() == 3u);
  BOOST_TEST(back[0].value == ascii);
}

BOOST_AUTO_TEST_CASE(obs_text_is_read_as_latin1) {
  // 0xE9 alone is not UTF-8; as ISO-8859-1 it is 'é' (U+00E9 = C3 A9).
  const std::string json = headers_to_json({{"X-Name", "caf\xe9"}});
  BOOST_TEST(json == "[[\"X-Name\",\"caf\xc3\xa9\"]]");
  BOOST_TEST(headers_from_json(json)[0].value == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(malformed_json_is_rejected) {
  BOOST_CHECK_THROW(headers_from_json("{}"), std::invalid_argument);
  BOOST_CHECK_THROW(headers_from_json("[[\"a\"]]"), std::invalid_argument);
  BOOST_CHECK_THROW(headers_from_json("[[\"a\",1]]"), std::invalid_argument);
  BOOST_CHECK_THROW(headers_from_json("not json"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
