// Base64 (RFC 4648 standard and URL-safe alphabets) and hex, for signatures and keys.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookd::crypto {

std::string base64_encode(std::string_view bytes);
// Strict: standard alphabet, padding required, no whitespace. nullopt when invalid.
std::optional<std::string> base64_decode(std::string_view text);

// URL-safe alphabet without padding (JWT, JWK).
std::string base64url_encode(std::string_view bytes);
// Accepts the URL-safe alphabet with or without padding.
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_encode(std::string_view bytes);  // lower case
// Accepts upper and lower case; nullopt on odd length or a non-hex character.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace hookd::crypto
