// The token endpoint's signing key: load a PEM private key, or create an EC P-256 key
// (mode 0600) on first start; its public JWK and RFC 7638 thumbprint.
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "hookd/auth/oauth.hpp"
#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  ERR_clear_error();
  throw std::runtime_error("OAuth signing key '" + path + "': " + what);
}

std::string errno_text() {
  return std::strerror(errno);
}

// Never prompt on the terminal for the passphrase of an encrypted key: refuse it.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::string bn_bytes(const EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("cannot read the key");
  std::string out(static_cast<std::size_t>(width), '\0');
  int n = BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), width);
  BN_free(bn);
  if (n != width) throw std::runtime_error("cannot read the key");
  return out;
}

// The required public members of the JWK, in the lexicographic order RFC 7638 wants.
std::vector<std::pair<std::string, std::string>> public_members(const JwtKey& key) {
  const EVP_PKEY* k = key.pkey.get();
  if (key.algorithm == JwsAlgorithm::es256) {
    return {{"crv", "P-256"},
            {"kty", "EC"},
            {"x", crypto::base64url_encode(bn_bytes(k, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
            {"y", crypto::base64url_encode(bn_bytes(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
  if (key.algorithm == JwsAlgorithm::eddsa) {
    std::string raw(32, '\0');
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
        len != raw.size()) {
      throw std::runtime_error("cannot read the key");
    }
    return {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", crypto::base64url_encode(raw)}};
  }
  throw std::runtime_error("the key must be EC P-256 or Ed25519");
}

// RFC 7638: SHA-256 over the required members, no whitespace, sorted; base64url.
std::string thumbprint(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string canonical = "{";
  for (const auto& [name, value] : members) {
    if (canonical.size() > 1) canonical += ',';
    canonical += "\"" + name + "\":\"" + value + "\"";
  }
  canonical += '}';
  return crypto::base64url_encode(crypto::sha256(canonical));
}

PKeyPtr public_half(EVP_PKEY* key, const std::string& path) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) fail(path, "cannot extract the public key");
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(der);
  if (pub == nullptr) fail(path, "cannot extract the public key");
  return adopt_pkey(pub);
}

// Writes the key to a private temp file, then links it into place so that the file at
// `path` is complete whenever it exists and a concurrent creator's key is never replaced.
// Returns false when another process created `path` first.
bool write_new_key(const std::string& path, EVP_PKEY* key) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) fail(path, "cannot create its directory: " + ec.message());
  }
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) fail(path, "cannot create " + tmp + ": " + errno_text());
  ::fchmod(fd, 0600);
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, "cannot open " + tmp);
  }
  bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(fd) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    fail(path, "cannot write " + tmp);
  }
  bool created = true;
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) {
      created = false;
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {  // filesystems without hard links
      std::string why = errno_text();
      ::unlink(tmp.c_str());
      fail(path, "cannot create it: " + why);
    }
  }
  ::unlink(tmp.c_str());
  int dir = ::open(p.has_parent_path() ? p.parent_path().c_str() : ".", O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return created;
}

}  // namespace

SigningKey SigningKey::load(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) fail(path, "cannot read it: " + errno_text());
  EVP_PKEY* raw = PEM_read_PrivateKey(f, nullptr, no_passphrase, nullptr);
  struct stat st {};
  bool shared = ::fstat(::fileno(f), &st) == 0 && (st.st_mode & 077) != 0;
  std::fclose(f);
  PKeyPtr key = adopt_pkey(raw);
  if (!key) fail(path, "not an unencrypted PEM private key");
  auto algorithm = jws_algorithm_for(key.get());
  if (!algorithm || *algorithm == JwsAlgorithm::rs256) {
    fail(path, "the key must be EC P-256 (ES256) or Ed25519 (EdDSA)");
  }
  if (shared) {
    spdlog::warn("the OAuth signing key {} is readable by group or others; chmod 600 it", path);
  }
  JwtKey signer{{}, *algorithm, key};
  JwtKey verifier{{}, *algorithm, public_half(key.get(), path)};
  std::vector<std::pair<std::string, std::string>> members;
  try {
    members = public_members(verifier);
  } catch (const std::exception& e) {
    fail(path, e.what());
  }
  signer.kid = verifier.kid = thumbprint(members);
  boost::json::object jwk;
  for (const auto& [name, value] : members) jwk[name] = value;
  jwk["kid"] = signer.kid;
  jwk["alg"] = jws_algorithm_name(*algorithm);
  jwk["use"] = "sig";
  return SigningKey(std::move(signer), std::move(verifier), boost::json::serialize(jwk));
}

SigningKey SigningKey::load_or_create(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    PKeyPtr key = adopt_pkey(EVP_EC_gen("P-256"));
    if (!key) fail(path, "cannot generate an EC P-256 key");
    if (write_new_key(path, key.get())) {
      spdlog::warn("created a new OAuth signing key (EC P-256, ES256): {}", path);
    }
  }
  return load(path);
}

}  // namespace hookd::auth
