// The endpoint of one webhook route: auth chain → extraction → outbox append → answer.
// Thread-safety: handle() may run concurrently on many sessions; the object is immutable.
#pragma once

#include <string>

#include "hookd/config/config.hpp"
#include "hookd/http/router.hpp"
#include "hookd/outbox/writer.hpp"

namespace hookd::ingest {

class RouteEndpoint final : public http::Endpoint {
 public:
  // `writer` must outlive the endpoint.
  RouteEndpoint(config::RouteConfig route, outbox::Writer& writer);

  const std::string& name() const override { return route_.name; }
  boost::asio::awaitable<http::Response> handle(http::Request& request) override;

 private:
  config::RouteConfig route_;
  outbox::Writer& writer_;
};

// Awaits an append: resumes the calling coroutine on its own executor after the writer
// committed (or failed) the batch holding the event.
boost::asio::awaitable<outbox::AppendResult> async_append(outbox::Writer& writer,
                                                          outbox::NewEvent event);

// Header values stored as "[redacted]": credentials that must not sit in the database.
bool is_redacted_header(std::string_view name);

}  // namespace hookd::ingest
