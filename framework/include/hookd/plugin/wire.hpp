// The plugin host protocol: length-prefixed binary frames over SOCK_STREAM Unix sockets
// between the engine (plugin::Host) and a `hookd plugin-host` process.
//
// Frame: u32 little-endian length of what follows, u8 FrameType, payload. Integers are
// little-endian; a string is a u32 length and its bytes. On the control socket the engine
// sends Config and the host answers Ready or CreateFailed (then exits); nothing more is
// sent there. Each lane (one socket per call the host may run at once) then carries one
// Call at a time and its Reply, with the same call_id.
//
// Decoding is strict: sizes are bounded, every byte of a payload must be consumed, enum
// values must be known; anything else throws WireError (never reads out of bounds).
//
// Thread-safety: the functions are pure; a FrameReader belongs to one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/plugin/loader.hpp"

namespace hookd::plugin::wire {

// A frame or payload is malformed, too large or truncated; or the socket failed.
class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Largest frame accepted (length field).
inline constexpr std::size_t kMaxFrameSize = 256u * 1024 * 1024;
// The largest body a Call carries: the frame less room for the rest of the event (an id of
// at most 64 KiB, headers of at most 32 KiB, route, type). server.limits.max_body may not
// exceed it when a handler runs in a plugin host (the config loader checks).
inline constexpr std::size_t kMaxCallBody = kMaxFrameSize - 1024u * 1024;
// Most headers one Call may carry.
inline constexpr std::size_t kMaxHeaders = 10'000;

enum class FrameType : std::uint8_t {
  config = 1,         // engine → host: the plugin's config YAML
  ready = 2,          // host → engine: create() succeeded
  create_failed = 3,  // host → engine: load or create() failed; payload: message
  call = 4,           // engine → host
  reply = 5,          // host → engine
};

struct Frame {
  FrameType type;
  std::string payload;
};

// One attempt as received by the host; owns its bytes. event() gives the view a plugin
// Instance takes, valid while this object lives and is not modified.
struct CallMessage {
  std::uint64_t call_id = 0;
  std::string id, route, type;
  std::int64_t received_at_us = 0;
  std::uint32_t attempt = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  Event event(std::vector<Header>& header_views) const;
};

struct ReplyMessage {
  std::uint64_t call_id = 0;
  Result result;
};

// Each appends one whole frame (length prefix included) to `out`.
void encode_config(std::string& out, std::string_view config_yaml);
void encode_ready(std::string& out);
void encode_create_failed(std::string& out, std::string_view message);
void encode_call(std::string& out, std::uint64_t call_id, const Event& event);
void encode_reply(std::string& out, std::uint64_t call_id, const Result& result);

// Decode a frame's payload (as read by FrameReader). Throw WireError.
std::string decode_config(std::string_view payload);
std::string decode_create_failed(std::string_view payload);
CallMessage decode_call(std::string_view payload);
ReplyMessage decode_reply(std::string_view payload);
void decode_ready(std::string_view payload);  // must be empty

// Splits the bytes of a stream into frames. feed() bytes, then next() until nullopt.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete frame, or nullopt when more bytes are needed. Throws WireError for
  // an oversized length or an unknown frame type.
  std::optional<Frame> next();
  bool empty() const noexcept { return buffer_.size() == consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
};

// Reads frames from a blocking socket fd (not owned). read() returns nullopt at a clean
// end of stream (between frames); throws WireError for a malformed frame, a stream that
// ends inside a frame, or a read error.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  std::optional<Frame> read();

 private:
  int fd_;
  FrameDecoder decoder_;
};

// Writes all of `bytes` to the socket fd (MSG_NOSIGNAL: no SIGPIPE). Throws WireError.
void write_all(int fd, std::string_view bytes);
// The same, giving up at `deadline` (a peer that stopped reading): false then, with part
// of the bytes possibly written. Throws WireError for a failed write.
bool write_all(int fd, std::string_view bytes, std::chrono::steady_clock::time_point deadline);

}  // namespace hookd::plugin::wire
