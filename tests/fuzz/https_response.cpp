// Fuzz target: the HTTPS client's response parser (framework/src/https/response.cpp, used
// by the forward plugin): status line, interim 1xx, headers, Content-Length, chunked
// encoding with extensions and trailers, reading until close, the body limit; and the
// forward plugin's Retry-After reading (plugins/forward/retry_after.cpp) of what it parsed.
// Property: the parser is incremental, so feeding the bytes in two pieces (split where the
// first input byte says) must give the same outcome as feeding them at once.
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
  if (size < 2) return 0;
  // Byte 0: where to split; byte 1: the body limit (small limits exercise truncation).
  const std::size_t limit = data[1] < 128 ? data[1] : 64 * 1024;
  const std::string_view bytes = fuzz::as_text(data + 2, size - 2);
  const std::size_t cut = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);

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
