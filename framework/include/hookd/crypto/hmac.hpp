// HMAC (SHA-1, SHA-256, SHA-512) over OpenSSL 3 EVP_MAC, with the keyed context kept per
// key and per thread so a verification pays neither the fetch nor the key schedule.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hookd::crypto {

enum class MacAlgorithm { sha1, sha256, sha512 };

// "sha1" | "sha256" | "sha512" → the algorithm; nullopt otherwise.
std::optional<MacAlgorithm> parse_mac_algorithm(std::string_view name);
// The MAC length in bytes: 20, 32 or 64.
std::size_t mac_size(MacAlgorithm algorithm);

// A MAC value held inline (no allocation on the hot path).
struct MacValue {
  std::array<unsigned char, 64> bytes{};
  std::size_t size = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), size}; }
};

// One HMAC key. Copies share the key material (immutable); the key bytes are cleansed when
// the last copy goes away. A moved-from key may only be assigned to or destroyed.
//
// Thread-safety: every member is const and may be called from many threads at once. Each
// thread lazily creates its own keyed EVP_MAC_CTX for this key (a thread_local cache
// indexed by a per-key id that is never reused) and re-initialises it for each MAC with
// EVP_MAC_init(ctx, nullptr, 0, nullptr), which keeps the key schedule. A thread drops the
// contexts of destroyed keys the next time it creates a context for a new key (e.g. after
// a config reload), and all of them when it exits.
//
// Errors: the constructor throws std::runtime_error when OpenSSL refuses the algorithm
// (e.g. SHA-1 in a FIPS-only configuration) — it keys one context to find out. mac() throws
// std::runtime_error only if OpenSSL fails unexpectedly (allocation failure).
class HmacKey {
 public:
  HmacKey(MacAlgorithm algorithm, std::string_view key);

  MacAlgorithm algorithm() const;
  std::size_t size() const { return mac_size(algorithm()); }

  // The MAC of the concatenation of `parts`, fed piece by piece (nothing is concatenated).
  MacValue mac(std::span<const std::string_view> parts) const;
  MacValue mac(std::initializer_list<std::string_view> parts) const {
    return mac(std::span<const std::string_view>(parts.begin(), parts.size()));
  }
  MacValue mac(std::string_view data) const { return mac({data}); }

  // Constant-time comparison of the MAC of `parts` with `expected` (raw bytes).
  bool verify(std::span<const std::string_view> parts, std::string_view expected) const;
  bool verify(std::initializer_list<std::string_view> parts, std::string_view expected) const {
    return verify(std::span<const std::string_view>(parts.begin(), parts.size()), expected);
  }

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

}  // namespace hookd::crypto
