// The HTTPS client's response parser: framing by length, chunks and close, and answers that
// do not depend on how the bytes arrive (the fuzz target https_response found a chunk line
// that passed in one read and failed in two).
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

#include "hookd/https/response.hpp"

using hookd::https::ResponseParser;

namespace {

// Feeds `bytes` cut at `cut`, then the end of the connection.
ResponseParser parse(std::string_view bytes, std::size_t cut, std::size_t limit = 1024) {
  ResponseParser p(limit);
  p.feed(bytes.substr(0, cut));
  p.feed(bytes.substr(cut));
  p.eof();
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(https_response)

BOOST_AUTO_TEST_CASE(length_and_chunked_bodies) {
  const auto a = parse("HTTP/1.1 429 Slow Down\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno", 5);
  BOOST_REQUIRE(a.done());
  BOOST_TEST(a.response().status == 429);
  BOOST_TEST(a.response().reason == "Slow Down");
  BOOST_TEST(*a.response().header("retry-after") == "7");
  BOOST_TEST(a.response().body == "no");

  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  for (std::size_t cut = 0; cut <= chunked.size(); ++cut) {
    const auto p = parse(chunked, cut);
    BOOST_REQUIRE(p.done());
    BOOST_TEST(p.response().body == "abc");
  }
}

BOOST_AUTO_TEST_CASE(limits_do_not_depend_on_the_reads) {
  // A chunk size line (extensions included) of 1100 bytes: refused, however it arrives.
  const std::string long_ext = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;" +
                               std::string(1100, 'e') + "\r\nabc\r\n0\r\n\r\n";
  for (std::size_t cut : {std::size_t{0}, std::size_t{60}, std::size_t{1100}, long_ext.size()}) {
    BOOST_TEST(parse(long_ext, cut).failed(), cut);
  }
  // Exactly at the limit: accepted, however it arrives.
  const std::string at_limit = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;" +
                               std::string(1022, 'e') + "\r\nabc\r\n0\r\n\r\n";
  for (std::size_t cut = 1050; cut < 1080; ++cut) BOOST_TEST(parse(at_limit, cut).done(), cut);

  // Headers over 64 KiB: refused whether the blank line comes in the same read or later.
  const std::string big_head =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'h') + "\r\nContent-Length: 0\r\n\r\n";
  BOOST_TEST(parse(big_head, big_head.size()).failed());
  BOOST_TEST(parse(big_head, 66 * 1024).failed());
}

BOOST_AUTO_TEST_SUITE_END()
