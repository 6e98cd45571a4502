// Fuzz target: the log plugin's JSON line writer (plugins/log/json_line.cpp).
// Properties: the line is one JSON object (parsed by Boost.JSON) ending in a single '\n';
// id, route and type read back as written (bytes that are not UTF-8 become U+FFFD, so
// only well-formed ones are compared); the body reads back exactly, as text when it is
// UTF-8 and as base64 otherwise; attempt and received_at are present. Any failure traps.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_request.hpp"
#include "hookd/crypto/encoding.hpp"
#include "json_line.hpp"
#include "oracles.hpp"

using namespace hookd;

namespace {

void expect_text(const boost::json::object& o, const char* key, std::string_view written) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) __builtin_trap();
  if (fuzz::is_utf8(written) && std::string_view(v->as_string()) != written) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 12) return 0;
  // Bytes 0-7: received_at_us (any int64, before 1970 and far future included); 8-11:
  // attempt; the rest: id, route, type and body separated by '\x1e'.
  std::int64_t received_at_us = 0;
  std::uint32_t attempt = 0;
  std::memcpy(&received_at_us, data, 8);
  std::memcpy(&attempt, data + 8, 4);
  const auto f = fuzz::split_fields(fuzz::as_text(data + 12, size - 12), 4);
  const std::string_view id = f[0];
  const std::string_view route = f.size() > 1 ? f[1] : std::string_view{};
  const std::string_view type = f.size() > 2 ? f[2] : std::string_view{};
  const std::string_view body = f.size() > 3 ? f[3] : std::string_view{};

  hookd_event raw{};
  raw.struct_size = sizeof raw;
  raw.id = {id.data(), id.size()};
  raw.route = {route.data(), route.size()};
  raw.type = {type.data(), type.size()};
  raw.received_at_us = received_at_us;
  raw.attempt = attempt;
  raw.body = body.empty() ? nullptr : body.data();
  raw.body_size = body.size();
  const std::string line = plugins::log::json_line(hookd::Event(raw));

  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) __builtin_trap();
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(line, ec);
  if (ec || !doc.is_object()) __builtin_trap();
  const auto& o = doc.as_object();
  expect_text(o, "id", id);
  expect_text(o, "route", route);
  if (type.empty()) {
    if (!o.contains("type") || !o.at("type").is_null()) __builtin_trap();
  } else {
    expect_text(o, "type", type);
  }
  const auto* at = o.if_contains("received_at");
  if (at == nullptr || !at->is_string()) __builtin_trap();
  const auto* n = o.if_contains("attempt");
  if (n == nullptr || !n->is_number() || n->to_number<std::uint64_t>() != attempt) __builtin_trap();

  const auto* b = o.if_contains("body");
  if (b == nullptr || !b->is_string()) __builtin_trap();
  const bool base64 = o.contains("body_encoding");
  if (base64 == fuzz::is_utf8(body)) __builtin_trap();  // base64 exactly when not UTF-8
  if (base64) {
    const auto decoded = crypto::base64_decode(std::string_view(b->as_string()));
    if (!decoded || *decoded != body) __builtin_trap();
  } else if (std::string_view(b->as_string()) != body) {
    __builtin_trap();
  }
  return 0;
}
