// Paths of the bundled plugins as built (<build>/plugins/libhookd_<name>.so) and a small
// owner for the event a test hands to a plugin.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/plugin/loader.hpp"

namespace hookd::test {

std::string bundled_plugin(std::string_view name);

// The test fixture plugin `name` as built (tests/plugins/<name>: libhookd_fixture_<name>.so).
std::string fixture_plugin(std::string_view name);

// The CreateError message of creating bundled plugin `name` with `yaml`; fails the test
// when the plugin accepts the config.
std::string create_error(std::string_view name, const std::string& yaml);

// A file's bytes ("" when it cannot be read), and a substring test for messages.
std::string file_text(const std::string& path);
bool contains(const std::string& text, const std::string& part);

// Owns what a plugin::Event points to.
struct TestEvent {
  std::string id = "evt-1";
  std::string route = "r";
  std::string type = "thing.happened";
  std::int64_t received_at_us = 1'700'000'000'000'000;
  std::uint32_t attempt = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = R"({"id":"evt-1"})";

  // Valid while this TestEvent lives and is not changed.
  plugin::Event view();

 private:
  std::vector<plugin::Header> header_views_;
};

}  // namespace hookd::test
