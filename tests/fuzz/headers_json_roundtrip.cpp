// Fuzz target: the `events.headers` column writer and reader (outbox/headers_json.cpp).
// Properties: headers_to_json always writes JSON that Boost.JSON parses as an array of
// [name, value] string pairs equal to the input (bytes that are not UTF-8 read as
// ISO-8859-1, as documented), and headers_from_json reads it back to the same. The raw
// input is also given to headers_from_json, which may only answer or throw invalid_argument.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_request.hpp"
#include "hookd/outbox/headers_json.hpp"
#include "oracles.hpp"

using namespace hookd;

namespace {

std::string expected(std::string_view bytes) {
  return fuzz::is_utf8(bytes) ? std::string(bytes) : fuzz::latin1_to_utf8(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  try {
    (void)outbox::headers_from_json(input);
  } catch (const std::invalid_argument&) {
  }

  // Fields separated by '\x1e': name, value, name, value, ...
  const auto fields = fuzz::split_fields(input, 64);
  std::vector<outbox::Header> headers;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    headers.push_back({std::string(fields[i]), std::string(fields[i + 1])});
  }
  const std::string json = outbox::headers_to_json(headers);

  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_array() || doc.as_array().size() != headers.size()) __builtin_trap();
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& pair = doc.as_array()[i];
    if (!pair.is_array() || pair.as_array().size() != 2) __builtin_trap();
    const auto& name = pair.as_array()[0];
    const auto& value = pair.as_array()[1];
    if (!name.is_string() || !value.is_string()) __builtin_trap();
    if (std::string_view(name.as_string()) != expected(headers[i].name)) __builtin_trap();
    if (std::string_view(value.as_string()) != expected(headers[i].value)) __builtin_trap();
  }

  const auto back = outbox::headers_from_json(json);
  if (back.size() != headers.size()) __builtin_trap();
  for (std::size_t i = 0; i < back.size(); ++i) {
    if (back[i].name != expected(headers[i].name) || back[i].value != expected(headers[i].value)) {
      __builtin_trap();
    }
  }
  return 0;
}
