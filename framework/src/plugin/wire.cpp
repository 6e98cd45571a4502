// The plugin host protocol: frame and message encoding, strict decoding, socket reads.
#include "hookd/plugin/wire.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace hookd::plugin::wire {
namespace {

constexpr std::size_t kLengthSize = 4;

void put_u8(std::string& out, std::uint8_t v) {
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  if (s.size() > kMaxFrameSize) throw WireError("wire: string too large");
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Reserves the length prefix and the type; finish() fills in the length.
std::size_t begin(std::string& out, FrameType type) {
  const std::size_t at = out.size();
  put_u32(out, 0);
  put_u8(out, static_cast<std::uint8_t>(type));
  return at;
}

void finish(std::string& out, std::size_t at) {
  const std::size_t length = out.size() - at - kLengthSize;
  if (length > kMaxFrameSize) {
    out.resize(at);
    throw WireError("wire: frame of " + std::to_string(length) + " bytes is too large");
  }
  for (std::size_t i = 0; i < 4; ++i) {
    out[at + i] = static_cast<char>((length >> (8 * i)) & 0xff);
  }
}

std::uint32_t load_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads a payload front to back; every read is bounds-checked.
class Cursor {
 public:
  Cursor(std::string_view data, const char* what) : data_(data), what_(what) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() { return load_u32(take(4).data()); }
  std::uint64_t u64() {
    const std::string_view b = take(8);
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
  }
  std::string str() { return std::string(take(u32())); }

  void done() const {
    if (!data_.empty()) fail(std::to_string(data_.size()) + " trailing bytes");
  }
  std::size_t remaining() const noexcept { return data_.size(); }
  [[noreturn]] void fail(const std::string& why) const {
    throw WireError(std::string("wire: malformed ") + what_ + ": " + why);
  }

 private:
  std::string_view take(std::size_t n) {
    if (n > data_.size()) fail("truncated");
    const std::string_view part = data_.substr(0, n);
    data_.remove_prefix(n);
    return part;
  }

  std::string_view data_;
  const char* what_;
};

bool known_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(FrameType::config) &&
         t <= static_cast<std::uint8_t>(FrameType::reply);
}

}  // namespace

Event CallMessage::event(std::vector<Header>& header_views) const {
  header_views.clear();
  header_views.reserve(headers.size());
  for (const auto& [name, value] : headers) header_views.push_back(Header{name, value});
  Event ev;
  ev.id = id;
  ev.route = route;
  ev.type = type;
  ev.received_at_us = received_at_us;
  ev.attempt = attempt;
  ev.headers = header_views;
  ev.body = body;
  return ev;
}

void encode_config(std::string& out, std::string_view config_yaml) {
  const auto at = begin(out, FrameType::config);
  put_str(out, config_yaml);
  finish(out, at);
}

void encode_ready(std::string& out) {
  finish(out, begin(out, FrameType::ready));
}

void encode_create_failed(std::string& out, std::string_view message) {
  const auto at = begin(out, FrameType::create_failed);
  put_str(out, message);
  finish(out, at);
}

void encode_call(std::string& out, std::uint64_t call_id, const Event& event) {
  if (event.headers.size() > kMaxHeaders) throw WireError("wire: too many headers");
  const auto at = begin(out, FrameType::call);
  put_u64(out, call_id);
  put_str(out, event.id);
  put_str(out, event.route);
  put_str(out, event.type);
  put_u64(out, static_cast<std::uint64_t>(event.received_at_us));
  put_u32(out, event.attempt);
  put_u32(out, static_cast<std::uint32_t>(event.headers.size()));
  for (const Header& h : event.headers) {
    put_str(out, h.name);
    put_str(out, h.value);
  }
  put_str(out, event.body);
  finish(out, at);
}

