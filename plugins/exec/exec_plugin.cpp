// The `exec` bundled plugin: runs a command per event (config `{command, timeout, shell,
// env}`) with the body on stdin; exit 0 ok, 75 retry, other fail, signal/timeout retry.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "hookd/plugin.hpp"
#include "plugin_config.hpp"
#include "settings.hpp"

namespace hookd::plugins::exec {
namespace {

constexpr int kExitTempFail = 75;             // EX_TEMPFAIL from sysexits.h
constexpr std::size_t kMessageBudget = 1000;  // hookd keeps 1023 bytes of a message

// Whether this process is a plugin host (`hookd plugin-host ...`, process isolation) rather
// than hookd itself (thread isolation). A plugin cannot ask hookd; its command line tells.
bool in_plugin_host() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string argv0, argv1;
  std::getline(in, argv0, '\0');
  std::getline(in, argv1, '\0');
  return argv1 == "plugin-host";
}

std::string errno_text(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU variant: returns the text
}

// Command output made fit for a one-line UTF-8 message: invalid bytes and control
// characters become '?', line breaks and tabs a space, surrounding blanks trimmed.
std::string one_line(std::string_view bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < bytes.size() && (static_cast<unsigned char>(bytes[i]) & 0xC0) == 0x80) ++i;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    std::size_t len = b < 0x80                 ? 1
                      : b >= 0xC2 && b <= 0xDF ? 2
                      : b >= 0xE0 && b <= 0xEF ? 3
                      : b >= 0xF0 && b <= 0xF4 ? 4
                                               : 0;
    // The second byte's range also rules out overlong forms, surrogates and > U+10FFFF.
    const unsigned char lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = i + k < bytes.size() ? static_cast<unsigned char>(bytes[i + k]) : 0;
      if ((c & 0xC0) != 0x80 || (k == 1 && (c < lo || c > hi))) len = 0;
    }
    if (len == 0) {
      out.push_back('?');
      ++i;
    } else if (len > 1) {
      out.append(bytes.data() + i, len);
      i += len;
    } else {
      out.push_back(b == '\n' || b == '\r' || b == '\t' ? ' '
                    : b < 0x20 || b == 0x7F             ? '?'
                                                        : bytes[i]);
      ++i;
    }
  }
  const auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  out.erase(out.find_last_not_of(' ') + 1);
  return out.substr(first);
}

// The last `max` bytes of `text`, not starting inside a UTF-8 sequence.
std::string last_bytes(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t from = text.size() - max;
  while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
  return "..." + text.substr(from);
}

// "<what>; stderr: <tail>; stdout: <tail>", stderr first, within hookd's message size.
std::string with_output(std::string what, const RunResult& run) {
  const std::string err = one_line(run.stderr_tail);
  const std::string out = one_line(run.stdout_tail);
  std::size_t room = kMessageBudget > what.size() + 40 ? kMessageBudget - what.size() - 40 : 0;
  const std::size_t out_room = err.empty() ? room : std::min(out.size(), room / 4);
  if (!err.empty()) what += "; stderr: " + last_bytes(err, room - out_room);
  if (!out.empty() && out_room > 0) what += "; stdout: " + last_bytes(out, out_room);
  return what;
}

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

std::string signal_text(int sig) {
  const char* name = sigabbrev_np(sig);
  return std::to_string(sig) + (name != nullptr ? " (SIG" + std::string(name) + ")" : "");
}

class ExecHandler {
 public:
  explicit ExecHandler(std::string_view yaml) {
    Settings settings = read_settings(yaml);
    argv_ = std::move(settings.argv);
    name_ = std::move(settings.name);
    timeout_ = settings.timeout;
    shell_ = settings.shell;

    if (!shell_ && argv_.front().find('/') != std::string::npos) {
      struct stat st {};
      if (::stat(argv_.front().c_str(), &st) != 0 || ::access(argv_.front().c_str(), X_OK) != 0) {
        throw ConfigError("exec: command: " + argv_.front() + ": " + errno_text(errno));
      }
      if (S_ISDIR(st.st_mode)) {
        throw ConfigError("exec: command: " + argv_.front() + ": is a directory");
      }
    }

    // In a plugin host (process isolation) `environ` is what hookd gave the host: its
    // defaults and the plugin's `plugins.NAME.env` list; all of it passes. Under thread
    // isolation exec runs in hookd's own process, whose environment holds the config's
    // secrets and the service manager's variables: only kPassedVars of it pass there.
    const bool in_host = in_plugin_host();
    std::set<std::string, std::less<>> overridden(std::begin(kEventVars), std::end(kEventVars));
    for (const auto& var : settings.env) overridden.insert(var.substr(0, var.find('=')));
    std::set<std::string, std::less<>> seen;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view var(*e);
      const std::string_view name = var.substr(0, var.find('='));
      if (overridden.contains(name) || seen.contains(name)) continue;  // first: getenv()'s
      if (!in_host && std::find(std::begin(kPassedVars), std::end(kPassedVars), name) ==
                          std::end(kPassedVars)) {
        continue;
      }
      seen.emplace(name);
      base_env_.emplace_back(var);
    }
    base_env_.insert(base_env_.end(), settings.env.begin(), settings.env.end());
  }

  // Thread-safe: reads only what the constructor set.
  hookd::Outcome handle(const hookd::Event& event) const {
    RunSpec spec;
    spec.argv = argv_;
    spec.env = base_env_;
    spec.env.push_back("HOOKD_EVENT_ID=" + std::string(event.id()));
    spec.env.push_back("HOOKD_EVENT_TYPE=" + std::string(event.type()));
    spec.env.push_back("HOOKD_ROUTE=" + std::string(event.route()));
    spec.env.push_back("HOOKD_ATTEMPT=" + std::to_string(event.attempt()));
    spec.input = event.body();
    spec.timeout = timeout_;
    const RunResult run = run_child(spec);

    using Status = RunResult::Status;
    switch (run.status) {
      case Status::exited:
        if (run.code == 0) return hookd::Outcome::ok();
        if (run.code == kExitTempFail) {
          return hookd::Outcome::retry(
              with_output("exec: " + name_ + " exited with status 75 (temporary failure)", run));
        }
        return hookd::Outcome::fail(
            with_output("exec: " + name_ + " exited with status " + std::to_string(run.code), run));
      case Status::signaled:
        return hookd::Outcome::retry(
            with_output("exec: " + name_ + " was killed by signal " + signal_text(run.code), run));
      case Status::timed_out:
        return hookd::Outcome::retry(
            with_output("exec: " + name_ + " timed out after " + seconds_text(timeout_), run));
      case Status::spawn_failed: {
        const std::string what = "exec: cannot run " + argv_.front() + ": " + errno_text(run.code);
        if (run.code == EAGAIN || run.code == ENOMEM || run.code == ENFILE || run.code == EMFILE ||
            run.code == EINTR) {
          return hookd::Outcome::retry(what);  // out of processes or memory: may pass
        }
        return hookd::Outcome::fail(what);  // not found, not executable, ...
      }
      case Status::error:
        break;
    }
    return hookd::Outcome::retry(
        with_output("exec: " + name_ + ": " + run.call + " failed: " + errno_text(run.code), run));
  }

 private:
  std::vector<std::string> argv_;
  std::vector<std::string> base_env_;  // inherited (see the constructor), then `env`
  std::chrono::milliseconds timeout_{30'000};
  bool shell_ = false;
  std::string name_;  // for messages
};

}  // namespace
}  // namespace hookd::plugins::exec

HOOKD_PLUGIN(hookd::plugins::exec::ExecHandler, "exec")
