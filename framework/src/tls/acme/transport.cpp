// The ACME transport over the shared blocking HTTPS client (src/https/): one connection
// per request, bounded by the timeout; see transport.hpp.
#include "hookd/tls/acme/transport.hpp"

#include <stdexcept>

#include "hookd/https/client.hpp"
#include "hookd/https/url.hpp"

namespace hookd::tls::acme {
namespace {

// The version is not available to the framework as a macro; the product name is what a
// CA needs to tell clients apart (RFC 8555 §6.1 asks for a User-Agent).
constexpr const char* kUserAgent = "hookd";
// Directories, orders and certificate chains are a few KB; anything near this is not ACME.
constexpr std::size_t kBodyLimit = 1024 * 1024;

class HttpsTransport final : public Transport {
 public:
  HttpsTransport(const std::string& ca_bundle, std::chrono::milliseconds timeout)
      : client_(ca_bundle), timeout_(timeout) {}

  HttpReply get(const std::string& url) override { return exchange("GET", url, {}, {}); }

  HttpReply post_jose(const std::string& url, const std::string& body) override {
    return exchange("POST", url, "application/jose+json", body);
  }

 private:
  HttpReply exchange(std::string_view method, const std::string& url, std::string_view content_type,
                     std::string_view body) const {
    https::Url target;
    try {
      target = https::parse_url(url);
    } catch (const std::invalid_argument& e) {
      throw TransportError(e.what());  // the reason never quotes the path or query
    }
    std::string head;
    head.append(method).append(" ").append(target.target).append(" HTTP/1.1\r\nHost: ");
    head.append(target.host_header).append("\r\nUser-Agent: ").append(kUserAgent);
    head.append("\r\nAccept: */*\r\nConnection: close\r\n");
    if (method == "POST") {
      head.append("Content-Type: ").append(content_type).append("\r\nContent-Length: ");
      head.append(std::to_string(body.size())).append("\r\n");
    }
    head.append("\r\n");

    const https::Exchange done =
        client_.send(target, head, body, https::Client::Clock::now() + timeout_, kBodyLimit);
    if (done.error != https::Exchange::Error::none) throw TransportError(done.message);
    // A cut body would surface later as a misleading JSON or PEM error.
    if (!done.complete) {
      throw TransportError(done.response.body.size() >= kBodyLimit
                               ? "the response from " + target.host_header + " is larger than 1 MiB"
                               : "the response from " + target.host_header + " was cut short");
    }
    HttpReply reply;
    reply.status = done.response.status;
    for (const auto& [name, value] : done.response.headers) reply.headers[name] = value;
    reply.body = done.response.body;
    return reply;
  }

  https::Client client_;  // holds the only shared state, the immutable SSL_CTX
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::string HttpReply::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::unique_ptr<Transport> make_https_transport(const std::string& ca_bundle,
                                                std::chrono::milliseconds timeout) {
  return std::make_unique<HttpsTransport>(ca_bundle, timeout);
}

}  // namespace hookd::tls::acme
