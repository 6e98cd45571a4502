// Runs one auth item on a framed fuzzer input the way a session does: the head check
// before the body (on a request without it), then the body check, and the whole check on
// its own; then reads what the results point to, so that a view into a dead buffer is an
// ASan finding here rather than a wrong log line in production.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/auth/check.hpp"
#include "hookd/config/config.hpp"

namespace hookd::fuzz {

// Where the harness's items "are written", for BuildError messages.
inline const config::Location kWhere{"fuzz.yaml", 1, 1};

// An `hmac:` item config of `scheme` with these secrets (fixed, from
// ../shared/signature-vectors.md, so that seeds with valid signatures reach the accept path).
config::HmacAuthConfig hmac_config(std::string scheme, std::vector<std::string> secrets);

// The chain of one item (as a route with `auth: [item]` builds it).
std::unique_ptr<auth::Chain> chain_of(std::unique_ptr<auth::Check> item);

// Aborts when the two ways of checking disagree (verdict, or the authenticated message id):
// check() and check_head()+check_body() are documented to give the same answer.
void run_auth(const auth::Chain& chain, std::string_view input);

}  // namespace hookd::fuzz
