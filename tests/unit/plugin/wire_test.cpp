// Plugin host protocol: every message round-trips (binary bodies, headers, outcomes), frames
// split across reads are reassembled, and malformed input is a WireError, never UB.
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hookd/plugin/wire.hpp"

using namespace hookd::plugin;
using namespace hookd::plugin::wire;

namespace {

Frame only_frame(const std::string& bytes) {
  FrameDecoder d;
  d.feed(bytes);
  auto f = d.next();
  BOOST_REQUIRE(f);
  BOOST_TEST(d.empty());
  return *f;
}

std::string call_frame() {
  const std::vector<Header> headers{{"X-Sig", "abc"}, {"Content-Type", "application/json"}};
  Event ev;
  ev.id = "evt-1";
  ev.route = "jofi";
  ev.type = "a.b";
  ev.received_at_us = -5;
  ev.attempt = 7;
  ev.headers = headers;
  ev.body = std::string_view("a\0b\xff", 4);
  std::string out;
  encode_call(out, 42, ev);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_wire)

BOOST_AUTO_TEST_CASE(call_round_trips_every_field) {
  const Frame f = only_frame(call_frame());
  BOOST_TEST((f.type == FrameType::call));
  const CallMessage m = decode_call(f.payload);
  BOOST_TEST(m.call_id == 42u);
  BOOST_TEST(m.id == "evt-1");
  BOOST_TEST(m.route == "jofi");
  BOOST_TEST(m.type == "a.b");
  BOOST_TEST(m.received_at_us == -5);
  BOOST_TEST(m.attempt == 7u);
  BOOST_REQUIRE(m.headers.size() == 2u);
  BOOST_TEST(m.headers[1].first == "Content-Type");
  BOOST_TEST(m.headers[1].second == "application/json");
  BOOST_TEST(m.body == std::string("a\0b\xff", 4));
  std::vector<Header> views;
  const Event ev = m.event(views);
  BOOST_TEST(ev.headers.size() == 2u);
  BOOST_TEST(ev.headers[0].name == "X-Sig");
  BOOST_TEST(ev.body.size() == 4u);
}

// kMaxCallBody is what the config loader lets max_body reach with a plugin host: a body that
// large, with the largest id (64 KiB) and header block (32 KiB) the listener takes, fits in
// one frame; a body of the whole frame size does not.
BOOST_AUTO_TEST_CASE(the_largest_allowed_event_fits_in_a_call) {
  const std::string id(64 * 1024, 'i');
  const std::string value(32 * 1024 - 16, 'v');
  const std::vector<Header> headers{{"X-Big", value}};
  std::string body(kMaxCallBody, 'b');
  const std::string route(256, 'r');
  const std::string type(1024, 't');
  Event ev;  // views: what they point at must outlive it
  ev.id = id;
  ev.route = route;
  ev.type = type;
  ev.headers = headers;
  ev.body = body;
  std::string out;
  encode_call(out, 1, ev);
  BOOST_TEST(out.size() <= kMaxFrameSize + 4);
  body.resize(kMaxFrameSize);
  ev.body = body;
  out.clear();
  BOOST_CHECK_THROW(encode_call(out, 1, ev), WireError);
  BOOST_TEST(out.empty());  // nothing half-written
}

BOOST_AUTO_TEST_CASE(reply_and_startup_frames_round_trip) {
  Result r;
  r.outcome = Outcome::retry;
  r.retry_after = std::chrono::milliseconds(1500);
  r.message = "try later";
  std::string out;
  encode_reply(out, 9, r);
  encode_ready(out);
  encode_create_failed(out, "refused");
  encode_config(out, "a: 1\n");
  FrameDecoder d;
  // One byte at a time: frames come out whole, in order.
  std::vector<Frame> frames;
  for (char c : out) {
    d.feed(std::string_view(&c, 1));
    while (auto f = d.next()) frames.push_back(*f);
  }
  BOOST_REQUIRE(frames.size() == 4u);
  const ReplyMessage m = decode_reply(frames[0].payload);
  BOOST_TEST(m.call_id == 9u);
  BOOST_TEST((m.result.outcome == Outcome::retry));
  BOOST_TEST(m.result.retry_after.count() == 1500);
  BOOST_TEST(m.result.message == "try later");
  BOOST_TEST((frames[1].type == FrameType::ready));
  BOOST_CHECK_NO_THROW(decode_ready(frames[1].payload));
  BOOST_TEST(decode_create_failed(frames[2].payload) == "refused");
  BOOST_TEST(decode_config(frames[3].payload) == "a: 1\n");
}

BOOST_AUTO_TEST_CASE(every_truncation_of_a_call_is_an_error) {
  const std::string payload = only_frame(call_frame()).payload;
  for (std::size_t n = 0; n < payload.size(); ++n) {
    BOOST_CHECK_THROW(decode_call(payload.substr(0, n)), WireError);
  }
  BOOST_CHECK_THROW(decode_call(payload + "x"), WireError);  // trailing bytes
}

BOOST_AUTO_TEST_CASE(lying_sizes_and_unknown_values_are_errors) {
  std::string payload = only_frame(call_frame()).payload;
  // The header count (after call_id 8, three strings, received_at 8, attempt 4).
  const std::size_t count_at = 8 + (4 + 5) + (4 + 4) + (4 + 3) + 8 + 4;
  payload[count_at + 3] = '\x7f';
  BOOST_CHECK_THROW(decode_call(payload), WireError);

  Result r;
  std::string reply;
  encode_reply(reply, 1, r);
  std::string p = only_frame(reply).payload;
  p[8] = 3;  // outcome
  BOOST_CHECK_THROW(decode_reply(p), WireError);
  BOOST_CHECK_THROW(decode_ready("x"), WireError);

  FrameDecoder unknown;
  unknown.feed(std::string("\x01\x00\x00\x00\x09", 5));
  BOOST_CHECK_THROW(unknown.next(), WireError);
  FrameDecoder empty;
  empty.feed(std::string(4, '\0'));
  BOOST_CHECK_THROW(empty.next(), WireError);
  FrameDecoder huge;
  huge.feed(std::string("\xff\xff\xff\x7f\x04", 5));
  BOOST_CHECK_THROW(huge.next(), WireError);
}

BOOST_AUTO_TEST_CASE(a_write_gives_up_at_its_deadline_when_nobody_reads) {
  int fds[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  const std::string big(8 * 1024 * 1024, 'x');
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  BOOST_TEST(!write_all(fds[0], big, deadline));
  BOOST_TEST(write_all(fds[0], "small", std::chrono::steady_clock::now() + std::chrono::seconds(1)) ==
             false);  // the buffer is still full: nothing fits before the deadline
  ::close(fds[1]);
  BOOST_CHECK_THROW(write_all(fds[0], big, std::chrono::steady_clock::now() + std::chrono::seconds(1)),
                    WireError);  // the reader is gone
  ::close(fds[0]);
}

BOOST_AUTO_TEST_CASE(reader_sees_clean_end_and_truncated_frames) {
  int fds[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  std::string out;
  encode_ready(out);
  write_all(fds[1], out);
  write_all(fds[1], call_frame().substr(0, 10));
  ::close(fds[1]);
  FrameReader reader(fds[0]);
  auto first = reader.read();
  BOOST_REQUIRE(first);
  BOOST_TEST((first->type == FrameType::ready));
  BOOST_CHECK_THROW(reader.read(), WireError);
  ::close(fds[0]);

  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  ::close(fds[1]);
  FrameReader at_end(fds[0]);
  BOOST_TEST(!at_end.read());
  ::close(fds[0]);
}

BOOST_AUTO_TEST_SUITE_END()
