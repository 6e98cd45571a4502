// The environment of a plugin host; see environment.hpp.
#include "hookd/plugin/environment.hpp"

#include <iterator>
#include <set>

namespace hookd::plugin {

std::vector<std::string> host_environment(const std::vector<std::string>& allowed,
                                          const char* const* from) {
  std::set<std::string_view> wanted(std::begin(kDefaultEnvironment), std::end(kDefaultEnvironment));
  wanted.insert(allowed.begin(), allowed.end());
  std::set<std::string_view> taken;
  std::vector<std::string> out;
  for (; from != nullptr && *from != nullptr; ++from) {
    const std::string_view variable(*from);
    const auto equals = variable.find('=');
    if (equals == std::string_view::npos) continue;  // not NAME=value: nothing to pass on
    const std::string_view name = variable.substr(0, equals);
    if (wanted.count(name) != 0 && taken.insert(name).second) out.emplace_back(variable);
  }
  return out;
}

}  // namespace hookd::plugin
