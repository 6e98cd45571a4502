// Fuzz target: the config loader on arbitrary YAML (every section, both scopes), with
// ${env:...} and ${file:...} resolved from a fixed sandbox instead of the process
// environment and the file system. Property: no error message or note carries a resolved
// secret (the loader promises to name references only as written).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_request.hpp"
#include "hookd/config/loader.hpp"

using namespace hookd;

namespace {

// Values no input is likely to spell by chance; an input that does is not checked.
constexpr std::string_view kEnvSecret = "ENV-SECRET-5e1f";
constexpr std::string_view kFileSecret = "FILE-SECRET-91c2";

std::optional<std::string> sandbox_env(const std::string& name) {
  static const std::map<std::string, std::string, std::less<>> vars{
      {"HOOKD_SECRET", std::string(kEnvSecret)},
      {"PORT", "8443"},
      {"EMPTY", ""},
      {"HOST", "127.0.0.1"},
  };
  const auto it = vars.find(name);
  if (it == vars.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> sandbox_files(const std::string& path, std::string& error) {
  static const std::map<std::string, std::string, std::less<>> files{
      {"/etc/hookd/secret", std::string(kFileSecret) + "\n"},
      {"secret.txt", std::string(kFileSecret) + "\r\n"},
      {"/etc/hookd/jwks.json", R"({"keys":[]})"},
      {"empty", ""},
  };
  const auto it = files.find(path);
  if (it == files.end()) {
    error = "No such file or directory";
    return std::nullopt;
  }
  return it->second;
}

bool leaks(const std::string& text) {
  return text.find(kEnvSecret) != std::string::npos || text.find(kFileSecret) != std::string::npos;
}

void check(const config::LoadResult& result, bool spelled) {
  if (spelled) return;
  for (const auto& e : result.errors) {
    if (leaks(e.str())) __builtin_trap();
  }
  for (const auto& note : result.notes) {
    if (leaks(note)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml = fuzz::as_text(data, size);
  const bool spelled = yaml.find("SECRET-") != std::string_view::npos;
  for (auto scope : {config::Scope::all, config::Scope::store}) {
    check(config::load_string(yaml, "fuzz.yaml", sandbox_env, scope, sandbox_files), spelled);
  }
  return 0;
}
