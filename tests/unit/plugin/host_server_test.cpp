// serve_host() in-process over socketpairs (no child): handshake on the control socket,
// calls answered on their lanes, CreateFailed for a refused config, a protocol error ends
// the session.
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <string>

#include "hookd/plugin/host_server.hpp"
#include "hookd/plugin/wire.hpp"

using namespace hookd::plugin;
using namespace hookd::plugin::wire;

namespace {

// serve_host on one end of socketpairs (the control socket and two lanes, at consecutive
// descriptors from kBase as serve_host wants them), the test on the other.
constexpr int kBase = 900;

struct Session {
  explicit Session(const std::string& fixture) {
    for (int i = 0; i < 3; ++i) {
      int fds[2];
      BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
      (i == 0 ? engine : lanes[i - 1]) = fds[0];
      BOOST_REQUIRE(::dup2(fds[1], kBase + i) == kBase + i);
      ::close(fds[1]);
    }
    HostServerOptions o;
    o.library = std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_" + fixture + ".so";
    o.fd = kBase;
    o.threads = 2;
    exit_code = std::async(std::launch::async, [o] { return serve_host(o); });
  }
  ~Session() {
    for (int fd : {engine, lanes[0], lanes[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  void send(const std::string& bytes) { write_all(engine, bytes); }
  // Closes the engine's ends and returns serve_host's exit code.
  int finish() {
    for (int fd : {engine, lanes[0], lanes[1]}) ::shutdown(fd, SHUT_WR);
    return exit_code.get();
  }

  int engine = -1;
  int lanes[2] = {-1, -1};
  std::future<int> exit_code;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_host_server)

BOOST_AUTO_TEST_CASE(handshake_then_calls_then_clean_end) {
  Session s("crashy");
  std::string out;
  encode_config(out, "{}");
  s.send(out);
  FrameReader reader(s.engine);
  auto ready = reader.read();
  BOOST_REQUIRE(ready);
  BOOST_TEST((ready->type == FrameType::ready));
  // One call per lane, the second sent while the first may still run.
  Event ev;
  ev.id = "a";
  ev.body = "retry";
  out.clear();
  encode_call(out, 1, ev);
  write_all(s.lanes[0], out);
  ev.id = "b";
  ev.body = "x";
  out.clear();
  encode_call(out, 2, ev);
  write_all(s.lanes[1], out);
  std::map<std::uint64_t, Result> replies;
  for (int lane : s.lanes) {
    FrameReader lane_reader(lane);
    auto f = lane_reader.read();
    BOOST_REQUIRE(f);
    BOOST_REQUIRE((f->type == FrameType::reply));
    auto r = decode_reply(f->payload);
    replies[r.call_id] = r.result;
  }
  BOOST_TEST((replies[1].outcome == Outcome::retry));
  BOOST_TEST(replies[1].retry_after.count() == 1500);
  BOOST_TEST((replies[2].outcome == Outcome::ok));
  BOOST_TEST(replies[2].message.rfind("b|", 0) == 0u);
  BOOST_TEST(s.finish() == 0);
}

BOOST_AUTO_TEST_CASE(refused_config_is_create_failed) {
  Session s("crashy");
  std::string out;
  encode_config(out, "fail_create: true");
  s.send(out);
  FrameReader reader(s.engine);
  auto f = reader.read();
  BOOST_REQUIRE(f);
  BOOST_REQUIRE((f->type == FrameType::create_failed));
  BOOST_TEST(decode_create_failed(f->payload).find("refused: fail_create is set") !=
             std::string::npos);
  BOOST_TEST(!reader.read());  // then the host closes the socket
  BOOST_TEST(s.finish() == 1);
}

BOOST_AUTO_TEST_CASE(missing_library_is_create_failed) {
  Session s("no_such_fixture");
  std::string out;
  encode_config(out, "{}");
  s.send(out);
  FrameReader reader(s.engine);
  auto f = reader.read();
  BOOST_REQUIRE(f);
  BOOST_REQUIRE((f->type == FrameType::create_failed));
  BOOST_TEST(decode_create_failed(f->payload).find("cannot load") != std::string::npos);
  BOOST_TEST(s.finish() == 1);
}

BOOST_AUTO_TEST_CASE(protocol_errors_end_the_session) {
  {
    Session s("crashy");
    s.send(std::string("\x01\x00\x00\x00\x02", 5));  // Ready, not Config
    BOOST_TEST(s.finish() == 2);
  }
  {
    Session s("crashy");
    std::string out;
    encode_config(out, "{}");
    s.send(out);
    write_all(s.lanes[0], std::string("\x02\x00\x00\x00\x04\x00", 6));  // a Call of one byte
    BOOST_TEST(s.finish() == 2);
  }
  {
    Session s("crashy");
    std::string out;
    encode_config(out, "{}");
    encode_config(out, "{}");  // the control socket carries nothing after Config
    s.send(out);
    BOOST_TEST(s.finish() == 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
