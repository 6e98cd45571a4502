// --verify-store: after a run, every event id that was answered 2xx must be in the store;
// --acked-ids: those ids, written out for checks of a store whose retention deleted some.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hookd::bench {

struct StoreCheck {
  std::uint64_t checked = 0;
  std::uint64_t missing = 0;
  std::vector<std::string> examples;  // the first missing ids, at most 10
};

// Opens the hookd store at `path` read-only and looks up each id under `route` (any route
// when empty). Throws std::runtime_error when the store cannot be read.
StoreCheck verify_store(const std::string& path, const std::string& route,
                        const std::vector<std::string>& ids);

// Writes `ids` to `path`, one per line. Throws std::runtime_error when it cannot.
void write_ids(const std::string& path, const std::vector<std::string>& ids);

}  // namespace hookd::bench
