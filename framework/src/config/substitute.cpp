// Resolution of ${env:...} and ${file:...} references in config values; see substitute.hpp
// for the syntax. Error messages name what was written, never what it resolved to.
#include "hookd/config/substitute.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hookd::config {
namespace {

constexpr std::string_view forms =
    "expected ${env:NAME}, ${env:NAME:-default} or ${file:PATH} (write $${ for a literal ${)";

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

std::string drop_one_newline(std::string s) {
  if (s.ends_with("\r\n")) {
    s.resize(s.size() - 2);
  } else if (s.ends_with('\n')) {
    s.pop_back();
  }
  return s;
}

// Resolves the inside of one `${...}` (`body`, without the braces) into `out`.
void resolve(std::string_view body, const Environment& env, const FileReader& files,
             Substituted& out) {
  std::string written = "${" + std::string(body) + "}";
  if (body.starts_with("env:")) {
    std::string_view spec = body.substr(4);
    auto sep = spec.find(":-");
    std::string_view name = spec.substr(0, sep);
    if (!valid_env_name(name)) {
      out.errors.push_back("invalid environment variable name in '" + written +
                           "' (letters, digits and '_', not starting with a digit)");
      return;
    }
    auto value = env ? env(std::string(name)) : std::nullopt;
    if (sep != std::string_view::npos) {
      if (!value || value->empty()) {
        out.fallbacks.push_back({std::string(name), value.has_value()});
        out.value += spec.substr(sep + 2);
        return;
      }
    } else if (!value) {
      out.errors.push_back("environment variable " + std::string(name) + " is not set");
      return;
    }
    out.value += *value;
    return;
  }
  if (body.starts_with("file:")) {
    std::string path(body.substr(5));
    if (path.empty()) {
      out.errors.push_back("'" + written + "' names no file; " + std::string(forms));
      return;
    }
    std::string why;
    auto content = files ? files(path, why) : read_text_file(path, why);
    if (!content) {
      out.errors.push_back("cannot read file " + path + ": " + why);
      return;
    }
    out.value += drop_one_newline(std::move(*content));
    return;
  }
  out.errors.push_back("unknown reference '" + written + "'; " + std::string(forms));
}

}  // namespace

Substituted substitute(std::string_view text, const Environment& env, const FileReader& files) {
  Substituted out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with("$${")) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (!text.substr(i).starts_with("${")) {
      out.value += text[i++];
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.errors.push_back("'${' without a closing '}'; " + std::string(forms));
      return out;
    }
    resolve(text.substr(i + 2, close - i - 2), env, files, out);
    out.substituted = true;
    i = close + 1;
  }
  return out;
}

std::optional<std::string> read_text_file(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string content;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

}  // namespace hookd::config
