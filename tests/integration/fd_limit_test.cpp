// `hookd serve` raises its descriptor limit to the hard limit and warns when even that is
// below server.limits.max_connections.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "server_process.hpp"

using namespace hookd::test;

namespace {

std::string serve_briefly(const TempDir& dir, const std::string& ulimit,
                          const std::string& extra_limits) {
  { std::ofstream(dir.path() / "hookd.yaml") << basic_config("", extra_limits); }
  // SIGTERM after 5 s; by then the log says everything about the start.
  auto r = run_command(dir.path().string(), "ulimit " + ulimit + " && timeout -s TERM 5 " +
                                                std::string(HOOKD_BINARY) + " serve -c hookd.yaml");
  return r.output;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fd_limit)

BOOST_AUTO_TEST_CASE(a_hard_limit_below_max_connections_is_reported) {
  TempDir dir;
  auto log = serve_briefly(dir, "-n 512", "    max_connections: 10000\n");
  BOOST_TEST(log.find("max_connections is 10000 but the process may open only 512 files") !=
                 std::string::npos,
             log);
}

BOOST_AUTO_TEST_CASE(a_low_soft_limit_is_raised_to_the_hard_one) {
  TempDir dir;
  // Soft 256 < 300 + reserve, hard 1024 is enough: raised, no warning.
  auto log = serve_briefly(dir, "-S -n 256 && ulimit -H -n 1024", "    max_connections: 300\n");
  BOOST_TEST(log.find("max_connections") == std::string::npos, log);
  BOOST_TEST(log.find("listening for webhooks") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
