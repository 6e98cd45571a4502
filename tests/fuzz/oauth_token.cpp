// Fuzz target: the built-in OAuth token endpoint (client credentials): the form body
// (grant_type, client_id, client_secret, scope; %XX and '+' decoding, duplicates), the
// Authorization header of client_secret_basic (base64, %-encoded id and secret), and the
// choice between the two. Seeds hold the valid credentials below, so tokens get signed.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>

#include "fuzz_request.hpp"
#include "hookd/auth/oauth.hpp"

using namespace hookd;

namespace {

struct Server {
  std::unique_ptr<auth::OAuthServer> server;
  std::shared_ptr<http::Endpoint> token;
};

// The signing key is created in a private temporary directory, which is removed again once
// the server holds the key (it never reads the file after that).
Server build() {
  char dir[] = "/tmp/hookd-fuzz-oauth-XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::abort();
  config::OAuthConfig c;
  c.signing_key = std::string(dir) + "/key.pem";
  c.audience = "hookd";
  config::OAuthClientConfig plain;
  plain.id = "client-1";
  plain.secret = config::Secret("s3cret-one");
  config::OAuthClientConfig hashed;
  hashed.id = "client:2";
  // SHA-256 of "s3cret"
  hashed.secret_sha256 =
      config::Secret("1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
  hashed.routes = std::vector<std::string>{"github"};
  c.clients = {plain, hashed};
  const auto fixed_clock = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  };
  // The brute-force throttle off (burst 0): its refusals would hide the parsing behind them
  // after a handful of inputs; the throttle has its own unit tests.
  Server s;
  s.server = std::make_unique<auth::OAuthServer>(
      c, fixed_clock, auth::OAuthServer::Throttling{.strict = {0}, .client = {0}});
  s.token = s.server->token_endpoint();
  std::filesystem::remove_all(dir);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Server server = build();
  fuzz::FramedRequest framed = fuzz::frame_request(fuzz::as_text(data, size));
  http::Request& request = framed.request;
  if (server.token->admit(request)) return 0;
  boost::asio::io_context io;
  std::exception_ptr error;
  boost::asio::co_spawn(io, server.token->handle(request),
                        [&](std::exception_ptr e, const http::Response&) { error = e; });
  io.run();
  // Bad input is an answer (400/401), never an exception.
  if (error) std::abort();
  return 0;
}
