// Keeps the listener supplied with an ACME certificate: serves the stored one at start
// when it still covers the configured names, orders one when there is none, renews it in
// the background when due (ARI window, renew_before, or a third of the lifetime left),
// retries failures with backoff while the old certificate keeps serving.
// Thread-safety: construct, start(), reconfigure() and stop() from any one thread; the
// work runs on the manager's own thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "hookd/config/config.hpp"
#include "hookd/tls/acme/storage.hpp"
#include "hookd/tls/acme/transport.hpp"
#include "hookd/tls/server_certificates.hpp"

namespace hookd::metrics {
class Registry;
class Counter;
}  // namespace hookd::metrics

namespace hookd::tls::acme {

class Manager {
 public:
  // `state_dir`: acme_dir_for_store(storage.path). `certificates` and `metrics` (may be
  // null) must outlive the Manager. Reads the stored certificate and serves it when it
  // covers `config.names` (so a restart makes no order); otherwise the listener has no
  // certificate (and /readyz says why) until the first order succeeds.
  Manager(const config::AcmeConfig& config, std::string state_dir, ServerCertificates& certificates,
          metrics::Registry* metrics);
  ~Manager();  // stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  void start();
  // A SIGHUP's acme block: new names order a new certificate; renew_before and the CA
  // apply to the next decision. Wakes the thread, so a failed order is retried at once.
  void reconfigure(const config::AcmeConfig& config);
  // Ends the thread; an exchange in progress stops at its next wait. Idempotent.
  void stop();

 private:
  void run();
  // Waits until `until` or a stop/reconfigure; false when stopping.
  bool wait_until(std::chrono::steady_clock::time_point until);
  bool order(const config::AcmeConfig& config);  // true when a certificate was installed

  Storage storage_;
  ServerCertificates& certificates_;
  metrics::Counter* orders_valid_ = nullptr;
  metrics::Counter* orders_failed_ = nullptr;
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex mutex_;
  std::condition_variable cv_;
  config::AcmeConfig config_;
  bool changed_ = false;
  bool stopping_ = false;
  std::optional<StoredCertificate> stored_;  // what is served (thread-only after start)
  std::thread thread_;
};

}  // namespace hookd::tls::acme
