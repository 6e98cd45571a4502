// The text framing of fuzz_request.hpp. Deliberately forgiving: the harness must turn every
// input into a request, so that the fuzzer spends its time in the code under test.
#include "fuzz_request.hpp"

#include <charconv>
#include <chrono>

namespace hookd::fuzz {
namespace {

// Cuts the next line off `rest` (without its '\n').
std::string_view next_line(std::string_view& rest) {
  const auto eol = rest.find('\n');
  std::string_view line = rest.substr(0, eol);
  rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
  return line;
}

std::string_view next_word(std::string_view& line) {
  const auto sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  return word;
}

}  // namespace

std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

FramedRequest frame_request(std::string_view input) {
  FramedRequest out;
  std::int64_t now = 1614265330;
  std::string_view rest = input;
  std::string_view first = next_line(rest);
  out.request.method = next_word(first);
  out.request.target = next_word(first);
  out.request.peer = std::string(next_word(first));
  const std::string_view when = next_word(first);
  std::int64_t parsed = 0;
  const auto [end, ec] = std::from_chars(when.data(), when.data() + when.size(), parsed);
  // Within ±200 years of 1970: system_clock counts nanoseconds in 64 bits (±292 years), and
  // an overflow in this harness would be a finding against the harness, not hookd.
  constexpr std::int64_t kLimit = 200LL * 366 * 24 * 3600;
  if (ec == std::errc() && end == when.data() + when.size() && parsed > -kLimit &&
      parsed < kLimit) {
    now = parsed;
  }
  out.context.now = std::chrono::system_clock::time_point(std::chrono::seconds(now));
  while (!rest.empty()) {
    std::string_view line = next_line(rest);
    if (line.empty()) break;
    const auto colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    out.request.headers.emplace_back(name, value);
  }
  out.request.body = std::string(rest);
  return out;
}

}  // namespace hookd::fuzz
