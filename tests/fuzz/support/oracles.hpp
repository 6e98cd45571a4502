// Independent reference checks for the round-trip targets: written here, apart from the
// code under test, so that a shared mistake cannot hide itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hookd::fuzz {

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool is_utf8(std::string_view bytes);

// Each byte as the ISO-8859-1 character it names, in UTF-8.
std::string latin1_to_utf8(std::string_view bytes);

// Splits `input` at each '\x1e' (ASCII record separator) into at most `max` fields; the last
// field keeps the rest, separators included.
std::vector<std::string_view> split_fields(std::string_view input, std::size_t max);

}  // namespace hookd::fuzz
