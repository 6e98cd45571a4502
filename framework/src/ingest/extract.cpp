// Field extraction (headers, RFC 6901 JSON pointers) and generated event ids.
#include "hookd/ingest/extract.hpp"

#include <openssl/rand.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <vector>

namespace hookd::ingest {

namespace {

// One RFC 6901 reference token with `~1` and `~0` undone ("a~1b" -> "a/b").
std::string unescape_token(std::string_view raw) {
  std::string token;
  token.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
      token += raw[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      token += raw[i];
    }
  }
  return token;
}

// A token as an array index: decimal digits without a leading zero ("-" and "01" are none).
std::optional<std::size_t> array_index(std::string_view token) {
  std::size_t index = 0;
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc{} || p != token.data() + token.size()) return std::nullopt;
  return index;
}

// Duplicate keys along a pointer's path. boost::json::parse keeps the last of a key's values,
// and Boost 1.81 has no option to refuse duplicates, so the parsed body cannot tell: the text
// is walked again, once per field. The walk relies on the text having been parsed already
// (well-formed JSON, no comments) and reads only the keys of the objects on the path; every
// other value is skipped by its quotes and brackets, with no number or UTF-8 decoding and no
// allocation, so it costs a fraction of the parse.
class PathScan {
 public:
  static constexpr std::size_t npos = std::size_t(-1);

  PathScan(std::string_view text, const std::vector<std::string>& tokens)
      : p_(text.data()), end_(text.data() + text.size()), tokens_(tokens) {}

  // The index of the first token that an object on the path holds more than once, or npos.
  std::size_t ambiguous_step() {
    skip_ws();
    return walk(0);
  }

 private:
  static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void skip_ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }
  // From a string's opening quote to past its closing one.
  void skip_string() {
    for (++p_; p_ < end_; ++p_) {
      if (*p_ == '\\') {
        if (++p_ == end_) return;
      } else if (*p_ == '"') {
        ++p_;
        return;
      }
    }
  }
  // Past one value. Brackets inside strings do not count, hence the strings are skipped whole.
  void skip_value() {
    if (p_ == end_) return;
    if (*p_ == '"') return skip_string();
    if (*p_ != '{' && *p_ != '[') {  // a number, true, false or null
      while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && !is_ws(*p_)) ++p_;
      return;
    }
    std::size_t depth = 0;
    while (p_ < end_) {
      const char c = *p_;
      if (c == '"') {
        skip_string();
        continue;
      }
      ++p_;
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return;
      }
    }
  }
  // Past a ',' between members or elements, if there is one.
  void skip_separator() {
    skip_ws();
    if (p_ < end_ && *p_ == ',') ++p_;
    skip_ws();
  }
  // Whether a key as written (with its quotes) is `token`. Escaped keys ("i\u0064" is "id")
  // are decoded by Boost; they are rare, and only the keys of objects on the path get here.
  static bool key_is(std::string_view quoted, const std::string& token) {
    const std::string_view raw = quoted.substr(1, quoted.size() - 2);
    if (raw.find('\\') == std::string_view::npos) return raw == token;
    if (raw.size() < token.size()) return false;  // an escape never makes a key longer
    boost::system::error_code ec;
    const boost::json::value key = boost::json::parse(quoted, ec);
    const auto* s = key.if_string();
    return !ec && s != nullptr && std::string_view(s->data(), s->size()) == token;
  }

  // Walks the value at p_, which the first `i` tokens lead to, and moves past it.
  std::size_t walk(std::size_t i) {
    if (i == tokens_.size() || p_ == end_ || (*p_ != '{' && *p_ != '[')) {
      skip_value();
      return npos;
    }
    const std::string& token = tokens_[i];
    if (*p_ == '[') {
      // An array holds each index once; only the element the token names leads on.
      const std::optional<std::size_t> index = array_index(token);
      ++p_;
      skip_ws();
      for (std::size_t k = 0; p_ < end_ && *p_ != ']'; ++k) {
        if (index && k == *index) {
          if (std::size_t found = walk(i + 1); found != npos) return found;
        } else {
          skip_value();
        }
        skip_separator();
      }
    } else {
      // The whole object is read: the key may come again after the value that leads on.
      bool seen = false;
      ++p_;
      skip_ws();
      while (p_ < end_ && *p_ != '}') {
        const char* key = p_;
        skip_string();
        const bool on_path = key_is(std::string_view(key, p_ - key), token);
        skip_ws();
        if (p_ < end_) ++p_;  // ':'
        skip_ws();
        if (on_path) {
          if (seen) return i;
          seen = true;
          if (std::size_t found = walk(i + 1); found != npos) return found;
        } else {
          skip_value();
        }
        skip_separator();
      }
    }
    if (p_ < end_) ++p_;  // ']' or '}'
    return npos;
  }

  const char* p_;
  const char* end_;
  const std::vector<std::string>& tokens_;
};

