// Serializing request headers for the events.headers column (and reading them back).
#include "hookd/outbox/headers_json.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace hookd::outbox {
namespace {

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    char32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// HTTP's historical header charset: each byte is the code point of the same value.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// Appends `s` as a JSON string, escaped as boost::json::serialize escapes it. The writer
// thread runs this for every header of every event; building a json::array of arrays
// first took ~8% of its CPU under load.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied: copied in runs, not per byte
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_text(std::string& out, std::string_view s) {
  if (is_valid_utf8(s)) {
    append_json_string(out, s);
  } else {
    append_json_string(out, latin1_to_utf8(s));
  }
}

}  // namespace

std::string headers_to_json(const std::vector<Header>& headers) {
  std::size_t size = 2;
  for (const Header& h : headers) size += h.name.size() + h.value.size() + 8;
  std::string out;
  out.reserve(size);
  out += '[';
  for (const Header& h : headers) {
    if (out.size() > 1) out += ',';
    out += '[';
    append_text(out, h.name);
    out += ',';
    append_text(out, h.value);
    out += ']';
  }
  out += ']';
  return out;
}

std::vector<Header> headers_from_json(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
  if (ec || !v.is_array()) throw std::invalid_argument("headers: not a JSON array");
  std::vector<Header> out;
  out.reserve(v.get_array().size());
  for (const boost::json::value& item : v.get_array()) {
    const auto* pair = item.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
        !(*pair)[1].is_string()) {
      throw std::invalid_argument("headers: expected [name, value] pairs");
    }
    out.push_back({std::string((*pair)[0].get_string()), std::string((*pair)[1].get_string())});
  }
  return out;
}

}  // namespace hookd::outbox
