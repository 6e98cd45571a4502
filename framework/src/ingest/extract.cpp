// Field extraction (headers, RFC 6901 JSON pointers) and generated event ids.
#include "hookd/ingest/extract.hpp"

#include <openssl/rand.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <chrono>
#include <charconv>
#include <stdexcept>

namespace hookd::ingest {

const boost::json::value* resolve_pointer(const boost::json::value& root,
                                          std::string_view pointer) {
  const boost::json::value* cur = &root;
  if (pointer.empty()) return cur;
  if (pointer.front() != '/') return nullptr;
  pointer.remove_prefix(1);
  for (;;) {
    auto slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
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
    if (const auto* obj = cur->if_object()) {
      auto it = obj->find(token);
      if (it == obj->end()) return nullptr;
      cur = &it->value();
    } else if (const auto* arr = cur->if_array()) {
      std::size_t index = 0;
      if (token.empty() || (token.size() > 1 && token[0] == '0')) return nullptr;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
      if (ec != std::errc{} || p != token.data() + token.size() || index >= arr->size()) {
        return nullptr;
      }
      cur = &(*arr)[index];
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
