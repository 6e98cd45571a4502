// JWS signing and verification (RS256, ES256, EdDSA) over OpenSSL EVP, the claim checks of
// an access token, and JWKS parsing via EVP_PKEY_fromdata.
#include "hookd/auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>

#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/openssl_ptr.hpp"

namespace hookd::auth {
namespace json = boost::json;

namespace {

using MdCtx = crypto::OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using PKeyCtx = crypto::OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using Bn = crypto::OsslPtr<BIGNUM, BN_free>;
using EcSig = crypto::OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBld = crypto::OsslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = crypto::OsslPtr<OSSL_PARAM, OSSL_PARAM_free>;

constexpr std::size_t kCoordinate = 32;                     // P-256 coordinates and Ed25519 keys
constexpr std::size_t kMaxToken = 16 * 1024;                // far above any real access token
constexpr std::int64_t kTimeLimit = std::int64_t{1} << 50;  // keeps `exp + leeway` in range

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// JWS ES256 signatures are r||s, 32 bytes each (RFC 7518 3.4); OpenSSL speaks DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 2 * kCoordinate) return std::nullopt;
  Bn r(BN_bin2bn(bytes(raw), kCoordinate, nullptr));
  Bn s(BN_bin2bn(bytes(raw) + kCoordinate, kCoordinate, nullptr));
  EcSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != n) return std::nullopt;
  return der;
}

std::string ecdsa_der_to_raw(std::string_view der) {
  const unsigned char* p = bytes(der);
  EcSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) throw JwtError("ECDSA signature is not DER");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kCoordinate, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordinate) != kCoordinate ||
      BN_bn2binpad(s, out + kCoordinate, kCoordinate) != kCoordinate) {
    throw JwtError("ECDSA signature out of range");
  }
  return raw;
}

// Ed25519 hashes internally and takes no digest.
const EVP_MD* digest_for(JwsAlgorithm a) {
  return a == JwsAlgorithm::eddsa ? nullptr : EVP_sha256();
}

std::string sign_bytes(const JwtKey& key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  int max = key.pkey ? EVP_PKEY_get_size(key.pkey.get()) : 0;
  if (!ctx || max <= 0 ||
      EVP_DigestSignInit(ctx.get(), nullptr, digest_for(key.algorithm), nullptr, key.pkey.get()) !=
          1) {
    ERR_clear_error();
    throw JwtError("cannot sign with this key");
  }
  std::string sig(static_cast<std::size_t>(max), '\0');
  std::size_t n = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, bytes(data),
                     data.size()) != 1) {
    ERR_clear_error();
    throw JwtError("signing failed (is it a private key?)");
  }
  sig.resize(n);
  return key.algorithm == JwsAlgorithm::es256 ? ecdsa_der_to_raw(sig) : sig;
}

bool verify_bytes(const JwtKey& key, std::string_view data, std::string_view sig) {
  std::optional<std::string> der;
  if (key.algorithm == JwsAlgorithm::es256) {
    der = ecdsa_raw_to_der(sig);
    if (!der) return false;
    sig = *der;
  }
  MdCtx ctx(EVP_MD_CTX_new());
  bool ok = ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(key.algorithm), nullptr,
                                 key.pkey.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(data), data.size()) == 1;
  if (!ok) ERR_clear_error();  // a failed verify leaves entries in this thread's error queue
  return ok;
}

// --- JWK import -------------------------------------------------------------------------

PKeyPtr public_key_from(const char* type, const OSSL_PARAM* params, const std::string& label) {
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    ERR_clear_error();
    throw JwtError(label + ": not a valid " + type + " public key");
  }
  PKeyPtr out = adopt_pkey(key);
  PKeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, out.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    throw JwtError(label + ": not a valid " + type + " public key");
  }
  return out;
}

const json::string* string_member(const json::object& o, std::string_view name,
                                  const std::string& label) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return nullptr;
  if (!v->is_string()) throw JwtError(label + ": '" + std::string(name) + "' is not a string");
  return &v->get_string();
}

std::string binary_member(const json::object& o, std::string_view name, const std::string& label) {
  const json::string* s = string_member(o, name, label);
  if (s == nullptr) throw JwtError(label + ": missing '" + std::string(name) + "'");
  auto decoded = crypto::base64url_decode(*s);
  if (!decoded || decoded->empty()) {
    throw JwtError(label + ": '" + std::string(name) + "' is not base64url");
  }
  return *decoded;
}

