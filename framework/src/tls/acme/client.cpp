// The ACME exchange of RFC 8555 as plain sequential requests: directory, account, order,
// challenges, finalize, download; and the ARI renewal window (RFC 9773).
#include "hookd/tls/acme/client.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <initializer_list>

#include "exchange.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/tls/acme/challenge.hpp"

namespace hookd::tls::acme {
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

// Without Retry-After the first check comes soon (a CA with a fast validator, like Pebble
// or Boulder, is often done within a second), then once a second. A Retry-After is obeyed
// but capped, so that a confused server cannot park the renewal for hours.
constexpr milliseconds kFirstPoll{250};
constexpr milliseconds kDefaultPoll{1000};
constexpr milliseconds kMinPoll{100};
constexpr milliseconds kMaxPoll{10'000};
constexpr milliseconds kPollBound{120'000};

const char* challenge_name(ChallengeType type) {
  return type == ChallengeType::http_01 ? "http-01" : "tls-alpn-01";
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Takes the challenge response away on every path out of the authorization, failure too:
// a token left in the responder is served forever.
class CleanUp {
 public:
  CleanUp(ChallengeResponder& r, ChallengeType t, std::string id, std::string token)
      : responder_(r), type_(t), identifier_(std::move(id)), token_(std::move(token)) {}
  ~CleanUp() {
    try {
      responder_.clean_up(type_, identifier_, token_);
    } catch (const std::exception& e) {
      spdlog::warn("ACME: cleaning up the {} challenge for {} failed: {}", challenge_name(type_),
                   identifier_, e.what());
    }
  }
  CleanUp(const CleanUp&) = delete;
  CleanUp& operator=(const CleanUp&) = delete;

 private:
  ChallengeResponder& responder_;
  ChallengeType type_;
  std::string identifier_, token_;
};

}  // namespace

struct Client::Impl {
  Impl(Transport& t, std::string url, KeyPtr key, Sleeper s)
      : exchange(t, std::move(key)), directory_url(std::move(url)), sleep(std::move(s)) {}

  Exchange exchange;
  std::string directory_url;
  Sleeper sleep;
  std::optional<Directory> directory;
  std::string account_url;

  const Directory& get_directory();
  json::object poll(const std::string& url, const std::string& doing, HttpReply last,
                    std::initializer_list<std::string_view> waiting);
  void authorize(const std::string& authz_url, ChallengeType type, ChallengeResponder& responder);
};

const Directory& Client::Impl::get_directory() {
  if (directory) return *directory;
  const std::string doing = "directory " + directory_url;
  const json::object obj = parse_object(exchange.get(directory_url, doing), doing);
  Directory d;
  d.new_nonce = string_member(obj, "newNonce");
  d.new_account = string_member(obj, "newAccount");
  d.new_order = string_member(obj, "newOrder");
  d.renewal_info = string_member(obj, "renewalInfo");
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty()) {
    throw AcmeError(doing + ": newNonce, newAccount or newOrder is missing");
  }
  if (const json::value* meta = obj.if_contains("meta"); meta != nullptr && meta->is_object()) {
    const json::object& m = meta->as_object();
    const json::value* eab = m.if_contains("externalAccountRequired");
    d.external_account_required = eab != nullptr && eab->is_bool() && eab->as_bool();
    d.terms_of_service = string_member(m, "termsOfService");
  }
  exchange.set_new_nonce_url(d.new_nonce);
  directory = std::move(d);
  return *directory;
}

// Fetches `url` (POST-as-GET) while its status is one of `waiting`; each wait follows the
// previous answer's Retry-After. Returns the first object in another status.
json::object Client::Impl::poll(const std::string& url, const std::string& doing, HttpReply last,
                                std::initializer_list<std::string_view> waiting) {
  milliseconds waited{0};
  const auto deadline = std::chrono::steady_clock::now() + kPollBound;
  for (int attempt = 0;; ++attempt) {
    milliseconds delay = attempt == 0 ? kFirstPoll : kDefaultPoll;
    if (auto after = retry_after(last, SystemClock::now())) {
      delay = std::clamp(*after, kMinPoll, kMaxPoll);
    }
    waited += delay;
    // Both clocks: the sleeps alone bound a test's fake Sleeper, the steady clock a slow CA.
    if (waited > kPollBound || std::chrono::steady_clock::now() + delay > deadline) {
      throw AcmeError(doing + ": still not done after " +
                      std::to_string(kPollBound.count() / 1000) + " s");
    }
    if (!sleep(delay)) throw AcmeError(doing + ": stopped");
    last = exchange.post(url, "", doing);
    json::object obj = parse_object(last, doing);
    const std::string status = string_member(obj, "status");
    if (std::find(waiting.begin(), waiting.end(), status) == waiting.end()) return obj;
  }
}

void Client::Impl::authorize(const std::string& authz_url, ChallengeType type,
                             ChallengeResponder& responder) {
  const std::string doing = "authorization " + authz_url;
  json::object authz = parse_object(exchange.post(authz_url, "", doing), doing);
  std::string identifier;
  if (const json::value* id = authz.if_contains("identifier"); id != nullptr && id->is_object()) {
    identifier = string_member(id->as_object(), "value");
  }
  const std::string about = "authorization for " + identifier;
  const std::string status = string_member(authz, "status");
  if (status == "valid") return;  // reused from an earlier order (§7.1.4)
  if (status != "pending") throw AcmeError(about + ": the authorization is " + status);

  const json::object* challenge = nullptr;
  std::string offered;
  if (const json::value* list = authz.if_contains("challenges"); list && list->is_array()) {
    for (const json::value& c : list->as_array()) {
      if (!c.is_object()) continue;
      const std::string name = string_member(c.as_object(), "type");
      offered += (offered.empty() ? "" : ", ") + name;
      if (name == challenge_name(type) && challenge == nullptr) challenge = &c.as_object();
    }
  }
  if (challenge == nullptr) {
    throw AcmeError(about + ": the CA offers no " + challenge_name(type) + " challenge (only " +
                    (offered.empty() ? std::string("none") : offered) + ")");
  }
  const std::string token = string_member(*challenge, "token");
  const std::string challenge_url = string_member(*challenge, "url");
  if (token.empty() || challenge_url.empty())
    throw AcmeError(about + ": challenge without token or url");

  responder.present(type, identifier, token,
                    key_authorization(token, jwk_thumbprint(exchange.account_key())));
  CleanUp clean_up(responder, type, identifier, token);
  HttpReply answered = exchange.post(challenge_url, "{}", about);
  authz = poll(authz_url, about, std::move(answered), {"pending"});
  const std::string final_status = string_member(authz, "status");
  if (final_status == "valid") {
    spdlog::info("ACME: {} challenge for {} validated", challenge_name(type), identifier);
    return;
  }
  // The reason sits in the challenge's `error` (§7.1.5), not in the authorization.
  if (const json::value* list = authz.if_contains("challenges"); list && list->is_array()) {
    for (const json::value& c : list->as_array()) {
      if (!c.is_object() || string_member(c.as_object(), "url") != challenge_url) continue;
      if (const json::value* error = c.as_object().if_contains("error")) {
        if (auto problem = parse_problem(json::serialize(*error))) {
          std::string what = about + ": " + problem->summary();
          throw AcmeError(what, std::move(problem));
        }
      }
    }
  }
  throw AcmeError(about + ": the authorization is " + final_status);
}

Client::Client(Transport& transport, std::string directory_url, KeyPtr account_key, Sleeper sleep)
    : impl_(std::make_shared<Impl>(transport, std::move(directory_url), std::move(account_key),
                                   std::move(sleep))) {}

const Directory& Client::directory() {
  return impl_->get_directory();
}

std::string Client::register_account(const AccountRequest& request) {
  const Directory& dir = impl_->get_directory();
  if (!dir.terms_of_service.empty() && !request.agree_tos) {
    throw AcmeError("newAccount: the CA's terms of service (" + dir.terms_of_service +
                    ") are not agreed to (agree_tos)");
  }
  if (dir.external_account_required && request.eab_kid.empty()) {
    throw AcmeError("newAccount: " + impl_->directory_url +
                    " requires External Account Binding, and no eab_kid is configured");
  }
  json::object payload;
  if (request.agree_tos) payload["termsOfServiceAgreed"] = true;
  if (!request.email.empty()) payload["contact"] = json::array{"mailto:" + request.email};
  if (!request.eab_kid.empty()) {
    std::string eab;
    try {
      eab = external_account_binding(request.eab_kid, request.eab_hmac_key,
                                     impl_->exchange.account_key(), dir.new_account);
    } catch (const std::exception& e) {
      // The reason names the problem, never the key (jws.hpp).
      throw AcmeError(std::string("newAccount: External Account Binding: ") + e.what());
    }
    payload["externalAccountBinding"] = json::parse(eab);
  }
  const std::string doing = "newAccount";
  HttpReply reply =
      impl_->exchange.post(dir.new_account, json::serialize(payload), doing, /*with_jwk=*/true);
  const std::string url = reply.header("location");
  if (url.empty()) throw AcmeError("newAccount: the answer has no Location");
  const std::string status = string_member(parse_object(reply, doing), "status");
  if (!status.empty() && status != "valid") {
    throw AcmeError("newAccount: the account " + url + " is " + status);
  }
  impl_->account_url = url;
  impl_->exchange.set_account_url(url);
  spdlog::info("ACME: account {} ({})", url, reply.status == 201 ? "created" : "existing");
  return url;
}

Issued Client::order_certificate(const std::vector<std::string>& names, ChallengeType type,
                                 ChallengeResponder& responder) {
  if (impl_->account_url.empty()) throw AcmeError("newOrder: register_account() comes first");
  if (names.empty()) throw AcmeError("newOrder: no names");
  const Directory& dir = impl_->get_directory();
  Exchange& ex = impl_->exchange;
  const std::string for_names = " for " + join(names);

  json::array identifiers;
  for (const auto& name : names) {
    identifiers.push_back(
        json::object{{"type", is_ip_identifier(name) ? "ip" : "dns"}, {"value", name}});
  }
  const std::string doing = "newOrder" + for_names;
  HttpReply created =
      ex.post(dir.new_order, json::serialize(json::object{{"identifiers", identifiers}}), doing);
  const std::string order_url = created.header("location");
  json::object order = parse_object(created, doing);
  const std::string finalize_url = string_member(order, "finalize");
  if (order_url.empty() || finalize_url.empty()) {
    throw AcmeError(doing + ": the answer has no Location or finalize URL");
  }
  if (const json::value* list = order.if_contains("authorizations"); list && list->is_array()) {
    for (const json::value& a : list->as_array()) {
      if (a.is_string()) impl_->authorize(std::string(a.as_string()), type, responder);
    }
  }

  // A fresh key per certificate: a renewal never reuses a key that may have leaked.
  const KeyPtr key = generate_p256_key();
  const std::string csr = crypto::base64url_encode(csr_der(names, *key));
  const std::string finalizing = "finalize" + for_names;
  HttpReply finalized =
      ex.post(finalize_url, json::serialize(json::object{{"csr", csr}}), finalizing);
  order = parse_object(finalized, finalizing);
  if (string_member(order, "status") != "valid") {
    order = impl_->poll(order_url, finalizing, std::move(finalized),
                        {"pending", "ready", "processing"});
  }
  if (const std::string status = string_member(order, "status"); status != "valid") {
    std::optional<Problem> problem;
    if (const json::value* error = order.if_contains("error")) {
      problem = parse_problem(json::serialize(*error));
    }
    throw AcmeError(finalizing + ": the order is " + status +
                        (problem ? ": " + problem->summary() : std::string()),
                    std::move(problem));
  }
  const std::string cert_url = string_member(order, "certificate");
  if (cert_url.empty()) throw AcmeError(finalizing + ": the valid order has no certificate URL");

  // The default format of the certificate resource is application/pem-certificate-chain
  // (§7.4.2); Transport sends no Accept header, so none is asked for explicitly.
  const std::string downloading = "certificate download" + for_names;
  Issued issued;
  issued.chain_pem = ex.post(cert_url, "", downloading).body;
  issued.key_pem = private_key_pem(*key);
  try {
    issued.cert = parse_certified_key(issued.chain_pem, issued.key_pem, SystemClock::now());
  } catch (const std::exception& e) {
    throw AcmeError(downloading + ": " + e.what());
  }
  spdlog::info("ACME: certificate{} issued, serial {}", for_names, issued.cert->serial);
  return issued;
}

std::optional<RenewalWindow> Client::renewal_info(const CertifiedKey& cert) {
  const Directory& dir = impl_->get_directory();
  if (dir.renewal_info.empty()) return std::nullopt;
  const std::string doing = "renewalInfo for serial " + cert.serial;
  const std::string id = ari_certificate_id(cert);
  if (id.empty()) throw AcmeError(doing + ": the certificate has no authority key identifier");
  std::string base = dir.renewal_info;
  if (!base.empty() && base.back() == '/') base.pop_back();
  auto window = parse_renewal_info(impl_->exchange.get(base + "/" + id, doing).body);
  if (!window) throw AcmeError(doing + ": the answer has no valid suggestedWindow");
  return window;
}

}  // namespace hookd::tls::acme