void encode_reply(std::string& out, std::uint64_t call_id, const Result& result) {
  const auto at = begin(out, FrameType::reply);
  put_u64(out, call_id);
  put_u8(out, static_cast<std::uint8_t>(result.outcome));
  const auto ms = result.retry_after.count();
  put_u64(out, ms > 0 ? static_cast<std::uint64_t>(ms) : 0);
  put_str(out, result.message);
  finish(out, at);
}

std::string decode_config(std::string_view payload) {
  Cursor c(payload, "Config");
  std::string yaml = c.str();
  c.done();
  return yaml;
}

std::string decode_create_failed(std::string_view payload) {
  Cursor c(payload, "CreateFailed");
  std::string message = c.str();
  c.done();
  return message;
}

void decode_ready(std::string_view payload) {
  Cursor(payload, "Ready").done();
}

CallMessage decode_call(std::string_view payload) {
  Cursor c(payload, "Call");
  CallMessage m;
  m.call_id = c.u64();
  m.id = c.str();
  m.route = c.str();
  m.type = c.str();
  m.received_at_us = static_cast<std::int64_t>(c.u64());
  m.attempt = c.u32();
  const std::uint32_t count = c.u32();
  // Each header takes at least 8 bytes: a count beyond that is a lie, not an allocation.
  if (count > kMaxHeaders || count > c.remaining() / 8) c.fail("bad header count");
  m.headers.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string name = c.str();
    std::string value = c.str();
    m.headers.emplace_back(std::move(name), std::move(value));
  }
  m.body = c.str();
  c.done();
  return m;
}

ReplyMessage decode_reply(std::string_view payload) {
  Cursor c(payload, "Reply");
  ReplyMessage m;
  m.call_id = c.u64();
  const std::uint8_t outcome = c.u8();
  if (outcome > static_cast<std::uint8_t>(Outcome::fail)) c.fail("unknown outcome");
  m.result.outcome = static_cast<Outcome>(outcome);
  const std::uint64_t ms = c.u64();
  if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / 2) {
    c.fail("retry_after out of range");
  }
  m.result.retry_after = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  m.result.message = c.str();
  c.done();
  return m;
}

std::optional<Frame> FrameDecoder::next() {
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kLengthSize) return std::nullopt;
  const std::uint32_t length = load_u32(buffer_.data() + consumed_);
  if (length == 0) throw WireError("wire: empty frame");
  if (length > kMaxFrameSize) {
    throw WireError("wire: frame of " + std::to_string(length) + " bytes is too large");
  }
  if (available == kLengthSize) return std::nullopt;  // the type byte is still to come
  const auto type = static_cast<std::uint8_t>(buffer_[consumed_ + kLengthSize]);
  if (!known_type(type)) throw WireError("wire: unknown frame type " + std::to_string(type));
  if (available < kLengthSize + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(type),
              buffer_.substr(consumed_ + kLengthSize + 1, length - 1)};
  consumed_ += kLengthSize + length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 64 * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return frame;
}

std::optional<Frame> FrameReader::read() {
  char chunk[64 * 1024];
  for (;;) {
    if (auto frame = decoder_.next()) return frame;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      decoder_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    } else if (n == 0) {
      if (decoder_.empty()) return std::nullopt;
      throw WireError("wire: stream ended inside a frame");
    } else if (errno != EINTR) {
      // ECONNRESET and friends: the peer is gone, as at the end of the stream.
      if (errno == ECONNRESET && decoder_.empty()) return std::nullopt;
      throw WireError(std::string("wire: read: ") + std::strerror(errno));
    }
  }
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw WireError(std::string("wire: write: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool write_all(int fd, std::string_view bytes, std::chrono::steady_clock::time_point deadline) {
  while (!bytes.empty()) {
    // MSG_DONTWAIT for this write only: the reader of the same socket keeps blocking.
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw WireError(std::string("wire: write: ") + std::strerror(errno));
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      throw WireError(std::string("wire: poll: ") + std::strerror(errno));
    }
  }
  return true;
}

}  // namespace hookd::plugin::wire
