// The `events.headers` column: a JSON array of [name, value] pairs in the order received.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hookd/outbox/event.hpp"

namespace hookd::outbox {

// [["Content-Type","application/json"],["X-Id","1"]]. Always valid JSON: a name or value
// that is not valid UTF-8 (obs-text bytes) is read as ISO-8859-1 and stored as UTF-8.
std::string headers_to_json(const std::vector<Header>& headers);

// The inverse; throws std::invalid_argument when `json` is not such an array.
std::vector<Header> headers_from_json(std::string_view json);

}  // namespace hookd::outbox
