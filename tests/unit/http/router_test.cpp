// Router: 404/405 with Allow, and the per-route request counters (usual statuses through
// the cached series, any other through the registry).
#include "hookd/http/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include "hookd/metrics/registry.hpp"

using namespace hookd;

namespace {

class Fixed final : public http::Endpoint {
 public:
  explicit Fixed(unsigned status) : status_(status) {}
  const std::string& name() const override { return name_; }
  boost::asio::awaitable<http::Response> handle(http::Request&) override {
    co_return http::Response::json(status_, "{}");
  }
  unsigned status_;

 private:
  std::string name_ = "fixed";
};

http::Response run(const http::Router& router, std::string method, std::string target) {
  boost::asio::io_context ioc;
  http::Request req;
  req.method = method;
  req.target = target;
  auto f = boost::asio::co_spawn(ioc, router.handle(req), boost::asio::use_future);
  ioc.run();
  return f.get();
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router)

BOOST_AUTO_TEST_CASE(routes_and_counts) {
  metrics::Registry metrics;
  http::Router router(metrics);
  auto endpoint = std::make_shared<Fixed>(202);
  router.add("/hook", endpoint);

  BOOST_TEST(run(router, "POST", "/hook?x=1").status == 202);
  auto wrong = run(router, "GET", "/hook");
  BOOST_TEST(wrong.status == 405);
  BOOST_TEST(wrong.headers.at(0).second == "POST");
  BOOST_TEST(run(router, "POST", "/nope").status == 404);
  endpoint->status_ = 418;  // not one of the cached statuses
  BOOST_TEST(run(router, "POST", "/hook").status == 418);
  router.count("/nope", 400);

  auto text = metrics.expose();
  BOOST_TEST(has(text, R"(hookd_http_requests_total{route="fixed",status="202"} 1)"));
  BOOST_TEST(has(text, R"(hookd_http_requests_total{route="fixed",status="405"} 1)"));
  BOOST_TEST(has(text, R"(hookd_http_requests_total{route="fixed",status="418"} 1)"));
  BOOST_TEST(has(text, R"x(hookd_http_requests_total{route="(none)",status="404"} 1)x"));
  BOOST_TEST(has(text, R"x(hookd_http_requests_total{route="(none)",status="400"} 1)x"));
}

BOOST_AUTO_TEST_SUITE_END()
