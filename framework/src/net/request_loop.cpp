// The request loop's parts that are not templates: the body budget, the framing checks
// and the request view (net/request_loop.hpp).
#include "hookd/net/request_loop.hpp"

#include <unistd.h>

#include <algorithm>
#include <vector>

namespace hookd::net {
namespace bhttp = boost::beast::http;

namespace {

std::size_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::size_t(1) << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
}

}  // namespace

BodyBudget::BodyBudget(std::size_t limit, std::size_t max_body)
    : limit_(limit != 0 ? limit : physical_memory() / 4),
      source_limit_(std::max({limit_ / 4, std::min(limit_, max_body), std::size_t{1}})) {}

bool BodyBudget::try_reserve(const std::string& source, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  std::size_t& held = by_source_[source];
  if (bytes > limit_ - std::min(used_, limit_) ||
      bytes > source_limit_ - std::min(held, source_limit_)) {
    if (held == 0) by_source_.erase(source);
    return false;
  }
  used_ += bytes;
  held += bytes;
  return true;
}

void BodyBudget::release(const std::string& source, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  used_ -= std::min(used_, bytes);
  if (auto it = by_source_.find(source); it != by_source_.end()) {
    it->second -= std::min(it->second, bytes);
    if (it->second == 0) by_source_.erase(it);
  }
}

namespace request_detail {

// A body is framed by Transfer-Encoding only when its final coding is `chunked` (which
// Beast decodes); any other use of the field is refused and the connection closed, so that
// no byte of a body can be read as the next request (TE.CL smuggling).
unsigned check_framing(const Parser::value_type& req) {
  // Beast keeps an index of the fields by name: no walk over the head for the usual request.
  // equal_range() spans, in arrival order, the list from the first to the last such field
  // (other fields may sit between them).
  const auto [first, last] = req.equal_range(bhttp::field::transfer_encoding);
  if (first == last) return 0;
  std::vector<std::string_view> codings;
  for (auto field = first; field != last; ++field) {
    if (field->name() != bhttp::field::transfer_encoding) continue;
    std::string_view value = field->value();
    while (!value.empty()) {
      auto comma = value.find(',');
      std::string_view coding = value.substr(0, comma);
      coding = coding.substr(0, coding.find(';'));  // transfer parameters
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      if (!coding.empty()) codings.push_back(coding);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  // HTTP/1.0 has no transfer codings; with Content-Length beside it the framing is
  // ambiguous (RFC 9112 6.3 ¶3: "ought to be handled as an error").
  if (req.version() < 11 || req.count(bhttp::field::content_length) > 0) return 400;
  if (codings.empty() || !http::iequals(codings.back(), "chunked")) return 400;
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (http::iequals(codings[i], "chunked")) return 400;  // chunked twice
  }
  return codings.size() == 1 ? 0 : 501;
}

// Fields of a chunked trailer, which Beast appends to the same list (as new elements, so
// these views stay valid) while reading the body, are not in the view.
void head_view(const Parser::value_type& req, const std::string& peer, http::Request& view) {
  view.method = req.method_string();
  view.target = req.target();
  view.headers.reserve(16);
  for (const auto& field : req) view.headers.emplace_back(field.name_string(), field.value());
  view.peer = peer;
}

http::Response too_large_response(std::size_t max_body) {
  auto r = http::Response::error(413,
                                 "body exceeds the limit of " + std::to_string(max_body) + " bytes");
  r.close = true;
  return r;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace request_detail
}  // namespace hookd::net
