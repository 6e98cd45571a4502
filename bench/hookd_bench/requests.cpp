// Builds hookd-bench's requests (see requests.hpp).
#include "requests.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "hookd/auth/sign.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::bench {
namespace {

void replace_all(std::string& s, std::string_view key, std::string_view value) {
  for (auto p = s.find(key); p != std::string::npos; p = s.find(key, p + value.size())) {
    s.replace(p, key.size(), value);
  }
}

}  // namespace

std::string new_run_id() {
  unsigned char bytes[4];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return crypto::hex_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

RequestBuilder::RequestBuilder(const Options& o, std::string run_id)
    : o_(o), run_id_(std::move(run_id)) {
  if (!o.body_file.empty()) {
    std::ifstream in(o.body_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) throw std::invalid_argument("cannot read " + o.body_file);
    body_template_ = ss.str();
  }
  static_headers_ =
      fmt::format("Host: {}\r\nContent-Type: {}\r\n", o.target.host_header, o.content_type);
  if (o.scheme == "basic") {
    auto colon = o.secret.find(':');
    static_headers_ +=
        "Authorization: " +
        auth::basic_authorization(o.secret.substr(0, colon), o.secret.substr(colon + 1)) + "\r\n";
  } else if (o.scheme == "bearer") {
    static_headers_ += "Authorization: Bearer " + o.token + "\r\n";
  } else if (o.scheme != "none") {
    config::HmacAuthConfig h;
    h.scheme = o.scheme;
    h.secrets.emplace_back(o.secret);
    signer_ = std::make_unique<auth::HmacSigner>(std::move(h));
  }
  for (const auto& [name, value] : o.headers) static_headers_ += name + ": " + value + "\r\n";
}

RequestBuilder::~RequestBuilder() = default;
RequestBuilder::RequestBuilder(RequestBuilder&&) noexcept = default;

std::string RequestBuilder::id(std::uint64_t n) const {
  return fmt::format("{}-{}", run_id_, n);
}

void RequestBuilder::make_body(std::string_view id) {
  if (!body_template_.empty()) {
    body_ = body_template_;
    replace_all(body_, "{{id}}", id);
    replace_all(body_, "{{type}}", o_.event_type);
    return;
  }
  body_.clear();
  fmt::format_to(std::back_inserter(body_), R"({{"id":"{}","type":"{}","data":{{"pad":")", id,
                 o_.event_type);
  constexpr std::string_view kClose = "\"}}";
  std::size_t used = body_.size() + kClose.size();
  if (o_.body_size > used) body_.append(o_.body_size - used, 'x');
  body_ += kClose;
}

void RequestBuilder::build(std::string_view id, std::string& out) {
  make_body(id);
  out.clear();
  fmt::format_to(std::back_inserter(out), "POST {} HTTP/1.1\r\n{}Content-Length: {}\r\n",
                 o_.target.path, static_headers_, body_.size());
  if (signer_) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    auto signed_request =
        signer_->sign(body_, id, o_.event_type, std::to_string(now.count()), o_.content_type);
    for (const auto& [name, value] : signed_request.headers) {
      out.append(name).append(": ").append(value).append("\r\n");
    }
  }
  out += "\r\n";
  out += body_;
}

}  // namespace hookd::bench
