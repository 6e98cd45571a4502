#include "hookd/log/visible.hpp"

namespace hookd::log {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The escape for the character that starts `text` (`n`: its length in bytes, 0 when it is
// not UTF-8), or nothing when it is printed as it is.
std::string_view escape(std::string_view text, std::size_t n, Newlines newlines, char (&buf)[7]) {
  const auto c = static_cast<unsigned char>(text[0]);
  if (n == 0) {
    buf[0] = '\\', buf[1] = 'x', buf[2] = kHex[c >> 4], buf[3] = kHex[c & 0x0F];
    return {buf, 4};
  }
  if (c == '\n') return newlines == Newlines::keep ? std::string_view{} : "\\n";
  if (c == '\t') return newlines == Newlines::keep ? std::string_view{} : "\\t";
  if (c == '\r') return "\\r";
  if (c < 0x20 || c == 0x7F) {
    buf[0] = '\\', buf[1] = 'x', buf[2] = kHex[c >> 4], buf[3] = kHex[c & 0x0F];
    return {buf, 4};
  }
  if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[1]) < 0xA0) {  // U+0080..U+009F
    const auto low = static_cast<unsigned char>(text[1]);
    buf[0] = '\\', buf[1] = 'u', buf[2] = '0', buf[3] = '0', buf[4] = kHex[low >> 4],
    buf[5] = kHex[low & 0x0F];
    return {buf, 6};
  }
  return {};
}

}  // namespace

std::size_t utf8_sequence(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  unsigned cp = 0;
  unsigned min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1Fu, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0Fu, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

void append_visible(std::string_view text, std::string& out, Newlines newlines) {
  char buf[7];
  while (!text.empty()) {
    const std::size_t n = utf8_sequence(text);
    const std::string_view escaped = escape(text, n, newlines, buf);
    if (escaped.empty()) {
      out.append(text.substr(0, n));
    } else {
      out.append(escaped);
    }
    text.remove_prefix(n == 0 ? 1 : n);
  }
}

std::string visible(std::string_view text, Newlines newlines) {
  if (!needs_escaping(text, newlines)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  append_visible(text, out, newlines);
  return out;
}

bool needs_escaping(std::string_view text, Newlines newlines) {
  char buf[7];
  while (!text.empty()) {
    const std::size_t n = utf8_sequence(text);
    if (!escape(text, n, newlines, buf).empty()) return true;
    text.remove_prefix(n == 0 ? 1 : n);
  }
  return false;
}

}  // namespace hookd::log
