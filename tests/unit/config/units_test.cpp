// parse_duration / parse_size: the accepted spellings, and everything that is rejected.
#include "hookd/config/units.hpp"

#include <boost/test/unit_test.hpp>

using namespace hookd::config;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(config_units)

BOOST_AUTO_TEST_CASE(durations_with_units) {
  BOOST_TEST(parse_duration("500ms").value().count() == 500);
  BOOST_TEST(parse_duration("1500ms").value().count() == 1500);
  BOOST_TEST(parse_duration("10s").value() == Duration(10s));
  BOOST_TEST(parse_duration("5m").value() == Duration(5min));
  BOOST_TEST(parse_duration("1h").value() == Duration(1h));
  BOOST_TEST(parse_duration("7d").value() == Duration(24h * 7));
  BOOST_TEST(parse_duration("0s").value().count() == 0);
  BOOST_TEST(parse_duration("0ms").value().count() == 0);
  BOOST_TEST(parse_duration("0").value().count() == 0);
  BOOST_TEST(parse_duration("007s").value() == Duration(7s));
}

BOOST_AUTO_TEST_CASE(durations_rejected) {
  for (const char* bad :
       {"",     "10",    "1",   "s",    "ms",  "10sec", "10 s",  " 10s", "10s ", "-1s",     "+1s",
        "1.5s", "1h30m", "10S", "10MS", "abc", "1e3ms", "0x10s", "10us", "1w",   "${env:X}"}) {
    BOOST_TEST_INFO("input: '" << bad << "'");
    BOOST_TEST(!parse_duration(bad).has_value());
  }
}

BOOST_AUTO_TEST_CASE(duration_overflow_is_rejected) {
  // The largest day count that fits in int64 milliseconds is 106751991167.
  BOOST_TEST(parse_duration("106751991167d").has_value());
  BOOST_TEST(!parse_duration("106751991168d").has_value());
  BOOST_TEST(parse_duration("9223372036854775807ms").has_value());
  BOOST_TEST(!parse_duration("9223372036854775808ms").has_value());
  BOOST_TEST(!parse_duration("99999999999999999999999s").has_value());
}

BOOST_AUTO_TEST_CASE(sizes) {
  BOOST_TEST(parse_size("0").value() == 0u);
  BOOST_TEST(parse_size("512").value() == 512u);
  BOOST_TEST(parse_size("512B").value() == 512u);
  BOOST_TEST(parse_size("64KiB").value() == 64u * 1024);
  BOOST_TEST(parse_size("1MiB").value() == 1024u * 1024);
  BOOST_TEST(parse_size("2GiB").value() == 2ull * 1024 * 1024 * 1024);
  BOOST_TEST(parse_size("18446744073709551615").value() == 18446744073709551615ull);
}

BOOST_AUTO_TEST_CASE(sizes_rejected) {
  for (const char* bad : {"", "KiB", "1KB", "1MB", "1kib", "1 MiB", "1.5MiB", "-1", "+1", "1TiB",
                          "1K", "1M", "abc", "0x10", "18446744073709551616", "17179869184GiB"}) {
    BOOST_TEST_INFO("input: '" << bad << "'");
    BOOST_TEST(!parse_size(bad).has_value());
  }
}

BOOST_AUTO_TEST_SUITE_END()
