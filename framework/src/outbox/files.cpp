// Modes and access of the store's files: restrict_store_files(), check_store_access().
#include "hookd/outbox/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hookd::outbox {
namespace {

constexpr mode_t kShared = S_IRWXG | S_IRWXO;

std::string describe_owner(const struct stat& st) {
  return fmt::format("owner uid {}, gid {}, mode {:04o}", st.st_uid, st.st_gid, st.st_mode & 07777);
}

}  // namespace

std::vector<std::string> store_files(const std::string& path) {
  return {path, path + "-wal", path + "-shm"};
}

void restrict_store_files(const std::string& path) {
  for (const std::string& file : store_files(path)) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & kShared) == 0) {
      continue;
    }
    if (st.st_uid == ::geteuid() && ::chmod(file.c_str(), 0600) == 0) {
      spdlog::warn("{} was readable by other users (mode {:04o}): changed to 0600", file,
                   st.st_mode & 07777);
    } else {
      spdlog::warn(
          "{} is readable by other users (mode {:04o}, {}) and not ours to change: chmod 600 it",
          file, st.st_mode & 07777, describe_owner(st));
    }
  }
}

void check_store_access(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // missing: the writer creates it
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::vector<std::string> checked = store_files(path);
  // SQLite creates a missing -wal or -shm in the directory.
  for (const std::string& file : {checked[1], checked[2]}) {
    if (::access(file.c_str(), F_OK) != 0) {
      checked.push_back(dir.string());
      break;
    }
  }
  for (const std::string& file : checked) {
    if (::stat(file.c_str(), &st) != 0) continue;  // -wal, -shm: created on open
    // AT_EACCESS: as the effective user, who opens the files. Root passes unless the file
    // system is read-only.
    const int mode = S_ISDIR(st.st_mode) ? (W_OK | X_OK) : (R_OK | W_OK);
    if (::faccessat(AT_FDCWD, file.c_str(), mode, AT_EACCESS) == 0) continue;
    const int err = errno;
    throw StoreAccessError(fmt::format(
        "cannot {} {} ({}; hookd runs as uid {}): {}. Was a hookd command run as another user "
        "(root)? chown the store's files to the user hookd runs as",
        S_ISDIR(st.st_mode) ? "create files in" : "write", file, describe_owner(st), ::geteuid(),
        std::strerror(err)));
  }
}

}  // namespace hookd::outbox
