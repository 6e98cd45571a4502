// `${env:NAME}`, `${env:NAME:-default}` and `${file:PATH}` references inside config string
// values, and reading a whole file as the loader does.
// Thread-safety: pure apart from the injected Environment and reading files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/config/loader.hpp"

namespace hookd::config {

// A `${env:NAME:-default}` whose variable was unset or empty, so the default was used.
struct EnvFallback {
  std::string name;
  bool was_empty = false;  // set but empty (shell `:-` semantics), rather than unset
};

struct Substituted {
  std::string value;         // the resolved text; may hold a secret, never log it
  bool substituted = false;  // at least one ${...} was replaced
  // What went wrong, one message per bad reference. Messages name variables and paths as
  // written, never a resolved value.
  std::vector<std::string> errors;
  std::vector<EnvFallback> fallbacks;  // in the order they appear in the text
};

// Replaces every reference in `text`:
//   ${env:NAME}           the variable's value (an error when unset; empty is fine)
//   ${env:NAME:-default}  the value, or `default` when unset or empty (as in sh)
//   ${file:PATH}          the file's content minus one trailing newline ("\n" or "\r\n");
//                         a relative PATH resolves against the working directory
//   $${                   a literal "${" (the escape); any other '$' is literal
// NAME is [A-Za-z_][A-Za-z0-9_]*. A default and a PATH end at the first '}'. Resolved text is
// not scanned again, so a secret containing "${" stays as it is.
// `files` reads ${file:PATH}; empty: read_text_file.
Substituted substitute(std::string_view text, const Environment& env,
                       const FileReader& files = {});

// Reads the whole file at `path`. On failure returns std::nullopt and sets `error` to the
// system's reason (strerror).
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

}  // namespace hookd::config
