// The ACME certificate's life in a running server: stored → served, due → ordered, failed
// → retried with backoff. The decisions are renewal.hpp's pure functions; this file only
// sequences them, waits, and logs what an operator needs (never a key or a JWS).
#include "hookd/tls/acme/manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/tls/acme/challenge.hpp"
#include "hookd/tls/acme/client.hpp"
#include "hookd/tls/acme/renewal.hpp"

namespace hookd::tls::acme {
namespace {

using Steady = std::chrono::steady_clock;
// However far the next renewal is, look again this often (ARI windows can move).
constexpr auto kMaxSleep = std::chrono::hours(12);
constexpr auto kRequestTimeout = std::chrono::seconds(30);

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string utc(SystemClock::time_point t) {
  std::time_t s = SystemClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::int64_t> renew_before_ms(const config::AcmeConfig& config) {
  if (!config.renew_before) return std::nullopt;
  return config.renew_before->count();
}

// Whether the stored certificate was ordered for exactly these names from this CA.
bool covers(const StoredCertificate& stored, const config::AcmeConfig& config) {
  auto a = stored.names;
  auto b = config.names;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b && stored.directory == config.directory;
}

// Puts challenge answers where the listeners look, for the length of one order.
class Responder final : public ChallengeResponder {
 public:
  explicit Responder(ServerCertificates& certs) : certs_(certs) {}
  void present(ChallengeType type, const std::string& identifier, const std::string& token,
               const std::string& key_authorization) override {
    if (type == ChallengeType::tls_alpn_01) {
      certs_.add_challenge(tls_alpn_server_name(identifier),
                           tls_alpn_certificate(identifier, key_authorization));
    } else {
      certs_.add_token(token, key_authorization);
    }
  }
  void clean_up(ChallengeType type, const std::string& identifier,
                const std::string& token) override {
    if (type == ChallengeType::tls_alpn_01) {
      certs_.remove_challenge(tls_alpn_server_name(identifier));
    } else {
      certs_.remove_token(token);
    }
  }

 private:
  ServerCertificates& certs_;
};

}  // namespace

Manager::Manager(const config::AcmeConfig& config, std::string state_dir,
                 ServerCertificates& certificates, metrics::Registry* metrics)
    : storage_(std::move(state_dir)), certificates_(certificates), config_(config) {
  if (metrics != nullptr) {
    const char* help = "ACME certificate orders by outcome (valid, failed).";
    orders_valid_ = &metrics->counter("hookd_acme_orders_total", help, {{"outcome", "valid"}});
    orders_failed_ = &metrics->counter("hookd_acme_orders_total", help, {{"outcome", "failed"}});
  }
  stored_ = storage_.load_certificate();
  if (stored_ && covers(*stored_, config)) {
    certificates_.set_current(stored_->cert);
    spdlog::info("serving the stored ACME certificate for {} (serial {}, expires {})",
                 joined(stored_->names), stored_->cert->serial, utc(stored_->cert->not_after));
    return;
  }
  if (stored_) {
    spdlog::info("the stored ACME certificate is for {} from {}: ordering one for {}",
                 joined(stored_->names), stored_->directory, joined(config.names));
  }
  stored_.reset();
  certificates_.set_unavailable_reason("no TLS certificate yet: ordering one for " +
                                       joined(config.names) + " from " + config.directory);
}

Manager::~Manager() {
  stop();
}

void Manager::start() {
  thread_ = std::thread([this] {
    log::set_thread_name("acme");
    run();
  });
}

void Manager::reconfigure(const config::AcmeConfig& config) {
  {
    std::lock_guard lock(mutex_);
    config_ = config;
    changed_ = true;  // even when unchanged: a SIGHUP retries a failed order at once
  }
  cv_.notify_all();
}

void Manager::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Manager::wait_until(Steady::time_point until) {
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, until, [this] { return stopping_ || changed_; });
  return !stopping_;
}

void Manager::run() {
  int failures = 0;
  std::optional<std::int64_t> warned_for;  // renew_before already warned about
  for (;;) {
    config::AcmeConfig config;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      config = config_;
      changed_ = false;
    }
    auto now = SystemClock::now();
    SystemClock::time_point due = now;
    if (stored_ && !covers(*stored_, config)) {
      spdlog::info("server.tls.acme now names {} from {}: ordering a new certificate",
                   joined(config.names), config.directory);
    } else if (stored_) {
      std::optional<RenewalWindow> ari;
      try {
        auto transport = make_https_transport(config.ca_bundle, kRequestTimeout);
        Client client(*transport, config.directory, storage_.account_key(config.directory),
                      [](std::chrono::milliseconds) { return false; });
        ari = client.renewal_info(*stored_->cert);
      } catch (const std::exception& e) {
        spdlog::debug("no ACME renewal information (ARI): {}", e.what());
      }
      auto when = renewal_time(*stored_->cert, config.renew_before, ari, rng_);
      due = when.at;
      if (when.renew_before_ignored) {
        auto lifetime = std::chrono::duration_cast<std::chrono::hours>(stored_->cert->not_after -
                                                                       stored_->cert->not_before);
        if (stored_->renew_before_ms != renew_before_ms(config)) {
          // Ordered under another renew_before: renew once now, as asked.
          due = now;
          spdlog::warn(
              "server.tls.acme.renew_before is not shorter than the certificate's lifetime ({} "
              "days): renewing once now; after that, renewal waits until a third of the "
              "lifetime remains",
              lifetime.count() / 24);
        } else if (warned_for != renew_before_ms(config)) {
          warned_for = renew_before_ms(config);
          spdlog::warn(
              "server.tls.acme.renew_before is not shorter than the certificate's lifetime ({} "
              "days): renewing when a third of the lifetime remains instead",
              lifetime.count() / 24);
        }
      }
    }
    now = SystemClock::now();
    if (due > now) {
      spdlog::info("next ACME renewal of {} at {}", joined(config.names), utc(due));
      auto wait = std::min<Steady::duration>(due - now, kMaxSleep);
      if (!wait_until(Steady::now() + wait)) return;
      continue;
    }
    if (order(config)) {
      failures = 0;
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto delay = retry_delay(++failures, rng_);
    spdlog::warn("retrying the ACME order in {} s (attempt {} failed)",
                 std::chrono::duration_cast<std::chrono::seconds>(delay).count(), failures);
    if (!stored_) {
      std::string reason = certificates_.unavailable_reason();
      certificates_.set_unavailable_reason(reason + "; retrying in " +
                                           std::to_string(delay.count() / 1000) + " s");
    }
    if (!wait_until(Steady::now() + delay)) return;
  }
}

bool Manager::order(const config::AcmeConfig& config) {
  auto started = Steady::now();
  auto challenge = config.challenge == config::AcmeConfig::Challenge::http_01
                       ? ChallengeType::http_01
                       : ChallengeType::tls_alpn_01;
  try {
    spdlog::info("ordering a certificate for {} from {} ({})", joined(config.names),
                 config.directory, challenge == ChallengeType::http_01 ? "http-01" : "tls-alpn-01");
    auto transport = make_https_transport(config.ca_bundle, kRequestTimeout);
    Client client(*transport, config.directory, storage_.account_key(config.directory),
                  [this](std::chrono::milliseconds d) {
                    std::unique_lock lock(mutex_);
                    return !cv_.wait_for(lock, d, [this] { return stopping_; });
                  });
    client.register_account(
        {config.email, config.agree_tos, config.eab_kid, config.eab_hmac_key.str()});
    Responder responder(certificates_);
    Issued issued = client.order_certificate(config.names, challenge, responder);
    StoredCertificate meta{issued.cert, config.names, config.directory, renew_before_ms(config)};
    storage_.save_certificate(issued.chain_pem, issued.key_pem, meta);
    certificates_.set_current(issued.cert);
    stored_ = std::move(meta);
    if (orders_valid_ != nullptr) orders_valid_->inc();
    spdlog::info(
        "obtained a certificate for {} (serial {}, expires {}) in {} ms", joined(config.names),
        issued.cert->serial, utc(issued.cert->not_after),
        std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started).count());
    return true;
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    if (orders_failed_ != nullptr) orders_failed_->inc();
    spdlog::error("ACME order for {} failed: {}", joined(config.names), e.what());
    if (!stored_) {
      certificates_.set_unavailable_reason("no TLS certificate yet: the ACME order for " +
                                           joined(config.names) + " failed: " + e.what());
    }
    return false;
  }
}

}  // namespace hookd::tls::acme
