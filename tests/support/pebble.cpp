// Pebble and pebble-challtestsrv as child processes of a test: config, ports, readiness, logs.
#include "pebble.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tls_client.hpp"

extern char** environ;

namespace hookd::test {
namespace {

constexpr const char* kPebble = "/usr/bin/pebble";
constexpr const char* kChallTestSrv = "/usr/bin/pebble-challtestsrv";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed CA certificate for 127.0.0.1 and localhost: Pebble's HTTPS listener. It is
// marked CA:TRUE with keyCertSign so that OpenSSL accepts it as its own trust anchor (a
// CA:FALSE leaf in the bundle would fail with "unable to get local issuer certificate").
std::string write_listener_cert(const TempDir& dir) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) fail("cannot create Pebble's listener key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("hookd test pebble"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyCertSign"},
      {NID_ext_key_usage, "serverAuth"}};
  for (const auto& [nid, value] : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr || X509_add_ext(cert.get(), ext, -1) != 1) fail("cannot add an extension");
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign the listener cert");

  auto to_pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || write(bio.get()) != 1) fail("cannot write PEM");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  dir.write("listener.key", to_pem([&](BIO* b) {
              return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
            }));
  return dir.write("listener.pem",
                   to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }));
}

// fork/exec with stdout and stderr appended to `log`. The environment is built before the
// fork: the child of a threaded test may only call async-signal-safe functions.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
            const std::string& log) {
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) {
    // An inherited PEBBLE_VA_ALWAYS_VALID would make the failure tests pass for nothing.
    if (std::strncmp(*e, "PEBBLE_", 7) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create " + log);
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork failed");
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

bool exited(pid_t& pid) {
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
    pid = -1;
    return true;
  }
  return false;
}

void kill_and_reap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

bool current_test_failed() {
  try {
    namespace ut = boost::unit_test;
    return !ut::results_collector.results(ut::framework::current_test_case().p_id).passed();
  } catch (const std::exception&) {
    return false;  // not inside a test case
  }
}

}  // namespace

Pebble::Pebble(Options options) : options_(options) {
  if (::access(kPebble, X_OK) != 0) {
    fail(std::string(kPebble) +
         " is not installed: `apt-get install pebble` (Debian 12), as "
         "the CI script does; the ACME tests run against it");
  }
  if (options_.http_port == 0) options_.http_port = free_port();
  if (options_.tls_port == 0) options_.tls_port = free_port();
  port_ = options_.port != 0 ? options_.port : free_port();
  management_port_ = free_port();
  listener_cert_ = write_listener_cert(dir_);

  std::ostringstream config;
  config << R"({"pebble":{"listenAddress":"127.0.0.1:)" << port_
         << R"(","managementListenAddress":"127.0.0.1:)" << management_port_
         << R"(","certificate":")" << listener_cert_ << R"(","privateKey":")"
         << dir_.file("listener.key") << R"(","httpPort":)" << options_.http_port
         << R"(,"tlsPort":)" << options_.tls_port
         << R"(,"ocspResponderURL":"","externalAccountBindingRequired":false}})";
  const std::string config_path = dir_.write("pebble-config.json", config.str());

  std::vector<std::string> args{kPebble, "-config", config_path};
  if (options_.dns) {
    const std::uint16_t dns_port = free_port();
    const std::uint16_t challtest_management = free_port();
    challtestsrv_ =
        spawn({kChallTestSrv, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01",
               "127.0.0.1:" + std::to_string(dns_port), "-http01", "", "-https01", "", "-tlsalpn01",
               "", "-management", "127.0.0.1:" + std::to_string(challtest_management)},
              {}, dir_.file("challtestsrv.log"));
    args.insert(args.end(), {"-dnsserver", "127.0.0.1:" + std::to_string(dns_port)});
  }
  // NOSLEEP: validations start at once instead of after up to 15 s. The default 5 % nonce
  // rejection stays on: it exercises the client's badNonce retry.
  pebble_ = spawn(args, {"PEBBLE_VA_NOSLEEP=1"}, dir_.file("pebble.log"));
  try {
    wait_until_ready();
  } catch (...) {
    stop();
    throw;
  }
}

void Pebble::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (exited(pebble_) || exited(challtestsrv_)) fail("Pebble exited during start:\n" + logs());
    try {
      // Pebble opens the management port first; the root is read once, then the directory.
      TlsClient management(management_port_);
      HttpResponse root = management.request("GET", "/roots/0", "");
      if (root.status == 200 && root.body.find("BEGIN CERTIFICATE") != std::string::npos) {
        root_pem_ = root.body;
        if (TlsClient(port_).request("GET", "/dir", "").status == 200) return;
      }
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail("Pebble did not answer within 20 s:\n" + logs());
}

void Pebble::stop() {
  kill_and_reap(pebble_);
  kill_and_reap(challtestsrv_);
}

Pebble::~Pebble() {
  stop();
  if (std::uncaught_exceptions() > 0 || current_test_failed())
    BOOST_TEST_MESSAGE("Pebble's logs:\n" << logs());
}

std::string Pebble::directory_url() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/dir";
}

std::string Pebble::logs() const {
  std::string out = "--- pebble.log\n" + read_file(dir_.file("pebble.log"));
  if (std::filesystem::exists(dir_.file("challtestsrv.log"))) {
    out += "--- challtestsrv.log\n" + read_file(dir_.file("challtestsrv.log"));
  }
  return out;
}

}  // namespace hookd::test
