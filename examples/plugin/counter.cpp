// counter.cpp: an example hookd handler plugin built out of tree (see README.md). It counts
// the events it handles per event type and appends one line per event to a file:
//
//   2026-11-28T13:34:08.123456Z jofi evt_12 invitation.created #3
//
// Config (the `config:` block of its entry in hookd's `plugins:` section):
//   path: the file to append to (required; created when missing, never truncated)
//
// Outcomes: an empty body is a permanent failure (fail: no retry can fix it); a file that
// cannot be opened or written is a transient one (retry: the directory may come back, the
// disk may get space). Counts live in memory: they start from 0 on every (re)start and
// config reload, since each creates a new instance.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <hookd/plugin.hpp>

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A YAML scalar as hookd's YAML emitter writes it: plain, 'single' or "double" quoted.
std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string out;
    for (std::size_t i = 1; i + 1 < v.size(); ++i) {
      out += v[i];
      if (v[i] == '\'') ++i;  // '' stands for '
    }
    return out;
  }
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] != '\\') {
        out += v[i];
        continue;
      }
      const char c = v[++i];
      switch (c) {
        case '"':
        case '\\':
        case '/':
          out += c;
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        default:
          throw std::invalid_argument(std::string("counter: unsupported escape \\") + c +
                                      " in a config value");
      }
    }
    return out;
  }
  if (v == "~" || v == "null") return {};
  return std::string(v);
}

// The config arrives as YAML text (after hookd's ${env:...} substitution). This plugin
// only takes a flat map of scalars, which needs no YAML library: one `key: value` per
// line. A plugin with nested settings would parse the text with e.g. yaml-cpp.
std::map<std::string, std::string> parse_flat_map(std::string_view yaml) {
  std::map<std::string, std::string> out;
  if (trim(yaml) == "{}") return out;
  while (!yaml.empty()) {
    const std::size_t end = yaml.find('\n');
    const std::string_view raw = yaml.substr(0, end);
    yaml.remove_prefix(end == std::string_view::npos ? yaml.size() : end + 1);
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line == "---") continue;
    const std::size_t colon = line.find(':');
    if (raw.front() == ' ' || raw.front() == '\t' || colon == std::string_view::npos) {
      throw std::invalid_argument("counter: the config takes `key: value` settings only, got \"" +
                                  std::string(line) + "\"");
    }
    const std::string key(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (!value.empty() && (value.front() == '{' || value.front() == '[')) {
      throw std::invalid_argument("counter: `" + key + "` must be a single value");
    }
    out[key] = unquote(value);
  }
  return out;
}

// Event fields come from the network: keep each on one line of the output file.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ') c = '_';
  }
  return out;
}

// RFC 3339 in UTC with microseconds, as `hookd events list` shows received_at.
std::string timestamp(std::int64_t unix_us) {
  const std::time_t seconds = static_cast<std::time_t>(unix_us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  const auto micro = std::to_string(unix_us % 1'000'000 + 1'000'000);  // "1xxxxxx"
  return out + '.' + micro.substr(1) + 'Z';
}

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

class Counter {
 public:
  // Throwing refuses the config: `hookd check` and `hookd serve` show the message.
  explicit Counter(std::string_view yaml_config) {
    for (const auto& [key, value] : parse_flat_map(yaml_config)) {
      if (key == "path") {
        path_ = value;
      } else {
        throw std::invalid_argument("counter: unknown config key `" + key + "` (known: path)");
      }
    }
    if (path_.empty()) {
      throw std::invalid_argument("counter: the config needs `path`, the file to append to");
    }
  }

  // Runs on several worker threads at once (unless the handler has `concurrency: 1`).
  hookd::Outcome handle(const hookd::Event& event) {
    if (event.body().empty()) return hookd::Outcome::fail("empty body: nothing to count");
    const std::string type = event.type().empty() ? "(none)" : printable(event.type());

    // One lock around counting and appending: lines stay whole, their numbers follow the
    // file order, and an event whose line could not be written is not counted.
    std::lock_guard lock(mutex_);
    const std::uint64_t n = count_of(type) + 1;
    const std::string line = timestamp(event.received_at_us()) + ' ' + printable(event.route()) +
                             ' ' + printable(event.id()) + ' ' + type + " #" + std::to_string(n) +
                             '\n';
    if (const std::string error = append(line); !error.empty()) {
      return hookd::Outcome::retry(path_ + ": " + error);  // the handler's backoff decides when
    }
    counts_[type] = n;
    return hookd::Outcome::ok(type + " #" + std::to_string(n));
  }

 private:
  std::uint64_t count_of(const std::string& type) const {
    const auto it = counts_.find(type);
    return it == counts_.end() ? 0 : it->second;
  }

  // Appends `line` with one O_APPEND write; an empty answer means done. Opening the file
  // per event keeps log rotation simple (a moved file is recreated). A local write does not
  // block for long; a plugin doing network I/O must bound it below workers.handler_timeout.
  std::string append(const std::string& line) const {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open: " + errno_text(errno);
    const off_t before = ::lseek(fd, 0, SEEK_END);
    std::string error;
    ssize_t written = -1;
    do {
      written = ::write(fd, line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    if (written < 0) {
      error = "cannot write: " + errno_text(errno);
    } else if (static_cast<std::size_t>(written) != line.size()) {
      // A full disk mid-line: drop the torn part so the retry writes a whole line.
      error = "cannot write: short write (disk full?)";
      if (before < 0 || ::ftruncate(fd, before) != 0) error += "; a torn line remains";
    }
    if (::close(fd) != 0 && error.empty()) error = "cannot write: " + errno_text(errno);
    return error;
  }

  std::string path_;
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;  // event type → events counted
};

}  // namespace

// The one exported symbol, hookd_plugin_v1, for the plugin named "counter" in logs.
HOOKD_PLUGIN(Counter, "counter")
