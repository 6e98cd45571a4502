// Extraction of an event's id and type from a request: `header:NAME` or `json:/pointer`.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "hookd/config/config.hpp"
#include "hookd/http/request.hpp"

namespace hookd::ingest {

// RFC 6901: resolves `pointer` ("" or "/a/0/b~1c") in `root`; nullptr when absent.
const boost::json::value* resolve_pointer(const boost::json::value& root, std::string_view pointer);

// The body parsed once, only when some field needs it. Lives for one request: the parsed
// body takes its memory from a buffer inside the Extractor (a body of a few KiB needs no
// heap allocation), then from the heap in growing blocks.
class Extractor {
 public:
  explicit Extractor(const http::Request& request) : request_(request) {}

  // The field's value as text (a JSON string as-is, a number in its JSON form).
  // On failure returns nullopt and sets `error` to a message naming the field.
  std::optional<std::string> get(const config::FieldRef& field, std::string& error);

 private:
  const http::Request& request_;
  unsigned char arena_[4096];
  boost::json::monotonic_resource memory_{arena_, sizeof arena_};
  std::optional<boost::json::value> json_;  // in memory_
  bool json_tried_ = false;
  bool json_ok_ = false;
};

// A fresh, time-ordered unique id (UUID version 7 text form) for routes without event.id.
std::string generate_event_id();

}  // namespace hookd::ingest
