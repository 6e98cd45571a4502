// Builds the Router of the webhook listener from the routes of a config.
#pragma once

#include <memory>

#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::ingest {

// One RouteEndpoint per configured route. `writer` and `metrics` must outlive the router.
std::shared_ptr<const http::Router> build_router(const config::Config& config,
                                                 outbox::Writer& writer,
                                                 metrics::Registry& metrics);

}  // namespace hookd::ingest
