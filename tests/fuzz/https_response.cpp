// Fuzz target: the HTTPS client's response parser (framework/src/https/response.cpp, used
// by the forward plugin): status line, interim 1xx, headers, Content-Length, chunked
// encoding with extensions and trailers, reading until close, the body limit; and the
// forward plugin's Retry-After reading (plugins/forward/retry_after.cpp) of what it parsed.
// Property: the parser is incremental, so feeding the bytes in two pieces (split where the
// first two input bytes say) must give the same outcome as feeding them at once.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_request.hpp"
#include "hookd/https/response.hpp"
#include "retry_after.hpp"

using namespace hookd;

namespace {

void parse(https::ResponseParser& p, std::string_view first, std::string_view second) {
  p.feed(first);
  p.feed(second);
  p.eof();
}

bool same(const https::ResponseParser& a, const https::ResponseParser& b) {
  if (a.failed() != b.failed() || a.done() != b.done() || a.head_done() != b.head_done()) {
    return false;
  }
  if (a.failed()) return true;  // the error text may name the piece where it noticed
  const auto& x = a.response();
  const auto& y = b.response();
  return x.status == y.status && x.reason == y.reason && x.headers == y.headers &&
         x.body == y.body && a.truncated() == b.truncated();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Bytes 0-1: where to split (little endian, so any head or chunk line can be cut);
  // byte 2: the body limit (small limits exercise truncation).
  const std::size_t at = data[0] | static_cast<std::size_t>(data[1]) << 8;
  const std::size_t limit = data[2] < 128 ? data[2] : 64 * 1024;
  const std::string_view bytes = fuzz::as_text(data + 3, size - 3);
  const std::size_t cut = at % (bytes.size() + 1);

  https::ResponseParser whole(limit);
  parse(whole, bytes, {});
  https::ResponseParser split(limit);
  parse(split, bytes.substr(0, cut), bytes.substr(cut));
  if (!same(whole, split)) __builtin_trap();
  if (whole.done()) {
    const auto& r = whole.response();
    if (r.body.size() > limit) __builtin_trap();
    if (r.status < 100 || r.status > 999) __builtin_trap();
    const auto delay = plugins::forward::retry_after(r);
    if (delay < std::chrono::milliseconds(0) || delay > std::chrono::hours(1)) __builtin_trap();
  }
  return 0;
}
