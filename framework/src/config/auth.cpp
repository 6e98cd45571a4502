// A route's `auth`: `none`, or a list of items (basic, bearer, hmac, signature, ip_allow,
// any), each a map with exactly one key. Values are checked here as far as the config can
// tell; keys and CIDRs are parsed when the chain is built (auth/), which `check` does too.
#include <algorithm>
#include <array>

#include "sections.hpp"

namespace hookd::config {
namespace {

constexpr std::array kHmacSchemes{"github",  "stripe",   "standard-webhooks", "slack",
                                  "shopify", "docusign", "twilio",            "generic"};
constexpr std::array kSignatureSchemes{"sendgrid", "standard-webhooks"};
constexpr std::array kJwtAlgorithms{"RS256", "ES256", "EdDSA"};

template <std::size_t N>
bool one_of(const std::string& v, const std::array<const char*, N>& set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

template <std::size_t N>
std::string list(const std::array<const char*, N>& set) {
  std::string out;
  for (const char* s : set) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

void read_choice(Reader& r, const Entry& e, std::string& out, const std::string& allowed,
                 const std::function<bool(const std::string&)>& ok) {
  auto v = r.scalar(e, allowed);
  if (!v) return;
  if (!ok(v->text)) {
    r.error(e.mark(), e.path + ": expected " + allowed + ", got " + v->shown());
    return;
  }
  out = v->text;
}

void read_basic(Reader& r, const Entry& e, AuthItemConfig& item) {
  auto& b = item.basic;
  r.read_map(e, {{"username", [&](const Entry& v) { r.read_string(v, b.username); }},
                 {"password", [&](const Entry& v) { read_secret(r, v, b.password); }},
                 {"password_sha256", [&](const Entry& v) {
                    read_secret(r, v, b.password_sha256);
                    if (!b.password_sha256.empty() && !is_sha256_hex(b.password_sha256.str())) {
                      r.error(v.mark(), v.path + ": expected 64 hex digits (a SHA-256)");
                      b.password_sha256 = Secret();
                    }
                  }}});
  if (b.username.empty()) r.error(item.where, e.path + ": missing the required key 'username'");
  if (b.username.find(':') != std::string::npos) {
    r.error(item.where, e.path + ".username: must not contain ':' (RFC 7617)");
  }
  if (b.password.empty() == b.password_sha256.empty()) {
    r.error(item.where, e.path + ": give exactly one of 'password' and 'password_sha256'");
  }
}

void read_bearer(Reader& r, const Entry& e, AuthItemConfig& item) {
  auto& b = item.bearer;
  bool has_algorithms = false;
  bool bad_algorithm = false;
  r.read_map(e, {{"issuer", [&](const Entry& v) { r.read_string(v, b.issuer); }},
                 {"jwks", [&](const Entry& v) { r.read_string(v, b.jwks); }},
                 {"audience", [&](const Entry& v) { r.read_string(v, b.audience); }},
                 {"typ", [&](const Entry& v) { r.read_string(v, b.typ); }},
                 {"algorithms", [&](const Entry& v) {
                    has_algorithms = true;
                    b.algorithms.clear();
                    for (auto& [value, entry] : r.read_string_list(v)) {
                      if (!one_of(value.text, kJwtAlgorithms)) {
                        bad_algorithm = true;
                        r.error(entry.mark(), entry.path + ": expected one of " +
                                                  list(kJwtAlgorithms) + ", got " + value.shown());
                      } else {
                        b.algorithms.push_back(value.text);
                      }
                    }
                  }}});
  if (b.issuer == "self") {
    b.self_issued = true;
    b.issuer.clear();
    if (!b.jwks.empty() || has_algorithms || !b.typ.empty()) {
      r.error(item.where, e.path +
                              ": `issuer: self` verifies the built-in oauth endpoint's "
                              "tokens (always typ at+jwt); it takes no 'jwks', "
                              "'algorithms' or 'typ'");
    }
  } else if (b.jwks.empty() || b.issuer.empty()) {
    r.error(item.where, e.path + ": give `issuer: self`, or 'jwks' (a JWKS file) and 'issuer'");
  }
  if (has_algorithms && b.algorithms.empty() && !bad_algorithm) {
    r.error(item.where, e.path + ".algorithms: must not be empty");
  }
}

void read_hmac(Reader& r, const Entry& e, AuthItemConfig& item) {
  auto& h = item.hmac;
  auto choice = [&](std::string& out, std::initializer_list<const char*> allowed) {
    return [&r, &out, allowed](const Entry& v) {
      std::string names;
      for (const char* a : allowed) names += (names.empty() ? "" : " | ") + std::string(a);
      read_choice(r, v, out, names, [allowed](const std::string& s) {
        return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return s == a; });
      });
    };
  };
  r.read_map(
      e, {{"scheme",
           [&](const Entry& v) {
             read_choice(r, v, h.scheme, "one of " + list(kHmacSchemes),
                         [](const std::string& s) { return one_of(s, kHmacSchemes); });
           }},
          {"secrets",
           [&](const Entry& v) {
             for (auto& [value, entry] : r.read_string_list(v)) {
               if (value.text.empty()) {
                 r.error(entry.mark(), entry.path + ": a secret must not be empty");
               } else {
                 h.secrets.emplace_back(value.text);
                 r.inbound_secret(entry, value);
               }
             }
           }},
          {"tolerance", [&](const Entry& v) { r.read_duration(v, h.tolerance, true); }},
          {"url", [&](const Entry& v) { r.read_string(v, h.url); }},
          {"header", [&](const Entry& v) { r.read_string(v, h.header); }},
          {"algorithm", choice(h.algorithm, {"sha256", "sha512", "sha1"})},
          {"encoding", choice(h.encoding, {"hex", "base64"})},
          {"prefix", [&](const Entry& v) { r.read_string(v, h.prefix, true); }},
          {"payload", [&](const Entry& v) { r.read_string(v, h.payload); }},
          {"timestamp_header", [&](const Entry& v) { r.read_string(v, h.timestamp_header); }},
          {"id_header", [&](const Entry& v) { r.read_string(v, h.id_header); }}});
  if (h.scheme.empty()) {
    if (!e.value["scheme"]) r.error(item.where, e.path + ": missing the required key 'scheme'");
    return;
  }
  if (h.secrets.empty()) r.error(item.where, e.path + ": 'secrets' needs at least one secret");
  if (h.scheme == "standard-webhooks") {
    for (const auto& s : h.secrets) {
      if (!s.str().starts_with("whsec_")) {
        r.error(item.where, e.path + ".secrets: standard-webhooks secrets start with whsec_");
        break;
      }
    }
  }
  if (h.scheme == "twilio" && h.url.empty()) {
    r.error(item.where, e.path + ": twilio signs the public URL: give 'url' (as configured at "
                                 "Twilio, e.g. https://example.com/webhooks/twilio)");
  }
  if (h.scheme == "generic" && h.header.empty()) {
    r.error(item.where, e.path + ": generic needs 'header' (the signature header)");
  }
  bool generic_only = !h.header.empty() || h.algorithm != "sha256" || h.encoding != "hex" ||
                      !h.prefix.empty() || h.payload != "{body}" || !h.timestamp_header.empty() ||
                      !h.id_header.empty();
  if (h.scheme != "generic" && generic_only) {
    r.error(item.where, e.path + ": header, algorithm, encoding, prefix, payload, "
                                 "timestamp_header and id_header are for scheme generic");
  }
  if (h.scheme != "twilio" && !h.url.empty()) {
    r.error(item.where, e.path + ": 'url' is for scheme twilio");
  }
  if (h.scheme == "generic") {
    if (h.payload.find("{timestamp}") != std::string::npos && h.timestamp_header.empty()) {
      r.error(item.where, e.path + ".payload: uses {timestamp} but no 'timestamp_header' is set");
    }
    if (h.payload.find("{id}") != std::string::npos && h.id_header.empty()) {
      r.error(item.where, e.path + ".payload: uses {id} but no 'id_header' is set");
    }
  }
}

void read_signature(Reader& r, const Entry& e, AuthItemConfig& item) {
  auto& s = item.signature;
  r.read_map(e, {{"scheme",
                  [&](const Entry& v) {
                    read_choice(r, v, s.scheme, "one of " + list(kSignatureSchemes),
                                [](const std::string& x) { return one_of(x, kSignatureSchemes); });
                  }},
                 {"public_key",
                  [&](const Entry& v) {
                    for (auto& [value, entry] : r.read_string_list(v)) {
                      s.public_keys.push_back(value.text);
                    }
                  }},
                 {"tolerance", [&](const Entry& v) { r.read_duration(v, s.tolerance, true); }}});
  if (!e.value["scheme"]) r.error(item.where, e.path + ": missing the required key 'scheme'");
  if (s.public_keys.empty()) {
    r.error(item.where, e.path + ": missing the required key 'public_key'");
  }
}

void read_items(Reader& r, const Entry& e, std::vector<AuthItemConfig>& out, int depth);

void read_item(Reader& r, const Entry& e, AuthItemConfig& item, int depth) {
  item.where = r.location(e.mark());
  if (!e.value.IsMap() || e.value.size() != 1) {
    r.error(e.mark(), e.path + ": expected an auth item, a map with one key (basic, bearer, "
                               "hmac, signature, ip_allow or any), got " +
                          Reader::kind(e.value));
    return;
  }
  using Kind = AuthItemConfig::Kind;
  auto kind_of = [&](Kind k) { return [&item, k] { item.kind = k; }; };
  r.read_map(e, {{"basic",
                  [&](const Entry& v) {
                    kind_of(Kind::basic)();
                    read_basic(r, v, item);
                  }},
                 {"bearer",
                  [&](const Entry& v) {
                    kind_of(Kind::bearer)();
                    read_bearer(r, v, item);
                  }},
                 {"hmac",
                  [&](const Entry& v) {
                    kind_of(Kind::hmac)();
                    read_hmac(r, v, item);
                  }},
                 {"signature",
                  [&](const Entry& v) {
                    kind_of(Kind::signature)();
                    read_signature(r, v, item);
                  }},
                 {"ip_allow",
                  [&](const Entry& v) {
                    kind_of(Kind::ip_allow)();
                    for (auto& [value, entry] : r.read_string_list(v)) {
                      item.ip_allow.push_back(value.text);
                    }
                    if (item.ip_allow.empty()) {
                      r.error(v.mark(), v.path + ": needs at least one CIDR");
                    }
                  }},
                 {"any", [&](const Entry& v) {
                    kind_of(Kind::any)();
                    if (depth > 4) {
                      r.error(v.mark(), v.path + ": `any` nested too deep");
                      return;
                    }
                    read_items(r, v, item.any, depth + 1);
                    if (item.any.size() < 1) r.error(v.mark(), v.path + ": needs at least one item");
                  }}});
}

void read_items(Reader& r, const Entry& e, std::vector<AuthItemConfig>& out, int depth) {
  if (!e.value.IsSequence()) {
    r.error(e.mark(), e.path + ": expected a list of auth items, got " + Reader::kind(e.value));
    return;
  }
  std::size_t i = 0;
  for (const auto& element : e.value) {
    Entry item{element, element.Mark(), e.path + "[" + std::to_string(i++) + "]"};
    AuthItemConfig config;
    read_item(r, item, config, depth);
    out.push_back(std::move(config));
  }
}

}  // namespace

void read_secret(Reader& r, const Entry& e, Secret& out, SecretUse use) {
  auto v = r.scalar(e, "a secret string");
  if (!v) return;
  if (v->text.empty()) {
    r.error(e.mark(), e.path + ": must not be empty" +
                          (v->substituted ? " (value from " + v->raw + ")" : std::string()));
    return;
  }
  out = Secret(v->text);
  if (use == SecretUse::inbound) r.inbound_secret(e, *v);
}


bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

void read_auth(Reader& r, const Entry& e, AuthConfig& out) {
  if (e.value.IsSequence()) {
    read_items(r, e, out.items, 0);
    if (out.items.empty()) {
      r.error(e.mark(), e.path + ": an empty list would let anyone in; write `auth: none` for "
                                 "an open route");
    }
    return;
  }
  constexpr std::string_view expected = "`none` or a list of auth items";
  auto v = r.scalar(e, expected);
  if (!v) return;
  if (v->text == "none") {
    out.open = true;
  } else {
    r.error(e.mark(), e.path + ": expected " + std::string(expected) + ", got " + v->shown());
  }
}

}  // namespace hookd::config
