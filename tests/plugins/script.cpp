// Fixture plugin "script" for the engine tests, built with plugin.hpp: the body says what
// to do ("ok", "fail", "retry", "retry:MS", "flaky:K" = retry until attempt K, "sleep:MS",
// "exists:PATH" = retry until the file exists, "await:PATH" = wait (up to 30 s) until the
// file exists, then ok; a JSON object with "script":"fail" = fail, its message the text after
// "message":" up to the next quote, as it is (escapes too); anything else = ok), and every
// call appends "start ID ATTEMPT" and
// "end ID ATTEMPT" lines
// to the file named by `log:` in its config, with one write() each (O_APPEND), so a test
// can read the order and overlap of calls. With `locks: DIR` too, each call holds flock(2)
// locks on DIR/id-<event id> and DIR/type-<event type> while it runs, and notes "overlap ID
// ATTEMPT" when either is held already: by another call of this process, or of another
// process that has not exited (a plugin host: the kernel drops its locks only with it).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "hookd/plugin.hpp"

namespace {

class Script {
 public:
  explicit Script(std::string_view yaml) : locks_(value_of(yaml, "locks:")) {
    const std::string path = value_of(yaml, "log:");
    if (path.empty()) throw std::invalid_argument("script: missing log:");
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("script: cannot open " + path);
  }
  ~Script() { ::close(fd_); }

  hookd::Outcome handle(const hookd::Event& event) {
    const std::string tag = std::string(event.id()) + " " + std::to_string(event.attempt());
    Lock by_id(this, "id-" + std::string(event.id()), tag);
    Lock by_type(this, "type-" + std::string(event.type()), tag);
    note("start " + tag);
    const std::string_view body = event.body();
    hookd::Outcome outcome = hookd::Outcome::ok();
    if (body == "fail") {
      outcome = hookd::Outcome::fail("scripted failure");
    } else if (starts(body, "{") && body.find(R"("script":"fail")") != std::string_view::npos) {
      std::string message = "scripted failure";
      if (const auto at = body.find(R"("message":")"); at != std::string_view::npos) {
        const auto from = at + 11;
        message = std::string(body.substr(from, body.find('"', from) - from));
      }
      outcome = hookd::Outcome::fail(message);
    } else if (body == "retry") {
      outcome = hookd::Outcome::retry("scripted retry");
    } else if (starts(body, "retry:")) {
      outcome = hookd::Outcome::retry("scripted retry with delay",
                                      std::chrono::milliseconds(number(body.substr(6))));
    } else if (starts(body, "flaky:")) {
      if (event.attempt() < static_cast<std::uint32_t>(number(body.substr(6)))) {
        outcome = hookd::Outcome::retry("flaky attempt " + std::to_string(event.attempt()));
      } else {
        outcome = hookd::Outcome::ok("flaky succeeded at attempt " + std::to_string(event.attempt()));
      }
    } else if (starts(body, "exists:")) {
      if (::access(std::string(body.substr(7)).c_str(), F_OK) != 0) {
        outcome = hookd::Outcome::retry("waiting for " + std::string(body.substr(7)));
      }
    } else if (starts(body, "await:")) {
      const std::string path(body.substr(6));
      for (int i = 0; i < 6000 && ::access(path.c_str(), F_OK) != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } else if (starts(body, "sleep:")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(number(body.substr(6))));
    }
    note("end " + tag);
    return outcome;
  }

 private:
  static bool starts(std::string_view s, std::string_view prefix) {  // C++17: no starts_with
    return s.substr(0, prefix.size()) == prefix;
  }
  static long number(std::string_view s) { return std::stol(std::string(s)); }
  // The value after `key` in a flow map or a line: up to a comma, a brace or the line's end.
  static std::string value_of(std::string_view yaml, std::string_view key) {
    const auto at = yaml.find(key);
    if (at == std::string_view::npos) return {};
    std::string value(yaml.substr(at + key.size()));
    value.erase(0, value.find_first_not_of(" \"'"));
    value.erase(std::min(value.find_first_of(",}\n"), value.size()));
    value.erase(value.find_last_not_of(" \"'") + 1);
    return value;
  }
  // A flock(2) on locks_/name for one call (nothing without `locks:`).
  class Lock {
   public:
    Lock(Script* script, const std::string& name, const std::string& tag) {
      if (script->locks_.empty()) return;
      const std::string path = script->locks_ + "/" + name;
      fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ < 0) throw std::runtime_error("script: cannot open " + path);
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) script->note("overlap " + tag + " " + name);
    }
    ~Lock() {
      if (fd_ >= 0) ::close(fd_);  // drops the lock
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    int fd_ = -1;
  };
  void note(const std::string& line) {
    const std::string text = line + "\n";
    if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("script: write failed");
    }
  }

  int fd_ = -1;
  std::string locks_;  // empty: no locks
};

}  // namespace

HOOKD_PLUGIN(Script, "script")