PKeyPtr rsa_from_jwk(const json::object& o, const std::string& label) {
  std::string n = binary_member(o, "n", label);
  std::string e = binary_member(o, "e", label);
  Bn bn_n(BN_bin2bn(bytes(n), static_cast<int>(n.size()), nullptr));
  Bn bn_e(BN_bin2bn(bytes(e), static_cast<int>(e.size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    throw JwtError(label + ": cannot build the RSA key");
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) throw JwtError(label + ": cannot build the RSA key");
  return public_key_from("RSA", params.get(), label);
}

PKeyPtr p256_from_jwk(const json::object& o, const std::string& label) {
  std::string x = binary_member(o, "x", label);
  std::string y = binary_member(o, "y", label);
  if (x.size() != kCoordinate || y.size() != kCoordinate) {
    throw JwtError(label + ": P-256 coordinates must be 32 bytes");
  }
  std::string point = '\x04' + x + y;  // uncompressed SEC1 point
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return public_key_from("EC", params, label);
}

PKeyPtr ed25519_from_jwk(const json::object& o, const std::string& label) {
  std::string x = binary_member(o, "x", label);
  if (x.size() != kCoordinate) throw JwtError(label + ": an Ed25519 key must be 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(x), x.size());
  if (key == nullptr) {
    ERR_clear_error();
    throw JwtError(label + ": not a valid Ed25519 public key");
  }
  return adopt_pkey(key);
}

// One JWK → a key, or nullopt with `why` when it is not a signature key we can use.
std::optional<JwtKey> import_jwk(const json::object& o, const std::string& label,
                                 std::string& why) {
  JwtKey out;
  if (const auto* kid = string_member(o, "kid", label)) out.kid = std::string(*kid);
  const json::string* kty = string_member(o, "kty", label);
  if (kty == nullptr) throw JwtError(label + ": missing 'kty'");
  if (const auto* use = string_member(o, "use", label); use && *use != "sig") {
    why = "'use' is \"" + std::string(*use) + "\", not \"sig\"";
    return std::nullopt;
  }
  if (const json::value* ops = o.if_contains("key_ops")) {
    bool verify =
        ops->is_array() &&
        std::any_of(ops->get_array().begin(), ops->get_array().end(), [](const json::value& v) {
          return v.is_string() && v.get_string() == "verify";
        });
    if (!verify) {
      why = "'key_ops' lacks \"verify\"";
      return std::nullopt;
    }
  }
  const json::string* crv = string_member(o, "crv", label);
  if (*kty == "RSA") {
    out.pkey = rsa_from_jwk(o, label);
  } else if (*kty == "EC" && crv && *crv == "P-256") {
    out.pkey = p256_from_jwk(o, label);
  } else if (*kty == "OKP" && crv && *crv == "Ed25519") {
    out.pkey = ed25519_from_jwk(o, label);
  } else {
    why = "kty \"" + std::string(*kty) + "\"" + (crv ? " crv \"" + std::string(*crv) + "\"" : "") +
          " is not supported (RSA, EC P-256, OKP Ed25519)";
    return std::nullopt;
  }
  auto algorithm = jws_algorithm_for(out.pkey.get());
  if (!algorithm) {
    why = "RSA keys need at least 2048 bits";
    return std::nullopt;
  }
  out.algorithm = *algorithm;
  if (const auto* alg = string_member(o, "alg", label);
      alg && parse_jws_algorithm(*alg) != out.algorithm) {
    why = "alg \"" + std::string(*alg) + "\" is not supported for this key type";
    return std::nullopt;
  }
  return out;
}

// --- header and claims ------------------------------------------------------------------

// RFC 7515 4.1.9: media type names are case-insensitive, and "at+jwt" means
// "application/at+jwt".
bool same_media_type(std::string_view a, std::string_view b) {
  constexpr std::string_view kPrefix = "application/";
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto equal = [&](std::string_view x, std::string_view y) {
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(),
                                              [&](char p, char q) { return lower(p) == lower(q); });
  };
  auto strip = [&](std::string_view t) {
    return t.size() > kPrefix.size() && equal(t.substr(0, kPrefix.size()), kPrefix)
               ? t.substr(kPrefix.size())
               : t;
  };
  return equal(strip(a), strip(b));
}

std::optional<json::object> parse_object(std::string_view b64) {
  auto text = crypto::base64url_decode(b64);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// A NumericDate (seconds, possibly fractional) clamped to ±2^50; nullopt when not a number.
std::optional<std::int64_t> numeric_date(const json::value& v) {
  double d = 0;
  if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else if (v.is_double() && std::isfinite(v.get_double())) {
    d = std::floor(v.get_double());
  } else {
    return std::nullopt;
  }
  d = std::clamp(d, -static_cast<double>(kTimeLimit), static_cast<double>(kTimeLimit));
  return static_cast<std::int64_t>(d);
}

JwtStatus check_claims(const json::object& claims, const JwtPolicy& policy,
                       std::chrono::system_clock::time_point now) {
  const std::int64_t t =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t leeway = policy.leeway.count();
  const json::value* exp = claims.if_contains("exp");
  if (exp == nullptr) return JwtStatus::missing_expiry;
  auto exp_s = numeric_date(*exp);
  if (!exp_s) return JwtStatus::malformed;
  if (t >= *exp_s + leeway) return JwtStatus::expired;
  for (std::string_view name : {"nbf", "iat"}) {
    if (const json::value* v = claims.if_contains(name)) {
      auto s = numeric_date(*v);
      if (!s) return JwtStatus::malformed;
      if (*s > t + leeway) return JwtStatus::not_yet_valid;
    }
  }
  if (!policy.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != policy.issuer) {
      return JwtStatus::wrong_issuer;
    }
  }
  if (!policy.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    bool found = false;
    if (aud != nullptr && aud->is_string()) {
      found = aud->get_string() == policy.audience;
    } else if (aud != nullptr && aud->is_array()) {
      for (const auto& a : aud->get_array())
        found = found || (a.is_string() && a.get_string() == policy.audience);
    }
    if (!found) return JwtStatus::wrong_audience;
  }
  return JwtStatus::valid;
}

}  // namespace

std::optional<JwsAlgorithm> parse_jws_algorithm(std::string_view name) {
  if (name == "RS256") return JwsAlgorithm::rs256;
  if (name == "ES256") return JwsAlgorithm::es256;
  if (name == "EdDSA") return JwsAlgorithm::eddsa;
  return std::nullopt;
}

std::string_view jws_algorithm_name(JwsAlgorithm algorithm) {
  static constexpr std::string_view kNames[] = {"RS256", "ES256", "EdDSA"};
  return kNames[static_cast<std::size_t>(algorithm)];
}

std::optional<JwsAlgorithm> jws_algorithm_for(const EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) >= 2048) return JwsAlgorithm::rs256;
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    std::string_view name(group, len);
    if (name == "prime256v1" || name == "P-256") return JwsAlgorithm::es256;
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return JwsAlgorithm::eddsa;
  return std::nullopt;
}

