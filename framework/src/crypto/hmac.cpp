// HmacKey over EVP_MAC: one keyed EVP_MAC_CTX per (key, thread), re-initialised per MAC.
#include "hookd/crypto/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <atomic>
#include <stdexcept>
#include <unordered_map>

#include "hookd/crypto/compare.hpp"

namespace hookd::crypto {

struct HmacKey::State {
  MacAlgorithm algorithm;
  std::string key;
  std::uint64_t id;

  State(MacAlgorithm a, std::string_view k, std::uint64_t i) : algorithm(a), key(k), id(i) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { OPENSSL_cleanse(key.data(), key.size()); }
};

namespace {

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct CtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_MAC_CTX, CtxDeleter>;

const char* digest_name(MacAlgorithm a) {
  switch (a) {
    case MacAlgorithm::sha1:
      return "SHA1";
    case MacAlgorithm::sha256:
      return "SHA256";
    case MacAlgorithm::sha512:
      return "SHA512";
  }
  return "SHA256";
}

// The HMAC implementation, fetched once per process (EVP_MAC objects are immutable and
// reference counted, so sharing one between threads is what OpenSSL intends).
EVP_MAC* hmac_method() {
  static const std::unique_ptr<EVP_MAC, MacDeleter> method(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!method) throw std::runtime_error("OpenSSL: HMAC is not available");
  return method.get();
}

CtxPtr new_keyed_context(MacAlgorithm algorithm, const std::string& key) {
  CtxPtr ctx(EVP_MAC_CTX_new(hmac_method()));
  if (!ctx) throw std::runtime_error("OpenSSL: EVP_MAC_CTX_new failed");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(algorithm)), 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    throw std::runtime_error(std::string("OpenSSL: cannot key HMAC-") + digest_name(algorithm));
  }
  return ctx;
}

// This thread's keyed contexts, by key id. The weak_ptr tells when the key is gone.
struct CacheEntry {
  std::weak_ptr<const void> owner;
  CtxPtr ctx;
};

std::unordered_map<std::uint64_t, CacheEntry>& thread_contexts() {
  thread_local std::unordered_map<std::uint64_t, CacheEntry> contexts;
  return contexts;
}

std::uint64_t next_key_id() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

std::optional<MacAlgorithm> parse_mac_algorithm(std::string_view name) {
  if (name == "sha1") return MacAlgorithm::sha1;
  if (name == "sha256") return MacAlgorithm::sha256;
  if (name == "sha512") return MacAlgorithm::sha512;
  return std::nullopt;
}

std::size_t mac_size(MacAlgorithm algorithm) {
  switch (algorithm) {
    case MacAlgorithm::sha1:
      return 20;
    case MacAlgorithm::sha256:
      return 32;
    case MacAlgorithm::sha512:
      return 64;
  }
  return 0;
}

HmacKey::HmacKey(MacAlgorithm algorithm, std::string_view key)
    : state_(std::make_shared<const State>(algorithm, key, next_key_id())) {
  // Key this thread's context now: an algorithm OpenSSL refuses fails here, at build time.
  (void)mac(std::string_view());
}

MacAlgorithm HmacKey::algorithm() const {
  return state_->algorithm;
}

MacValue HmacKey::mac(std::span<const std::string_view> parts) const {
  auto& contexts = thread_contexts();
  auto it = contexts.find(state_->id);
  if (it == contexts.end()) {
    // A new key on this thread (first use, or a reload): forget the contexts of dead keys.
    std::erase_if(contexts, [](const auto& entry) { return entry.second.owner.expired(); });
    it = contexts
             .emplace(state_->id,
                      CacheEntry{state_, new_keyed_context(state_->algorithm, state_->key)})
             .first;
  }
  EVP_MAC_CTX* ctx = it->second.ctx.get();
  if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1) {
    throw std::runtime_error("OpenSSL: HMAC re-init failed");
  }
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) !=
        1) {
      throw std::runtime_error("OpenSSL: HMAC update failed");
    }
  }
  MacValue out;
  if (EVP_MAC_final(ctx, out.bytes.data(), &out.size, out.bytes.size()) != 1) {
    throw std::runtime_error("OpenSSL: HMAC final failed");
  }
  return out;
}

bool HmacKey::verify(std::span<const std::string_view> parts, std::string_view expected) const {
  return constant_time_equal(mac(parts).view(), expected);
}

}  // namespace hookd::crypto
