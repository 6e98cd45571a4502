// load_config: the one place commands read their config file.
#include "config_file.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "hookd/config/loader.hpp"

namespace hookd::app {

std::optional<config::Config> load_config(const std::string& path, config::Scope scope,
                                          std::vector<std::string>* notes) {
  auto result = config::load_file(path, config::process_environment(), scope);
  if (!result.ok()) {
    for (const auto& e : result.errors) fmt::print(stderr, "{}\n", e.str());
    return std::nullopt;
  }
  if (notes != nullptr) *notes = std::move(result.notes);
  return std::move(result.config);
}

}  // namespace hookd::app
