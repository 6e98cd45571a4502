// The account key and JSON Web Signatures of RFC 8555 §6.2: ES256 (P-256), flattened JSON
// serialization, `jwk` before the account exists and `kid` after; the JWK thumbprint of
// RFC 7638; External Account Binding (§7.3.4, HS256). Pure functions over OpenSSL EVP.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace hookd::tls::acme {

using KeyPtr = std::shared_ptr<EVP_PKEY>;

KeyPtr generate_p256_key();                          // throws std::runtime_error
std::string private_key_pem(const EVP_PKEY& key);    // PKCS#8 PEM, unencrypted
KeyPtr parse_private_key_pem(std::string_view pem);  // throws std::runtime_error (never quotes it)

// {"crv":"P-256","kty":"EC","x":"…","y":"…"}: members in lexical order, no whitespace
// (the RFC 7638 canonical form, also used as the `jwk` header member).
std::string jwk_json(const EVP_PKEY& key);
// base64url(SHA-256(jwk_json(key))).
std::string jwk_thumbprint(const EVP_PKEY& key);

struct JwsHeader {
  std::string url;    // the request URL (required)
  std::string nonce;  // from Replay-Nonce (required)
  std::string kid;    // the account URL; empty: the `jwk` member is sent instead
};

// {"protected":"…","payload":"…","signature":"…"}, alg ES256, the signature as the raw
// 64-byte r||s (RFC 7518 §3.4). An empty payload is POST-as-GET (payload "").
std::string sign_jws(const EVP_PKEY& key, const JwsHeader& header, std::string_view payload);

// The `externalAccountBinding` member of a newAccount payload: a flattened JWS, alg HS256,
// protected {"alg","kid","url"}, payload the account's JWK, signed with the base64url-
// decoded `hmac_key`. Throws std::runtime_error when hmac_key is not base64url.
std::string external_account_binding(std::string_view kid, std::string_view hmac_key_b64url,
                                     const EVP_PKEY& account_key, std::string_view url);

}  // namespace hookd::tls::acme
