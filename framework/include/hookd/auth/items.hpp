// Factories of the auth items, one per kind, and the chain builder that uses them.
// Each factory validates its config completely (keys parse, CIDRs parse) and throws
// BuildError naming the item's location, so a bad item fails at load (`hookd check`,
// start, reload), never at request time.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hookd/auth/check.hpp"
#include "hookd/config/config.hpp"

namespace hookd::auth {

class BuildError : public std::runtime_error {
 public:
  BuildError(config::Location where, const std::string& message)
      : std::runtime_error(message), where(std::move(where)) {}
  config::Location where;
  // "FILE:LINE:COL: message"
  std::string str() const;
};

class SelfIssuedVerifier;  // bearer.hpp: verifies the built-in oauth endpoint's tokens

// What building a chain may need besides the item configs.
struct BuildContext {
  // The verifier of the built-in oauth endpoint's tokens (`bearer: {issuer: self}`);
  // null when the config has no oauth section. The chains built with it share it.
  std::shared_ptr<const SelfIssuedVerifier> self_issued;
  // The name of the route whose chain is built: self-issued tokens of a client limited to
  // some routes (oauth.clients[].routes) pass only there.
  std::string route;
};

std::unique_ptr<Check> make_basic(const config::BasicAuthConfig& config);
// The user name of a request's `Authorization: Basic` credentials (RFC 7617), or nothing
// when it has none that decode: what the per-credential throttle counts.
std::optional<std::string> basic_user(const http::Request& request);
std::unique_ptr<Check> make_ip_allow(const std::vector<std::string>& cidrs,
                                     const config::Location& where);
std::unique_ptr<Check> make_any(std::vector<std::unique_ptr<Check>> items);
std::unique_ptr<Check> make_hmac(const config::HmacAuthConfig& config,
                                 const config::Location& where);
std::unique_ptr<Check> make_signature(const config::SignatureAuthConfig& config,
                                      const config::Location& where);
std::unique_ptr<Check> make_bearer(const config::BearerAuthConfig& config,
                                   const BuildContext& context, const config::Location& where);

// The chain of a route: every item, in order. `auth: none` gives an empty chain.
std::unique_ptr<Chain> build_chain(const config::AuthConfig& config, const BuildContext& context);

}  // namespace hookd::auth
