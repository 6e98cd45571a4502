// Fuzz target: the jofi plugin's SMTP reply reader (plugins/jofi/smtp_reply.cpp): reply
// lines, codes, multi-line continuation, LF and CRLF, the length limit.
// Property: the reader is incremental, so bytes fed at once and fed one piece at a time
// (split where the first two input bytes say) give the same replies and the same error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_request.hpp"
#include "smtp_reply.hpp"

using hookd::plugins::jofi::SmtpError;
using hookd::plugins::jofi::SmtpReplyReader;

namespace {

// The replies (code and text) read, then "error: ..." when the reader threw.
std::vector<std::string> read_all(std::string_view first, std::string_view second) {
  SmtpReplyReader reader;
  std::vector<std::string> out;
  try {
    for (std::string_view piece : {first, second}) {
      reader.feed(piece);
      while (auto reply = reader.next("fuzz")) {
        if (reply->code < 0 || reply->code > 999) __builtin_trap();
        out.push_back(std::to_string(reply->code) + " " + reply->text);
      }
    }
  } catch (const SmtpError& e) {
    out.push_back(std::string("error: ") + e.what());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Bytes 0-1: where to split (little endian).
  const std::string_view bytes = hookd::fuzz::as_text(data + 2, size - 2);
  const std::size_t cut = (data[0] | static_cast<std::size_t>(data[1]) << 8) % (bytes.size() + 1);
  const auto whole = read_all(bytes, {});
  const auto split = read_all(bytes.substr(0, cut), bytes.substr(cut));
  if (whole != split) __builtin_trap();
  return 0;
}
