// Paths of the bundled plugins and the TestEvent owner; see plugins.hpp.
#include "plugins.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>

namespace hookd::test {

std::string bundled_plugin(std::string_view name) {
  return std::string(HOOKD_PLUGIN_DIR) + "/libhookd_" + std::string(name) + ".so";
}

std::string fixture_plugin(std::string_view name) {
  return std::string(HOOKD_FIXTURE_DIR) + "/libhookd_fixture_" + std::string(name) + ".so";
}

std::string create_error(std::string_view name, const std::string& yaml) {
  try {
    plugin::Library::load(bundled_plugin(name))->create(yaml);
  } catch (const plugin::CreateError& e) {
    return e.what();
  }
  BOOST_FAIL("the " << name << " plugin accepted: " << yaml);
  return {};
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

plugin::Event TestEvent::view() {
  header_views_.clear();
  for (const auto& [name, value] : headers) header_views_.push_back({name, value});
  return plugin::Event{id, route, type, received_at_us, attempt, header_views_, body};
}

}  // namespace hookd::test
