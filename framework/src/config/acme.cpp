// server.tls.acme: which names to certify, the CA, the challenge and the account. Every
// mistake an order would only reveal at the CA (a wildcard, a name that is not a DNS name,
// terms not accepted, a directory that is not HTTPS) is a FILE:LINE:COL error here.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "hookd/crypto/encoding.hpp"
#include "sections.hpp"

namespace hookd::config {
namespace {

bool is_ip_address(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.back() == '.') return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t dot = s.find('.', start);
    if (dot == std::string::npos) dot = s.size();
    std::string_view label(s.data() + start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = dot + 1;
  }
  // An all-numeric last label would be read as an IP address by some resolvers.
  std::string_view last(s.data() + s.rfind('.') + 1);
  return !std::all_of(last.begin(), last.end(), [](char c) { return std::isdigit(c); }) ||
         s.find('.') == std::string::npos;
}

void read_names(Reader& r, const Entry& e, std::vector<std::string>& out) {
  auto items = r.read_string_list(e);
  if (e.value.IsSequence() && e.value.size() == 0) {
    r.error(e.mark(), e.path + ": needs at least one name");
    return;
  }
  for (auto& [value, entry] : items) {
    std::string name = value.text;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name.rfind("*.", 0) == 0) {
      r.error(entry.mark(), entry.path + ": " + value.shown() +
                                " is a wildcard: only dns-01 can validate one, and hookd answers "
                                "tls-alpn-01 and http-01; list each name instead");
      continue;
    }
    if (!is_ip_address(name) && !is_dns_name(name)) {
      r.error(entry.mark(), entry.path +
                                ": expected a DNS name (hooks.example.com) or an IP "
                                "address, got " +
                                value.shown());
      continue;
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      r.error(entry.mark(), entry.path + ": " + value.shown() + " is listed twice");
      continue;
    }
    out.push_back(std::move(name));
  }
}

void read_challenge(Reader& r, const Entry& e, AcmeConfig::Challenge& out) {
  auto v = r.scalar(e, "tls-alpn-01 or http-01");
  if (!v) return;
  if (v->text == "tls-alpn-01") {
    out = AcmeConfig::Challenge::tls_alpn_01;
  } else if (v->text == "http-01") {
    out = AcmeConfig::Challenge::http_01;
  } else {
    r.error(e.mark(), e.path + ": expected tls-alpn-01 or http-01" +
                          (v->text == "dns-01" ? " (dns-01 is not supported)" : "") + ", got " +
                          v->shown());
  }
}

void read_directory(Reader& r, const Entry& e, std::string& out) {
  auto v = r.scalar(e, "an https:// URL");
  if (!v) return;
  if (v->text.rfind("https://", 0) != 0 || v->text.size() <= 8) {
    r.error(e.mark(), e.path + ": the ACME directory must be an https:// URL, got " + v->shown());
    return;
  }
  out = v->text;
}

void read_email(Reader& r, const Entry& e, std::string& out) {
  auto v = r.scalar(e, "an email address");
  if (!v) return;
  const std::string& s = v->text;
  auto at = s.find('@');
  bool ok = at != std::string::npos && at > 0 && at + 1 < s.size() &&
            std::none_of(s.begin(), s.end(), [](unsigned char c) {
              return std::isspace(c) || std::iscntrl(c) || c == ',' || c == '<' || c == '>';
            });
  if (!ok) {
    r.error(e.mark(), e.path + ": expected an email address (ops@example.com), got " + v->shown());
    return;
  }
  out = s;
}

void read_eab(Reader& r, const Entry& e, AcmeConfig& out) {
  bool kid = false;
  bool key = false;
  r.read_map(e, {
                    {"kid",
                     [&](const Entry& v) {
                       r.read_string(v, out.eab_kid);
                       kid = true;
                     }},
                    {"hmac_key",
                     [&](const Entry& v) {
                       read_secret(r, v, out.eab_hmac_key, SecretUse::outbound);
                       if (!out.eab_hmac_key.empty() &&
                           !crypto::base64url_decode(out.eab_hmac_key.str())) {
                         r.error(v.mark(), v.path + ": expected the CA's base64url HMAC key");
                       }
                       key = true;
                     }},
                });
  if (!kid || !key) r.error(e.mark(), e.path + ": needs both kid and hmac_key");
}

}  // namespace

void read_acme(Reader& r, const Entry& e, AcmeConfig& out, std::vector<ListenSeen>& seen) {
  bool names = false;
  r.read_map(e, {
                    {"names",
                     [&](const Entry& v) {
                       names = true;
                       read_names(r, v, out.names);
                     }},
                    {"email", [&](const Entry& v) { read_email(r, v, out.email); }},
                    {"agree_tos", [&](const Entry& v) { r.read_bool(v, out.agree_tos); }},
                    {"directory", [&](const Entry& v) { read_directory(r, v, out.directory); }},
                    {"challenge", [&](const Entry& v) { read_challenge(r, v, out.challenge); }},
                    {"http_listen",
                     [&](const Entry& v) {
                       if (!v.value.IsScalar()) {
                         r.error(v.mark(), v.path + ": expected one host:port");
                         return;
                       }
                       std::vector<std::string> one;
                       read_listen(r, v, one, false, seen);
                       if (!one.empty()) out.http_listen = one.front();
                     }},
                    {"ca_bundle", [&](const Entry& v) { r.read_string(v, out.ca_bundle); }},
                    {"eab", [&](const Entry& v) { read_eab(r, v, out); }},
                    {"renew_before",
                     [&](const Entry& v) {
                       Duration d{};
                       r.read_duration(v, d, true);
                       out.renew_before = d;
                     }},
                });
  if (!names) r.error(e.mark(), e.path + ": needs names: the DNS names or IP addresses to certify");
  if (!out.agree_tos) {
    r.error(e.mark(), e.path +
                          ": needs agree_tos: true (the CA's terms of service must be "
                          "accepted explicitly)");
  }
}

}  // namespace hookd::config
