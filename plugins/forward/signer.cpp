// Standard Webhooks signing for the forward plugin's `resign:`; see signer.hpp.
#include "signer.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>

namespace hookd::plugins::forward {
namespace {

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  // Without padding the length mod 4 is 0, 2 or 3; with it, padding must complete a quad.
  if (text.size() % 4 == 1 || (pad > 0 && (text.size() + pad) % 4 != 0)) return false;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = b64_value(c);
    if (v < 0) return false;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero (canonical encoding).
  return (buffer & ((1u << bits) - 1)) == 0;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Signer::Signer(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) != kPrefix) {
    throw std::invalid_argument("expected a Standard Webhooks secret: whsec_<base64>");
  }
  if (!base64_decode(secret.substr(kPrefix.size()), key_)) {
    throw std::invalid_argument("the part after whsec_ is not valid base64");
  }
  if (key_.empty()) throw std::invalid_argument("the key after whsec_ is empty");
  mac_ = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac_ == nullptr) {
    OPENSSL_cleanse(key_.data(), key_.size());
    throw std::runtime_error("OpenSSL has no HMAC");
  }
}

Signer::~Signer() {
  OPENSSL_cleanse(key_.data(), key_.size());
  EVP_MAC_free(mac_);
}

std::string Signer::sign(std::string_view id, std::int64_t timestamp, std::string_view body) const {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac_));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  const std::string ts = "." + std::to_string(timestamp) + ".";
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  const auto update = [&](std::string_view part) {
    return EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                          part.size()) == 1;
  };
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key_.data()), key_.size(),
                   params) != 1 ||
      !update(id) || !update(ts) || !update(body) ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof out) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(out), out_len));
}

}  // namespace hookd::plugins::forward
