// ACME state files: accounts/<CA>/account.key, certificate.pem, certificate.key and
// certificate.json. Private material is written 0600 through write_file_atomically.
#include "hookd/tls/acme/storage.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "hookd/tls/files.hpp"

namespace hookd::tls::acme {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "https://acme-v02.api.letsencrypt.org/directory" → "acme-v02.api.letsencrypt.org_directory"
std::string ca_folder(const std::string& directory_url) {
  auto scheme = directory_url.find("://");
  std::string s = directory_url.substr(scheme == std::string::npos ? 0 : scheme + 3);
  std::string out;
  for (char c : s) {
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "ca" : out;
}

}  // namespace

std::string acme_dir_for_store(const std::string& store_path) {
  fs::path p(store_path);
  return ((p.has_parent_path() ? p.parent_path() : fs::path(".")) / "acme").string();
}

Storage::Storage(std::string dir) : dir_(std::move(dir)) {}

KeyPtr Storage::account_key(const std::string& directory_url) {
  fs::path path = fs::path(dir_) / "accounts" / ca_folder(directory_url) / "account.key";
  if (auto pem = read_file(path)) {
    try {
      return parse_private_key_pem(*pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("ACME account key " + path.string() + ": " + e.what());
    }
  }
  KeyPtr key = generate_p256_key();
  write_file_atomically(path.string(), private_key_pem(*key), 0600);
  spdlog::info("created an ACME account key: {}", path.string());
  return key;
}

std::optional<StoredCertificate> Storage::load_certificate() const {
  fs::path base(dir_);
  auto chain = read_file(base / "certificate.pem");
  auto key = read_file(base / "certificate.key");
  auto meta = read_file(base / "certificate.json");
  if (!chain || !key || !meta) return std::nullopt;
  StoredCertificate out;
  try {
    out.cert = parse_certified_key(*chain, *key, SystemClock::now());
    json::object o = json::parse(*meta).as_object();
    for (const auto& n : o.at("names").as_array()) out.names.emplace_back(n.as_string());
    out.directory = o.at("directory").as_string();
    if (auto* rb = o.if_contains("renew_before_ms"); rb != nullptr && rb->is_int64()) {
      out.renew_before_ms = rb->as_int64();
    }
  } catch (const std::exception& e) {
    spdlog::warn("the stored ACME certificate in {} is not usable ({}); ordering a new one", dir_,
                 e.what());
    return std::nullopt;
  }
  return out;
}

void Storage::save_certificate(const std::string& chain_pem, const std::string& key_pem,
                               const StoredCertificate& meta) {
  json::object o;
  json::array names;
  for (const auto& n : meta.names) names.emplace_back(n);
  o["names"] = std::move(names);
  o["directory"] = meta.directory;
  if (meta.renew_before_ms) o["renew_before_ms"] = *meta.renew_before_ms;
  fs::path base(dir_);
  // The key first: a crash in between leaves a pair that does not match, which
  // load_certificate() rejects (and a new order follows) rather than a stale key in use.
  write_file_atomically((base / "certificate.key").string(), key_pem, 0600);
  write_file_atomically((base / "certificate.pem").string(), chain_pem, 0600);
  write_file_atomically((base / "certificate.json").string(), json::serialize(o), 0600);
}

}  // namespace hookd::tls::acme
