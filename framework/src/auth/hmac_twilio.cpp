// Twilio: `X-Twilio-Signature: base64(HMAC-SHA1(auth token, url + sorted form params))`,
// or for JSON bodies the URL alone with `bodySHA256=<hex sha256(body)>` in its query.
#include <algorithm>
#include <utility>

#include "hmac_schemes.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth::hmac {
namespace {

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte. Appends to
// `out`; false on a malformed escape.
bool form_decode(std::string_view in, std::string& out) {
  while (!in.empty()) {
    // A plain scan: find_first_of("+%") calls memchr once per character.
    std::size_t special = 0;
    while (special < in.size() && in[special] != '+' && in[special] != '%') ++special;
    out.append(in.substr(0, special));
    if (special == in.size()) break;
    if (in[special] == '+') {
      out += ' ';
      in.remove_prefix(special + 1);
      continue;
    }
    if (special + 2 >= in.size()) return false;
    auto byte = crypto::hex_decode(in.substr(special + 1, 2));
    if (!byte) return false;
    out += (*byte)[0];
    in.remove_prefix(special + 3);
  }
  return true;
}

// The value of the first `name=` parameter of a query (without '?'), undecoded.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = item.find('=');
    if (item.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    }
  }
  return std::nullopt;
}

bool is_form(const http::Request& request) {
  auto type = request.header("Content-Type");
  if (!type) return false;
  std::string_view media = trim(type->substr(0, type->find(';')));
  return http::iequals(media, "application/x-www-form-urlencoded");
}

class Twilio final : public Check {
 public:
  Twilio(KeySet keys, std::vector<std::string> base_urls)
      : keys_(std::move(keys)), base_urls_(std::move(base_urls)) {}

  Result check(const http::Request& request, const Context&) const override {
    auto header = request.header("X-Twilio-Signature");
    if (!header) return missing();
    auto presented = crypto::base64_decode(trim(*header));
    if (!presented) return bad_signature();
    auto q = request.target.find('?');
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : request.target.substr(q);  // with '?'
    std::string params;  // sorted key+value pairs, joined: one MAC update, not 2 per pair
    if (auto body_sha = query.empty() ? std::nullopt : query_param(query.substr(1), "bodySHA256")) {
      // JSON (or any non-form) body: the body is bound by its hash in the signed URL.
      auto expected = crypto::hex_decode(*body_sha);
      if (!expected || !crypto::constant_time_equal(*expected, crypto::sha256(request.body))) {
        return bad_signature();
      }
    } else if (is_form(request)) {
      if (!sorted_form_params(request.body, params)) return bad_signature();
    } else if (!request.body.empty()) {
      // Neither form params nor bodySHA256: the signature would not cover the body.
      return bad_signature();
    }
    // The URL forms are public, so stopping at the first that matches leaks nothing.
    for (const auto& base : base_urls_) {
      if (matches(keys_.macs({base, query, params}), *presented)) return Result::ok();
    }
    return bad_signature();
  }
  Result check_head(const http::Request& head, const Context&) const override {
    return require_headers(head, {"X-Twilio-Signature"});
  }

 private:
  // The decoded (key, value) pairs sorted by key then value, as Twilio's validators sort
  // them, concatenated as key1 value1 key2 value2 ...; false on a malformed escape. Names
  // and values are decoded into one arena (decoding never grows text, so reserving the
  // body's size keeps the views into it valid) and sorted as views: three allocations.
  static bool sorted_form_params(std::string_view body, std::string& joined) {
    std::string arena;
    arena.reserve(body.size());
    std::vector<std::pair<std::string_view, std::string_view>> params;
    auto decode = [&arena](std::string_view in, std::string_view& out) {
      std::size_t start = arena.size();
      if (!form_decode(in, arena)) return false;
      out = std::string_view(arena).substr(start);
      return true;
    };
    while (!body.empty()) {
      auto amp = body.find('&');
      std::string_view item = body.substr(0, amp);
      body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
      if (item.empty()) continue;
      auto eq = item.find('=');
      std::pair<std::string_view, std::string_view> kv;
      if (!decode(item.substr(0, eq), kv.first)) return false;
      if (eq != std::string_view::npos && !decode(item.substr(eq + 1), kv.second)) return false;
      params.push_back(kv);
    }
    std::sort(params.begin(), params.end());
    joined.reserve(arena.size());
    for (const auto& [key, value] : params) {
      joined += key;
      joined += value;
    }
    return true;
  }

  KeySet keys_;
  std::vector<std::string> base_urls_;  // the configured URL with and without default port
};

// scheme://host[:port]/path → the forms Twilio may have signed: as configured, and with the
// default port added or removed (Twilio's own validators try both). Query and fragment of
// the configured URL are dropped: the query signed is the one the request carries.
std::vector<std::string> base_url_forms(const std::string& url, const config::Location& w) {
  std::string_view u = url;
  u = u.substr(0, u.find_first_of("?#"));
  std::string_view scheme, default_port;
  if (u.starts_with("https://")) {
    scheme = "https://";
    default_port = "443";
  } else if (u.starts_with("http://")) {
    scheme = "http://";
    default_port = "80";
  } else {
    throw BuildError(w, "hmac: url: expected an http:// or https:// URL (as configured at Twilio)");
  }
  std::string_view rest = u.substr(scheme.size());
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    throw BuildError(w, "hmac: url: expected scheme://host[:port]/path");
  }
  // A port is a ':' after the host (after the ']' of an IPv6 literal).
  auto bracket = authority.rfind(']');
  auto colon = authority.rfind(':');
  std::string_view host = authority, port;
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw BuildError(w, "hmac: url: the port is not a number");
    }
  }
  if (host.empty()) throw BuildError(w, "hmac: url: no host");
  std::string base = std::string(scheme) + std::string(host);
  if (port.empty() || port == default_port) {
    return {base + std::string(path), base + ":" + std::string(default_port) + std::string(path)};
  }
  return {base + ":" + std::string(port) + std::string(path)};
}

}  // namespace

std::unique_ptr<Check> make_twilio(const config::HmacAuthConfig& c, const config::Location& w) {
  if (c.url.empty()) {
    throw BuildError(w, "hmac: twilio signs the public URL: give 'url' (as configured at Twilio)");
  }
  auto forms = base_url_forms(c.url, w);
  return std::make_unique<Twilio>(plain_keys(c, crypto::MacAlgorithm::sha1, w), std::move(forms));
}

}  // namespace hookd::auth::hmac
