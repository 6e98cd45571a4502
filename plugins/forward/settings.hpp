// The forward plugin's `config:` block (`{url, timeout, ca_file, headers, resign}`) read
// into plain values, apart from loading the CA file, so that the config fuzzer can drive it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/https/url.hpp"
#include "signer.hpp"

namespace hookd::plugins::forward {

struct Settings {
  https::Url url;
  std::chrono::milliseconds timeout{10'000};
  std::string ca_file;                                       // empty: the system's trust store
  std::vector<std::pair<std::string, std::string>> headers;  // from `headers:`, in order
  std::unique_ptr<Signer> signer;                            // set by `resign:`
};

// Throws ConfigError (plugin_config.hpp) naming the key; never quotes the resign secret.
Settings read_settings(std::string_view yaml);

}  // namespace hookd::plugins::forward
