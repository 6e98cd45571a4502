// Fuzz target: base64 (standard and URL-safe) and hex in framework/src/crypto/encoding.cpp.
// Properties: every encoder's output decodes back to its input; a decoder that accepts a
// text gives bytes that survive another encode/decode unchanged. Any failure traps.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_request.hpp"
#include "hookd/crypto/encoding.hpp"

using namespace hookd;

namespace {

template <class Encode, class Decode>
void round_trip(std::string_view input, Encode encode, Decode decode) {
  const std::optional<std::string> back = decode(encode(input));
  if (!back || *back != input) __builtin_trap();
  // The input as text: decoders must answer (nullopt or bytes) without reading past it.
  if (const auto decoded = decode(input)) {
    const auto again = decode(encode(*decoded));
    if (!again || *again != *decoded) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  round_trip(input, crypto::base64_encode, crypto::base64_decode);
  round_trip(input, crypto::base64url_encode, crypto::base64url_decode);
  round_trip(input, crypto::hex_encode, crypto::hex_decode);
  // Lengths are exact: padded base64 is 4 per 3 bytes rounded up, hex 2 per byte.
  if (crypto::base64_encode(input).size() != (size + 2) / 3 * 4) __builtin_trap();
  if (crypto::hex_encode(input).size() != 2 * size) __builtin_trap();
  return 0;
}
