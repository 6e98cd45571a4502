// Certificates from files (server.tls cert/key): read at start and again at each SIGHUP,
// and the self-signed localhost pair that makes the default config serve HTTPS at once.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "hookd/config/config.hpp"
#include "hookd/tls/certified_key.hpp"

namespace hookd::tls {

// Reads server.tls cert and key (first creating the self-signed pair when self_signed is
// set and both files are missing). Throws std::runtime_error naming the file and the
// reason: missing, unparsable, key mismatch, expired.
std::shared_ptr<const CertifiedKey> load_tls_files(const config::TlsConfig& tls);

// Writes an EC P-256 key (mode 0600) and a one-year certificate for localhost, 127.0.0.1
// and ::1, creating parent directories.
void create_self_signed(const std::string& cert_path, const std::string& key_path);

// Replaces `path` with `data` so that a reader sees the old or the new file, never a
// part: a temporary file created with `mode` in the same directory, fsync'd, renamed over
// `path`, then the directory fsync'd. Creates missing parent directories (mode 0700).
// Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, std::string_view data, mode_t mode);

}  // namespace hookd::tls
