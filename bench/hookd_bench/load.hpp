// The load itself: connections on Asio coroutines over Beast and OpenSSL, closed loop,
// open loop (--rate) or idle (--rate 0). The only hookd-bench file that includes Beast.
#pragma once

#include <string>

#include "options.hpp"
#include "report.hpp"

namespace hookd::bench {

struct LoadResult {
  Stats stats;
  double seconds = 0;
  std::string tls_version;
};

// Runs the load `o` describes. Throws std::runtime_error when the target does not resolve
// or the credentials cannot sign; connection failures are counted, not thrown.
LoadResult run_load(const Options& o, const std::string& run_id);

}  // namespace hookd::bench
