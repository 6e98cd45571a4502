// The `bearer` auth item: an `Authorization: Bearer` JWT checked either by the built-in
// oauth endpoint's SelfIssuedVerifier (`issuer: self`) or by a TokenVerifier built from a
// JWKS file.
#include "hookd/auth/bearer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include "hookd/auth/items.hpp"

namespace hookd::auth {
namespace {

// RFC 6750 3.1: a request without credentials gets the bare challenge, without an error
// code; a token that fails gets `error="invalid_token"` (the contract's exact value).
constexpr std::string_view kMissingChallenge = "Bearer realm=\"hookd\"";
constexpr std::string_view kInvalidChallenge = "Bearer error=\"invalid_token\"";

Result refused(const http::Request& request, JwtStatus status) {
  spdlog::debug("bearer token from {} refused: {}", request.peer, to_string(status));
  if (status == JwtStatus::expired) return Result::unauthorized("expired_token", kInvalidChallenge);
  return Result::unauthorized("invalid_token", kInvalidChallenge);
}

// `bearer: {jwks, issuer, ...}`: a fixed verifier built from the JWKS file.
class JwksBearerCheck final : public HeadCheck {
 public:
  explicit JwksBearerCheck(TokenVerifier verifier) : verifier_(std::move(verifier)) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto token = bearer_token(request);
    if (!token) return Result::unauthorized("missing_credentials", kMissingChallenge);
    JwtVerification v = verifier_.verify(*token, context.now);
    return v.ok() ? Result::ok() : refused(request, v.status);
  }

 private:
  TokenVerifier verifier_;
};

// `bearer: {issuer: self}`: the built-in endpoint's tokens, against its current config.
class SelfIssuedBearerCheck final : public HeadCheck {
 public:
  SelfIssuedBearerCheck(std::shared_ptr<const SelfIssuedVerifier> verifier, std::string audience,
                        std::string route)
      : verifier_(std::move(verifier)), audience_(std::move(audience)), route_(std::move(route)) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto token = bearer_token(request);
    if (!token) return Result::unauthorized("missing_credentials", kMissingChallenge);
    JwtVerification v = verifier_->verify(*token, audience_, route_, context.now);
    return v.ok() ? Result::ok() : refused(request, v.status);
  }

 private:
  std::shared_ptr<const SelfIssuedVerifier> verifier_;
  std::string audience_;  // empty: the endpoint's
  std::string route_;
};

std::vector<JwsAlgorithm> parse_algorithms(const std::vector<std::string>& names,
                                           const config::Location& where) {
  std::vector<JwsAlgorithm> out;
  for (const auto& name : names) {
    auto alg = parse_jws_algorithm(name);
    if (!alg) {
      throw BuildError(where, "bearer: algorithm '" + name +
                                  "' is not supported (RS256, ES256 and EdDSA are; none and "
                                  "HS* never)");
    }
    out.push_back(*alg);
  }
  if (out.empty()) throw BuildError(where, "bearer: 'algorithms' must not be empty");
  return out;
}

}  // namespace

TokenVerifier::TokenVerifier(std::vector<JwtKey> keys, JwtPolicy policy)
    : keys_(std::move(keys)), policy_(std::move(policy)) {}

TokenVerifier TokenVerifier::from_jwks_file(const std::string& path, JwtPolicy policy) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) throw JwtError("cannot read the JWKS file '" + path + "'");
  std::vector<std::string> skipped;
  std::vector<JwtKey> keys;
  try {
    keys = parse_jwks(text.str(), &skipped);
  } catch (const JwtError& e) {
    throw JwtError("JWKS file '" + path + "': " + e.what());
  }
  std::vector<JwtKey> usable;
  for (auto& key : keys) {
    if (std::find(policy.algorithms.begin(), policy.algorithms.end(), key.algorithm) !=
        policy.algorithms.end()) {
      usable.push_back(std::move(key));
    } else {
      skipped.push_back("a " + std::string(jws_algorithm_name(key.algorithm)) +
                        " key, not in 'algorithms'");
    }
  }
  if (usable.empty()) {
    std::string why;
    for (const auto& s : skipped) why += "; " + s;
    throw JwtError("JWKS file '" + path + "' has no usable signature key" + why);
  }
  for (const auto& s : skipped) spdlog::info("JWKS file '{}': ignored {}", path, s);
  return TokenVerifier(std::move(usable), std::move(policy));
}

JwtVerification TokenVerifier::verify(std::string_view token,
                                      std::chrono::system_clock::time_point now) const {
  return verify_jwt(token, keys_, policy_, now);
}

std::optional<std::string_view> bearer_token(const http::Request& request) {
  auto value = request.header("authorization");
  if (!value) return std::nullopt;
  std::string_view v = *value;
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !http::iequals(v.substr(0, kScheme.size()), kScheme) ||
      (v[kScheme.size()] != ' ' && v[kScheme.size()] != '\t')) {
    return std::nullopt;
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  return v;
}

std::unique_ptr<Check> make_bearer(const config::BearerAuthConfig& config,
                                   const BuildContext& context, const config::Location& where) {
  if (config.self_issued) {
    if (context.self_issued == nullptr) {
      throw BuildError(where,
                       "bearer: `issuer: self` verifies the built-in token endpoint's tokens, "
                       "but the config has no `oauth` section");
    }
    return std::make_unique<SelfIssuedBearerCheck>(context.self_issued, config.audience,
                                                   context.route);
  }
  if (config.jwks.empty() || config.issuer.empty()) {
    throw BuildError(where, "bearer: give `issuer: self`, or 'jwks' and 'issuer'");
  }
  JwtPolicy policy;
  policy.algorithms = parse_algorithms(config.algorithms, where);
  policy.issuer = config.issuer;
  policy.audience = config.audience;
  policy.typ = config.typ;
  try {
    return std::make_unique<JwksBearerCheck>(
        TokenVerifier::from_jwks_file(config.jwks, std::move(policy)));
  } catch (const JwtError& e) {
    throw BuildError(where, std::string("bearer: ") + e.what());
  }
}

}  // namespace hookd::auth
