// Paths of the bundled plugins and the TestEvent owner; see plugins.hpp.
#include "plugins.hpp"

namespace hookd::test {

std::string bundled_plugin(std::string_view name) {
  return std::string(HOOKD_PLUGIN_DIR) + "/libhookd_" + std::string(name) + ".so";
}

plugin::Event TestEvent::view() {
  header_views_.clear();
  for (const auto& [name, value] : headers) header_views_.push_back({name, value});
  return plugin::Event{id, route, type, received_at_us, attempt, header_views_, body};
}

}  // namespace hookd::test
