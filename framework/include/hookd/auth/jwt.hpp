// Compact JWS (RFC 7515) tokens for the bearer item and the token endpoint: signing,
// verification with the claim checks of RFC 7519, and JWKS (RFC 7517) parsing.
// Only RS256, ES256 and EdDSA (Ed25519) exist here, over OpenSSL 3 EVP; `none` and HS* do not.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::auth {

enum class JwsAlgorithm { rs256, es256, eddsa };

// "RS256", "ES256", "EdDSA" (exact case); nullopt for anything else, `none` and HS* included.
std::optional<JwsAlgorithm> parse_jws_algorithm(std::string_view name);
std::string_view jws_algorithm_name(JwsAlgorithm algorithm);
std::ostream& operator<<(std::ostream& out, JwsAlgorithm algorithm);

// The one algorithm a key may be used with, fixed by its type so that a token cannot pick
// another (no RS/HS or RS/ES confusion): RSA of at least 2048 bits → RS256, EC P-256 →
// ES256, Ed25519 → EdDSA. nullopt for every other key.
std::optional<JwsAlgorithm> jws_algorithm_for(const EVP_PKEY* key);

// Shared ownership of an OpenSSL key. An EVP_PKEY that is no longer modified may be used
// by several threads at once (each operation makes its own EVP_MD_CTX).
using PKeyPtr = std::shared_ptr<EVP_PKEY>;
// Takes ownership of `key` (may be null).
PKeyPtr adopt_pkey(EVP_PKEY* key);

class JwtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A signing or verification key with the algorithm its type allows. Immutable once made;
// copies share the EVP_PKEY.
struct JwtKey {
  std::string kid;  // empty: the key has no id
  JwsAlgorithm algorithm = JwsAlgorithm::es256;
  PKeyPtr pkey;
};

// Throws JwtError when the key's type has no supported algorithm.
JwtKey make_jwt_key(PKeyPtr pkey, std::string kid = {});

// The verification keys of a JWKS document (`{"keys":[...]}`, or one bare JWK): RSA (n, e),
// EC P-256 (x, y) and OKP Ed25519 (x). Keys that cannot verify signatures here (`oct`,
// other curves, `use` other than "sig", an `alg` other than the key type's, RSA under 2048
// bits) are left out, each with a line in `skipped` when given. Private members are
// ignored. Throws JwtError when the document is not JSON or a supported key is malformed.
std::vector<JwtKey> parse_jwks(std::string_view json, std::vector<std::string>* skipped = nullptr);

// Signs into a compact JWS whose protected header is {"alg","typ","kid" (when the key has
// one)}; `payload_json` is the text of a JSON object. Throws JwtError when signing fails
// (e.g. a key without its private half).
std::string sign_jwt(std::string_view payload_json, const JwtKey& key,
                     std::string_view typ = "JWT");
// The same with a header given as is; for tests that need unusual headers.
std::string sign_jws(std::string_view header_json, std::string_view payload_json,
                     const JwtKey& key);

// What a verified token must satisfy besides its signature.
struct JwtPolicy {
  std::vector<JwsAlgorithm> algorithms{JwsAlgorithm::rs256, JwsAlgorithm::es256,
                                       JwsAlgorithm::eddsa};
  std::string issuer;               // when set, `iss` must equal it
  std::string audience;             // when set, `aud` (a string or an array) must be or contain it
  // When set, the header's `typ` must be this media type (case-insensitive; an
  // "application/" prefix on either side is ignored, RFC 7515 4.1.9), e.g. "at+jwt" for
  // RFC 9068 access tokens. A token without `typ` then fails too.
  std::string typ;
  std::chrono::seconds leeway{60};  // clock skew allowed for `exp`, `nbf` and `iat`
};

enum class JwtStatus {
  valid,
  malformed,             // not three base64url parts of JSON objects, `crit`, bad claim types
  disallowed_algorithm,  // `none`, HS*, unknown, or not in the policy
  unknown_key,           // `kid` names no key, or no key of the token's algorithm
  bad_signature,
  missing_expiry,  // no `exp`
  expired,         // `exp` passed (beyond the leeway)
  not_yet_valid,   // `nbf` or `iat` in the future (beyond the leeway)
  wrong_issuer,
  wrong_audience,
  wrong_type,         // the header's `typ` is not the policy's
  unknown_client,     // self-issued: the token's `client_id` is no longer a configured client
  route_not_allowed,  // self-issued: the client may not use this route (oauth.clients[].routes)
};

std::string_view to_string(JwtStatus status);
std::ostream& operator<<(std::ostream& out, JwtStatus status);

struct JwtVerification {
  JwtStatus status = JwtStatus::malformed;
  std::string subject;    // `sub` of a valid token, when it has one
  std::string client_id;  // `client_id` (RFC 9068 2.2) of a valid token, when it has one
  bool ok() const { return status == JwtStatus::valid; }
};

// Verifies the header's `typ` (when the policy sets one), the signature with the key `kid`
// selects (when the header has one) or with each key of the token's algorithm, then the
// claims. Bad input is a status, never an exception.
// Thread-safe for concurrent calls on the same keys.
JwtVerification verify_jwt(std::string_view token, std::span<const JwtKey> keys,
                           const JwtPolicy& policy, std::chrono::system_clock::time_point now);

}  // namespace hookd::auth
