// Fuzz target: the jofi plugin's config reader (plugins/jofi/settings.cpp over
// plugins/common/plugin_config.cpp) on arbitrary YAML: database, smtp (host, port, from/to mailboxes, timeout, helo), pointers (JSON pointers).
// A bad config is a ConfigError for the operator; create() turns any std::exception into an
// error message, so only crashes and sanitizer reports are findings.
#include <cstddef>
#include <cstdint>
#include <exception>

#include "fuzz_request.hpp"
#include "settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)hookd::plugins::jofi::read_settings(hookd::fuzz::as_text(data, size));
  } catch (const std::exception&) {
  }
  return 0;
}
