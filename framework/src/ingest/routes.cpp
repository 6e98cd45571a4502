// build_router: config routes → RouteEndpoints in a Router.
#include "hookd/ingest/routes.hpp"

#include "hookd/ingest/route_endpoint.hpp"

namespace hookd::ingest {

std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics,
                                                 const auth::OAuthServer* oauth,
                                                 auth::Throttle& throttle) {
  auto router = std::make_shared<http::Router>(metrics);
  auto context = auth_context(oauth);
  for (const auto& route : config.routes) {
    router->add(route.path, std::make_shared<RouteEndpoint>(
                                route, auth::build_chain(route.auth, context), writer, metrics, throttle));
  }
  if (oauth != nullptr) {
    router->add(oauth->token_path(), oauth->token_endpoint());
    router->add(oauth->jwks_path(), oauth->jwks_endpoint());
  }
  return router;
}

auth::BuildContext auth_context(const auth::OAuthServer* oauth) {
  auth::BuildContext context;
  if (oauth != nullptr) context.self_issued = &oauth->verifier();
  return context;
}

}  // namespace hookd::ingest
