// The requests hookd-bench sends: a body with the event id in it, the scheme's valid
// credentials, and the whole HTTP/1.1 request in one buffer (one TLS write per request).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "options.hpp"

namespace hookd::auth {
class HmacSigner;
}

namespace hookd::bench {

class RequestBuilder {
 public:
  // `run_id` makes this run's ids unique in a store that already holds other runs' ids.
  // Throws std::invalid_argument when the credentials cannot sign or the body file cannot
  // be read.
  RequestBuilder(const Options& options, std::string run_id);
  ~RequestBuilder();
  RequestBuilder(RequestBuilder&&) noexcept;

  // The event id of request number `n`: "<run_id>-<n>".
  std::string id(std::uint64_t n) const;

  // Writes the request for event id `id` into `out` (its capacity is reused).
  void build(std::string_view id, std::string& out);

 private:
  void make_body(std::string_view id);

  const Options& o_;
  std::string run_id_;
  std::string body_template_;  // --body-file
  std::string body_;
  std::string static_headers_;  // Host, Content-Type, basic/bearer, --header
  std::unique_ptr<auth::HmacSigner> signer_;
};

// A random run id of 8 hex digits.
std::string new_run_id();

}  // namespace hookd::bench
