// See auth_harness.hpp.
#include "auth_harness.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_request.hpp"

namespace hookd::fuzz {
namespace {

// Copies every byte a Result points to: ASan checks each read.
std::size_t touch(const auth::Result& r) {
  return std::string(r.reason).size() + std::string(r.challenge).size() +
         std::string(r.message_id).size();
}

}  // namespace

config::HmacAuthConfig hmac_config(std::string scheme, std::vector<std::string> secrets) {
  config::HmacAuthConfig c;
  c.scheme = std::move(scheme);
  for (auto& s : secrets) c.secrets.emplace_back(std::move(s));
  return c;
}

std::unique_ptr<auth::Chain> chain_of(std::unique_ptr<auth::Check> item) {
  std::vector<std::unique_ptr<auth::Check>> items;
  items.push_back(std::move(item));
  return std::make_unique<auth::Chain>(std::move(items));
}

void run_auth(const auth::Chain& chain, std::string_view input) {
  FramedRequest framed = frame_request(input);
  const http::Request& request = framed.request;

  http::Request head = request;
  head.body.clear();
  auth::Result staged = chain.check_head(head, framed.context);
  touch(staged);
  if (staged.passed()) staged = chain.check_body(request, framed.context);
  const auth::Result whole = chain.check(request, framed.context);
  touch(staged);
  touch(whole);
  if (staged.verdict != whole.verdict) std::abort();
  // The route dedupes on the authenticated id, so both ways must name the same one.
  if (whole.passed() && staged.message_id != whole.message_id) std::abort();
}

}  // namespace hookd::fuzz
