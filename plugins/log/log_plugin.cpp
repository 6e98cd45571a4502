// The `log` bundled plugin: appends each event as one JSON line to a file (config
// `{path, fsync: false}`); one write() per line with O_APPEND, so lines never interleave.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "hookd/plugin.hpp"
#include "json_line.hpp"
#include "settings.hpp"

namespace hookd::plugins::log {
namespace {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r: returns the text, which may or may not be in buf.
  return strerror_r(err, buf, sizeof buf);
}

class LogHandler {
 public:
  explicit LogHandler(std::string_view yaml) {
    Settings settings = read_settings(yaml);
    path_ = std::move(settings.path);
    fsync_ = settings.fsync;

    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        throw std::runtime_error("log: path: cannot create the directory " + parent.string() +
                                 " for " + path_ + ": " + ec.message());
      }
    }
    do {
      fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) {
      throw std::runtime_error("log: path: cannot open " + path_ + ": " + errno_text(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
        !S_ISCHR(st.st_mode)) {
      ::close(fd_);
      throw std::runtime_error("log: path: " + path_ + " is not a regular file");
    }
  }

  ~LogHandler() {
    if (fd_ >= 0) ::close(fd_);
  }
  LogHandler(const LogHandler&) = delete;
  LogHandler& operator=(const LogHandler&) = delete;

  // Thread-safe: fd_ never changes after construction and each line is one write().
  hookd::Outcome handle(const hookd::Event& event) const {
    const std::string line = json_line(event);
    ssize_t written;
    errno = 0;
    do {
      written = ::write(fd_, line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    if (written < 0) {
      return hookd::Outcome::retry("log: cannot write to " + path_ + ": " + errno_text(errno));
    }
    if (static_cast<std::size_t>(written) != line.size()) {
      const int err = errno;
      // End the partial line so that the following lines stay parseable (best effort).
      [[maybe_unused]] const ssize_t ignored = ::write(fd_, "\n", 1);
      return hookd::Outcome::retry("log: short write to " + path_ + " (" + std::to_string(written) +
                                   " of " + std::to_string(line.size()) +
                                   " bytes): " + (err != 0 ? errno_text(err) : "disk full?"));
    }
    if (fsync_ && ::fdatasync(fd_) != 0) {
      return hookd::Outcome::retry("log: cannot fdatasync " + path_ + ": " + errno_text(errno));
    }
    return hookd::Outcome::ok();
  }

 private:
  std::string path_;
  bool fsync_ = false;
  int fd_ = -1;
};

}  // namespace
}  // namespace hookd::plugins::log

HOOKD_PLUGIN(hookd::plugins::log::LogHandler, "log")
