// ACME state on disk, in `acme/` beside the store file (every file mode 0600, written
// atomically): the account key per CA, and the certificate with its chain, key and what
// it was ordered for, so that a restart serves it again without a new order.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/tls/acme/jws.hpp"
#include "hookd/tls/certified_key.hpp"

namespace hookd::tls::acme {

struct StoredCertificate {
  std::shared_ptr<const CertifiedKey> cert;
  std::vector<std::string> names;  // as configured when it was ordered
  std::string directory;           // the CA's directory URL
  // renew_before when it was ordered (ms), to renew once, not in a loop, when renew_before
  // is not shorter than the lifetime.
  std::optional<std::int64_t> renew_before_ms;
};

class Storage {
 public:
  // `dir`: <directory of storage.path>/acme (created 0700 on the first write).
  explicit Storage(std::string dir);
  const std::string& dir() const { return dir_; }

  // The account key for the CA at `directory_url`, created (and saved) when there is none.
  // Throws std::runtime_error naming the file when it cannot be read, parsed or written.
  KeyPtr account_key(const std::string& directory_url);

  // The stored certificate, nullopt when there is none or it no longer parses or has
  // expired (a warning names why: it will be ordered again).
  std::optional<StoredCertificate> load_certificate() const;
  void save_certificate(const std::string& chain_pem, const std::string& key_pem,
                        const StoredCertificate& meta);

 private:
  std::string dir_;
};

// <directory of store_path>/acme
std::string acme_dir_for_store(const std::string& store_path);

}  // namespace hookd::tls::acme
