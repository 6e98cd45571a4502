// Builds the Router of the webhook listener from the routes of a config.
#pragma once

#include <memory>
#include <string_view>

#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/auth/throttle.hpp"
#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::ingest {

// One RouteEndpoint per configured route, each with its auth chain, and the token and
// JWKS endpoints of `oauth` (at the paths of `config.oauth`) when it is given. `writer`,
// `metrics` and `throttles` (the routes' auth failures, kept across reloads) must outlive
// the router; what it uses of `oauth` is shared, not borrowed. Throws auth::BuildError
// (with the item's location) when an auth item cannot be built.
std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics,
                                                 const auth::OAuthServer* oauth,
                                                 auth::RouteThrottles& throttles);

// The BuildContext for the chain of `route` (a route name), which may verify the tokens of
// `oauth` (null: none).
auth::BuildContext auth_context(const auth::OAuthServer* oauth, std::string_view route = {});

}  // namespace hookd::ingest
