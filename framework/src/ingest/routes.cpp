// build_router: config routes → RouteEndpoints in a Router.
#include "hookd/ingest/routes.hpp"

#include "hookd/ingest/route_endpoint.hpp"

namespace hookd::ingest {

std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics) {
  auto router = std::make_shared<http::Router>(metrics);
  for (const auto& route : config.routes) {
    router->add(route.path, std::make_shared<RouteEndpoint>(route, writer));
  }
  return router;
}

}  // namespace hookd::ingest
