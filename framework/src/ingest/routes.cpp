// build_router: config routes → RouteEndpoints in a Router.
#include "hookd/ingest/routes.hpp"

#include <stdexcept>

#include "hookd/ingest/route_endpoint.hpp"

namespace hookd::ingest {

std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics,
                                                 const auth::OAuthServer* oauth,
                                                 auth::RouteThrottles& throttles) {
  if (oauth != nullptr && !config.oauth) {
    throw std::invalid_argument("build_router: an OAuthServer but no oauth section");
  }
  auto router = std::make_shared<http::Router>(metrics);
  for (const auto& route : config.routes) {
    router->add(route.path,
                std::make_shared<RouteEndpoint>(
                    route, auth::build_chain(route.auth, auth_context(oauth, route.name)), writer,
                    metrics, throttles, config.server.limits.max_event_id));
  }
  if (oauth != nullptr) {
    router->add(config.oauth->token_path, oauth->token_endpoint());
    router->add(config.oauth->jwks_path, oauth->jwks_endpoint());
  }
  return router;
}

auth::BuildContext auth_context(const auth::OAuthServer* oauth, std::string_view route) {
  auth::BuildContext context;
  if (oauth != nullptr) context.self_issued = oauth->verifier();
  context.route = std::string(route);
  return context;
}

}  // namespace hookd::ingest
