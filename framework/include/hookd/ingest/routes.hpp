// Builds the Router of the webhook listener from the routes of a config.
#pragma once

#include <memory>

#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::ingest {

// One RouteEndpoint per configured route, each with its auth chain, and the token and
// JWKS endpoints of `oauth` when it is given. `writer`, `metrics`, `oauth` and `throttle`
// (the routes' auth failures, kept across reloads) must outlive the router. Throws auth::BuildError (with the item's location) when an auth item cannot
// be built.
std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics,
                                                 const auth::OAuthServer* oauth,
                                                 auth::Throttle& throttle);

// The BuildContext for chains that may verify the tokens of `oauth` (null: none).
auth::BuildContext auth_context(const auth::OAuthServer* oauth);

}  // namespace hookd::ingest
