// Fixture plugin "throws", built with plugin.hpp: its constructor throws when the config
// contains "throw: true", handle() throws std::runtime_error (or a non-std exception for
// the body "int"), so tests see that no exception crosses the ABI.
#include <atomic>
#include <stdexcept>
#include <string>
#include <string_view>

#include "hookd/plugin.hpp"

namespace {

class Thrower {
 public:
  explicit Thrower(std::string_view yaml_config) {
    if (yaml_config.find("throw: true") != std::string_view::npos) {
      throw std::invalid_argument("throws: config asked me to throw");
    }
  }

  hookd::Outcome handle(const hookd::Event& event) {
    const int n = ++calls_;
    if (event.body() == "int") throw 7;
    if (event.body() == "ok") return hookd::Outcome::ok("fine after " + std::to_string(n));
    if (event.body() == "retry") {
      return hookd::Outcome::retry("later", std::chrono::milliseconds(1500));
    }
    if (event.body() == "fail") return hookd::Outcome::fail("no");
    throw std::runtime_error("handler blew up on " + std::string(event.id()));
  }

 private:
  std::atomic<int> calls_{0};
};

}  // namespace

HOOKD_PLUGIN(Thrower, "throws")