PKeyPtr adopt_pkey(EVP_PKEY* key) {
  return PKeyPtr(key, EVP_PKEY_free);
}

JwtKey make_jwt_key(PKeyPtr pkey, std::string kid) {
  auto algorithm = jws_algorithm_for(pkey.get());
  if (!algorithm) {
    throw JwtError("unsupported key type (expected RSA >= 2048 bits, EC P-256 or Ed25519)");
  }
  return JwtKey{std::move(kid), *algorithm, std::move(pkey)};
}

std::vector<JwtKey> parse_jwks(std::string_view text, std::vector<std::string>* skipped) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) throw JwtError("not a JSON object");
  std::vector<const json::value*> entries;
  if (const json::value* keys = doc.get_object().if_contains("keys")) {
    if (!keys->is_array()) throw JwtError("'keys' is not an array");
    for (const auto& k : keys->get_array()) entries.push_back(&k);
  } else if (doc.get_object().contains("kty")) {
    entries.push_back(&doc);
  } else {
    throw JwtError("expected a JWK set ({\"keys\": [...]}) or one JWK");
  }
  std::vector<JwtKey> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string label = "key " + std::to_string(i);
    if (!entries[i]->is_object()) throw JwtError(label + ": not an object");
    const json::object& o = entries[i]->get_object();
    if (const json::value* kid = o.if_contains("kid"); kid && kid->is_string()) {
      label += " (kid \"" + std::string(kid->get_string()) + "\")";
    }
    std::string why;
    if (auto key = import_jwk(o, label, why)) {
      out.push_back(std::move(*key));
    } else if (skipped != nullptr) {
      skipped->push_back(label + ": " + why);
    }
  }
  return out;
}

