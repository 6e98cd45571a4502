// The jofi plugin's SMTP reply reader on plain bytes: single and multi-line replies, LF
// and CRLF, bytes arriving in pieces, and the malformed and overlong replies it refuses.
#include <boost/test/unit_test.hpp>

#include <string>

#include "smtp_reply.hpp"

using hookd::plugins::jofi::SmtpError;
using hookd::plugins::jofi::SmtpReplyReader;

BOOST_AUTO_TEST_SUITE(smtp_reply)

BOOST_AUTO_TEST_CASE(multi_line_reply_in_pieces) {
  SmtpReplyReader r;
  r.feed("250-mail.example.com\r\n250-SI");
  BOOST_TEST(!r.next("EHLO"));
  r.feed("ZE 1000\r\n250 HELP\r\n221 Bye\n");
  const auto ehlo = r.next("EHLO");
  BOOST_REQUIRE(ehlo);
  BOOST_TEST(ehlo->code == 250);
  BOOST_TEST(ehlo->text == "250-mail.example.com / 250-SIZE 1000 / 250 HELP");
  const auto bye = r.next("QUIT");
  BOOST_REQUIRE(bye);
  BOOST_TEST(bye->code == 221);
  BOOST_TEST(bye->text == "221 Bye");
  BOOST_TEST(!r.next("QUIT"));
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_errors) {
  for (const char* bytes : {"22 short\r\n", "2x0 ok\r\n", "\r\n"}) {
    SmtpReplyReader r;
    r.feed(bytes);
    BOOST_CHECK_THROW(r.next("greeting"), SmtpError);
  }
}

BOOST_AUTO_TEST_CASE(overlong_replies_are_errors) {
  // One line past the limit: refused before its end arrives, and when it arrives at once.
  SmtpReplyReader line;
  line.feed("220 " + std::string(SmtpReplyReader::kMaxReply, 'x'));
  BOOST_CHECK_THROW(line.next("greeting"), SmtpError);
  SmtpReplyReader whole;
  whole.feed("220 " + std::string(SmtpReplyReader::kMaxReply, 'x') + "\r\n");
  BOOST_CHECK_THROW(whole.next("greeting"), SmtpError);
  // At the limit: accepted.
  SmtpReplyReader at_limit;
  at_limit.feed("220 " + std::string(SmtpReplyReader::kMaxReply - 4, 'x') + "\r\n");
  BOOST_TEST(at_limit.next("greeting").has_value());

  // Many short continuation lines add up too.
  SmtpReplyReader lines;
  std::string many;
  while (many.size() <= SmtpReplyReader::kMaxReply) many += "250-more\r\n";
  lines.feed(many);
  BOOST_CHECK_THROW(lines.next("EHLO"), SmtpError);
}

BOOST_AUTO_TEST_SUITE_END()
