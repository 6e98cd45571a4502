// The ACME protocol (RFC 8555) as a sequence of plain requests: directory, nonces with
// badNonce retry, account, one order for all names, challenges, polling with Retry-After,
// finalize with a fresh key, download; plus ARI (RFC 9773) renewal windows.
// Thread-safety: one thread uses a Client at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hookd/tls/acme/jws.hpp"
#include "hookd/tls/acme/problem.hpp"
#include "hookd/tls/acme/renewal.hpp"
#include "hookd/tls/acme/transport.hpp"
#include "hookd/tls/certified_key.hpp"

namespace hookd::tls::acme {

enum class ChallengeType { tls_alpn_01, http_01 };

// Puts a challenge response where the CA's validation will look (the server's certificate
// selection for tls-alpn-01, the http-01 listener's token table) and takes it away again.
class ChallengeResponder {
 public:
  virtual ~ChallengeResponder() = default;
  virtual void present(ChallengeType type, const std::string& identifier, const std::string& token,
                       const std::string& key_authorization) = 0;
  virtual void clean_up(ChallengeType type, const std::string& identifier,
                        const std::string& token) = 0;
};

// An exchange failed: the CA said no (problem set), or it could not be reached, or its
// answer made no sense. what() is one line for the log, without keys or JWS.
struct AcmeError : std::runtime_error {
  AcmeError(const std::string& what, std::optional<Problem> p = std::nullopt)
      : std::runtime_error(what), problem(std::move(p)) {}
  std::optional<Problem> problem;
};

struct Directory {
  std::string new_nonce, new_account, new_order, renewal_info;  // renewal_info may be empty
  bool external_account_required = false;
  std::string terms_of_service;
};

struct AccountRequest {
  std::string email;  // empty: no contact
  bool agree_tos = false;
  std::string eab_kid;       // empty: no External Account Binding
  std::string eab_hmac_key;  // base64url
};

struct Issued {
  std::string chain_pem;  // leaf first, as downloaded
  std::string key_pem;    // the certificate's fresh private key (PKCS#8)
  std::shared_ptr<const CertifiedKey> cert;
};

// Waits up to the duration; false when the caller is stopping (the exchange then ends
// with AcmeError "stopped"). Polling and Retry-After waits go through it, so a test or a
// shutdown never sleeps blindly.
using Sleeper = std::function<bool(std::chrono::milliseconds)>;

class Client {
 public:
  Client(Transport& transport, std::string directory_url, KeyPtr account_key, Sleeper sleep);

  const Directory& directory();  // fetched once, then cached

  // newAccount (an existing account for this key is found again: 200 with its URL).
  // Returns the account URL and uses it as `kid` from then on.
  std::string register_account(const AccountRequest& request);

  // One order with every name as an identifier (IP addresses as type "ip"), each pending
  // authorization answered with `type` through `responder` (cleaned up afterwards, also on
  // failure), polled until valid, finalized with a CSR over a fresh P-256 key, and the
  // chain downloaded and parsed. Requires register_account() first.
  Issued order_certificate(const std::vector<std::string>& names, ChallengeType type,
                           ChallengeResponder& responder);

  // The CA's suggested renewal window for `cert` (ARI), nullopt when the directory has no
  // renewalInfo. Throws AcmeError like the rest.
  std::optional<RenewalWindow> renewal_info(const CertifiedKey& cert);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd::tls::acme