std::string sign_jws(std::string_view header_json, std::string_view payload_json,
                     const JwtKey& key) {
  std::string input =
      crypto::base64url_encode(header_json) + "." + crypto::base64url_encode(payload_json);
  std::string sig = sign_bytes(key, input);
  return input + "." + crypto::base64url_encode(sig);
}

std::string sign_jwt(std::string_view payload_json, const JwtKey& key, std::string_view typ) {
  json::object header;
  header["alg"] = jws_algorithm_name(key.algorithm);
  header["typ"] = typ;
  if (!key.kid.empty()) header["kid"] = key.kid;
  return sign_jws(json::serialize(header), payload_json, key);
}

std::string_view to_string(JwtStatus status) {
  static constexpr std::string_view kNames[] = {
      "valid",          "malformed",      "disallowed_algorithm", "unknown_key",  "bad_signature",
      "missing_expiry", "expired",        "not_yet_valid",        "wrong_issuer", "wrong_audience",
      "wrong_type",     "unknown_client", "route_not_allowed"};
  return kNames[static_cast<std::size_t>(status)];
}

std::ostream& operator<<(std::ostream& out, JwsAlgorithm algorithm) {
  return out << jws_algorithm_name(algorithm);
}

std::ostream& operator<<(std::ostream& out, JwtStatus status) {
  return out << to_string(status);
}

JwtVerification verify_jwt(std::string_view token, std::span<const JwtKey> keys,
                           const JwtPolicy& policy, std::chrono::system_clock::time_point now) {
  JwtVerification out;
  auto fail = [&out](JwtStatus status) {
    out.status = status;
    return out;
  };
  if (token.empty() || token.size() > kMaxToken) return fail(JwtStatus::malformed);
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(JwtStatus::malformed);
  }
  auto header = parse_object(token.substr(0, dot1));
  if (!header) return fail(JwtStatus::malformed);

  // The algorithm comes from the header but only selects among what the policy allows and
  // what each key's type fixes; `none`, HS* and anything unknown stop here.
  const json::value* alg_value = header->if_contains("alg");
  if (alg_value == nullptr || !alg_value->is_string()) return fail(JwtStatus::malformed);
  auto alg = parse_jws_algorithm(alg_value->get_string());
  if (!alg || std::find(policy.algorithms.begin(), policy.algorithms.end(), *alg) ==
                  policy.algorithms.end()) {
    return fail(JwtStatus::disallowed_algorithm);
  }
  if (header->contains("crit")) return fail(JwtStatus::malformed);  // no extension understood
  if (!policy.typ.empty()) {
    const json::value* typ = header->if_contains("typ");
    if (typ == nullptr || !typ->is_string() || !same_media_type(typ->get_string(), policy.typ)) {
      return fail(JwtStatus::wrong_type);
    }
  }
  std::optional<std::string_view> kid;
  if (const json::value* k = header->if_contains("kid")) {
    if (!k->is_string()) return fail(JwtStatus::malformed);
    kid = k->get_string();
  }
  auto signature = crypto::base64url_decode(token.substr(dot2 + 1));
  if (!signature) return fail(JwtStatus::malformed);

  const std::string_view signing_input = token.substr(0, dot2);
  bool candidate = false;
  bool verified = false;
  for (const JwtKey& key : keys) {
    if (key.algorithm != *alg) continue;
    if (kid && !key.kid.empty() && key.kid != *kid) continue;
    candidate = true;
    if (verify_bytes(key, signing_input, *signature)) {
      verified = true;
      break;
    }
  }
  if (!candidate) return fail(JwtStatus::unknown_key);
  if (!verified) return fail(JwtStatus::bad_signature);

  auto claims = parse_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return fail(JwtStatus::malformed);
  JwtStatus status = check_claims(*claims, policy, now);
  if (status != JwtStatus::valid) return fail(status);
  if (const json::value* sub = claims->if_contains("sub"); sub && sub->is_string()) {
    out.subject = std::string(sub->get_string());
  }
  if (const json::value* id = claims->if_contains("client_id"); id && id->is_string()) {
    out.client_id = std::string(id->get_string());
  }
  out.status = JwtStatus::valid;
  return out;
}

}  // namespace hookd::auth
