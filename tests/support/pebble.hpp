// A private Pebble (Let's Encrypt's test ACME server) per test, optionally with
// pebble-challtestsrv as its DNS server so that any name (hooks.test) resolves to 127.0.0.1.
// Validations go to 127.0.0.1 on the ports the test gives, where hookd or the test listens.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "loopback.hpp"
#include "temp_dir.hpp"

namespace hookd::test {

class Pebble {
 public:
  struct Options {
    std::uint16_t http_port = 0;  // where Pebble sends http-01 validations (0: a free port)
    std::uint16_t tls_port = 0;   // where it sends tls-alpn-01 validations (0: a free port)
    bool dns = false;             // start pebble-challtestsrv and resolve every name with it
    // The directory's port (0: a free one); fixed when the URL must be known before Pebble
    // runs (a server started first, retrying an unreachable CA).
    std::uint16_t port = 0;
  };

  // Starts the processes and waits until the directory answers; throws with their logs
  // after 20 s, or with an installation hint when /usr/bin/pebble is missing.
  explicit Pebble(Options options);
  ~Pebble();  // SIGKILL and reap; dumps the logs when the current test failed
  Pebble(const Pebble&) = delete;
  Pebble& operator=(const Pebble&) = delete;

  std::string directory_url() const;  // https://127.0.0.1:P/dir
  // The PEM file of Pebble's own listener certificate: the CA bundle for the directory.
  const std::string& ca_bundle() const { return listener_cert_; }
  // The root that signs issued certificates (new for every Pebble run).
  const std::string& root_pem() const { return root_pem_; }
  std::uint16_t http_port() const { return options_.http_port; }
  std::uint16_t tls_port() const { return options_.tls_port; }
  std::string logs() const;

 private:
  void stop();
  void wait_until_ready();

  TempDir dir_;
  Options options_;
  std::uint16_t port_ = 0;
  std::uint16_t management_port_ = 0;
  std::string listener_cert_;
  std::string root_pem_;
  pid_t pebble_ = -1;
  pid_t challtestsrv_ = -1;
};

}  // namespace hookd::test
