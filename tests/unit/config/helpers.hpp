// Shared helpers of the config tests: a fake environment and short ways to load YAML text.
#pragma once

#include <map>
#include <string>

#include <boost/test/unit_test.hpp>

#include "hookd/config/loader.hpp"

namespace hookd::config::test {

inline Environment fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline LoadResult load(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  return load_string(yaml, "test.yaml", fake_env(std::move(vars)));
}

// Loads `yaml`, which must be valid, and returns the config.
inline Config load_ok(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  auto r = load(yaml, std::move(vars));
  for (const auto& e : r.errors) BOOST_TEST_MESSAGE("unexpected: " << e.str());
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r.config.has_value());
  return *r.config;
}

// All errors of a result, one `str()` per line, for messages and substring checks.
inline std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.str() + "\n";
  return out;
}

// Loads `yaml`, which must give exactly one error, and returns it.
inline ConfigError one_error(const std::string& yaml,
                             std::map<std::string, std::string> vars = {}) {
  auto r = load(yaml, std::move(vars));
  BOOST_TEST_INFO("errors:\n" << all_errors(r));
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(!r.config.has_value());
  return r.errors.front();
}

}  // namespace hookd::config::test