// An error naming `field` when an object on its pointer's path holds the key it steps through
// more than once: the sender's first-wins reader and our last-wins parse would disagree on
// the value (an event id other than the dedupe key). Only key names from the pointer are
// named, never values, which may be personal data.
std::optional<std::string> ambiguity(const config::FieldRef& field, std::string_view body) {
  std::string_view pointer = field.name;
  if (pointer.empty() || pointer.front() != '/') return std::nullopt;
  std::vector<std::string> tokens;
  std::vector<std::size_t> starts;  // where each token's '/' is in the pointer
  for (std::size_t at = 0; at != std::string_view::npos;) {
    const std::size_t next = pointer.find('/', at + 1);
    starts.push_back(at);
    tokens.push_back(unescape_token(pointer.substr(at + 1, next - (at + 1))));
    at = next;
  }
  const std::size_t i = PathScan(body, tokens).ambiguous_step();
  if (i == PathScan::npos) return std::nullopt;
  std::string error =
      "field " + field.text + " is ambiguous: the key \"" + tokens[i] + "\" appears more than once";
  if (i > 0) error += " in " + std::string(pointer.substr(0, starts[i]));
  return error;
}

}  // namespace

const boost::json::value* resolve_pointer(const boost::json::value& root,
                                          std::string_view pointer) {
  const boost::json::value* cur = &root;
  if (pointer.empty()) return cur;
  if (pointer.front() != '/') return nullptr;
  pointer.remove_prefix(1);
  for (;;) {
    auto slash = pointer.find('/');
    const std::string token = unescape_token(pointer.substr(0, slash));
    if (const auto* obj = cur->if_object()) {
      auto it = obj->find(token);
      if (it == obj->end()) return nullptr;
      cur = &it->value();
    } else if (const auto* arr = cur->if_array()) {
      const std::optional<std::size_t> index = array_index(token);
      if (!index || *index >= arr->size()) return nullptr;
      cur = &(*arr)[*index];
    } else {
      return nullptr;
    }
    if (slash == std::string_view::npos) return cur;
    pointer.remove_prefix(slash + 1);
  }
}

std::optional<std::string> Extractor::get(const config::FieldRef& field, std::string& error) {
  using Kind = config::FieldRef::Kind;
  if (field.kind == Kind::header) {
    auto v = request_.header(field.name);
    if (!v || v->empty()) {
      error = "missing header " + field.name + " (" + field.text + ")";
      return std::nullopt;
    }
    return std::string(*v);
  }
  if (field.kind != Kind::json) return std::string();
  if (!json_tried_) {
    json_tried_ = true;
    boost::system::error_code ec;
    json_ = boost::json::parse(request_.body, ec, boost::json::storage_ptr(&memory_));
    json_ok_ = !ec;
  }
  if (!json_ok_) {
    error = "body is not valid JSON (needed for " + field.text + ")";
    return std::nullopt;
  }
  // Before the lookup: a key given twice on the path is refused even when the value the
  // parse kept would be absent or of the wrong type, since the sender's first one may not be.
  if (auto why = ambiguity(field, request_.body)) {
    error = std::move(*why);
    return std::nullopt;
  }
  const boost::json::value* v = resolve_pointer(*json_, field.name);
  if (v == nullptr) {
    error = "field " + field.text + " is absent";
    return std::nullopt;
  }
  if (const auto* s = v->if_string()) {
    if (s->empty()) {
      error = "field " + field.text + " is empty";
      return std::nullopt;
    }
    return std::string(s->data(), s->size());
  }
  if (v->is_int64() || v->is_uint64()) return boost::json::serialize(*v);
  error = "field " + field.text + " is not a string or an integer";
  return std::nullopt;
}

std::string generate_event_id() {
  // UUIDv7 (RFC 9562): 48-bit unix milliseconds, version, 74 random bits.
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

}  // namespace hookd::ingest
