// server.tls cert/key files, and atomic writes of key material.
#include "hookd/tls/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <stdexcept>

namespace hookd::tls {
namespace fs = std::filesystem;

std::shared_ptr<const CertifiedKey> load_tls_files(const config::TlsConfig& tls) {
  bool cert_exists = fs::exists(tls.cert);
  bool key_exists = fs::exists(tls.key);
  if (!cert_exists && !key_exists && tls.self_signed) {
    spdlog::warn("creating a self-signed certificate for localhost: {} (key {})", tls.cert,
                 tls.key);
    create_self_signed(tls.cert, tls.key);
  } else if (!cert_exists || !key_exists) {
    throw std::runtime_error(
        "TLS " + std::string(cert_exists ? "key " + tls.key : "certificate " + tls.cert) +
        " does not exist");
  }
  return load_certified_key(tls.cert, tls.key, SystemClock::now());
}

void write_file_atomically(const std::string& path, std::string_view data, mode_t mode) {
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  std::string temp = (dir / ("." + target.filename().string() + ".tmp")).string();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + temp);
  ::fchmod(fd, mode);  // the umask may have narrowed it; never widen beyond `mode`
  bool ok = true;
  for (std::size_t done = 0; ok && done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot write " + path);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace hookd::tls
