// The delivery engine: a dispatcher that claims due deliveries through the outbox writer
// (new deliveries mostly by the transaction that stores their event: outbox::AppendClaimer,
// registered with the writer for the engine's lifetime) and a pool of worker threads that
// run them on their handler plugins, with per-handler concurrency limits, ordering keys,
// timeouts, retries and a graceful stop.
//
// Thread-safety: every member may be called from any thread. Plugin calls run only on
// the engine's worker threads; SQLite only on the writer thread (and the dispatcher's own
// read connection for the queue gauges).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/plugin/host.hpp"
#include "hookd/plugin/loader.hpp"

namespace hookd::metrics {
class Registry;
}
namespace hookd::outbox {
class Writer;
}

namespace hookd::worker {

// How a plugin is called: exactly one of the two is set. Shared by the routes naming it.
struct Callee {
  std::shared_ptr<const plugin::Instance> instance;  // isolation: thread
  std::shared_ptr<plugin::Host> host;                // isolation: process
};

// One handler of one route: deliveries with this (route, plugin) pair run on `callee`.
struct Handler {
  std::string route;
  std::string plugin;
  Callee callee;
  std::uint32_t concurrency = 1;  // at most this many of its deliveries at once (>= 1)
  config::RetryConfig retry;
  bool ordered = false;  // deliveries carry ordering keys: same key → one at a time, in order
  std::uint32_t max_crashes = 3;  // workers.max_crashes
};

struct EngineOptions {
  std::uint32_t threads = 4;
  std::chrono::milliseconds handler_timeout{30000};
  // How often to look for due work even when nothing woke the engine: changes by another
  // process (`hookd replay`) and retries that are due are found this way at the latest.
  std::chrono::milliseconds poll_interval{1000};
  // How often the queue gauges (deliveries by state, oldest pending age) are refreshed.
  std::chrono::milliseconds gauge_interval{5000};
  std::string store_path;  // for the gauges' read-only connection; empty: no gauges
  // The bodies of claimed deliveries not yet finished (waiting for a thread or running),
  // at most: a bound on the engine's memory when bodies are large (256 per slot of 1 MiB
  // bodies would be 1 GiB for four threads). One delivery larger than this runs alone.
  std::size_t max_held_body_bytes = std::size_t{64} << 20;
};

class Engine {
 public:
  // Starts the dispatcher and the worker threads. `writer` must outlive the Engine (or at
  // least its stop()); `metrics` may be null and must outlive the Engine otherwise.
  Engine(outbox::Writer& writer, EngineOptions options, std::vector<Handler> handlers,
         metrics::Registry* metrics = nullptr);
  ~Engine();  // stop() with no grace
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Replaces the handlers (config reload). Running deliveries finish on the instance they
  // started with; new claims use the new set. A pair no longer configured keeps its
  // deliveries pending (they run again when a config names the pair).
  void set_handlers(std::vector<Handler> handlers);

  // New deliveries were committed: claim now instead of at the next poll.
  void wake();

  struct Stats {
    std::size_t held_body_bytes = 0;       // bodies of claimed deliveries not yet finished
    std::size_t held_body_bytes_peak = 0;  // the most they ever were
  };
  Stats stats() const;

  // Stops claiming, gives claimed-but-not-started deliveries back (pending, no attempt
  // used), and waits up to `grace` for running handlers; their results are written. Returns
  // how many were still running after the grace period: they stay `running` in the store
  // and run again after their lease expires. Idempotent.
  std::size_t stop(std::chrono::milliseconds grace);

  // The lease a claimed delivery gets: twice the handler timeout, the 2 s a hosted call
  // may overstay it before the engine reports it, and a margin (the timeout itself, at
  // most 10 s), so that the engine's own timeout acts first and a lease expires only when
  // hookd went away (30 s → 72 s, 1 s → 5 s). For that, a claimed
  // delivery must start within handler_timeout: one still queued then (behind calls that
  // overran their timeout and still hold their threads) is released (pending again, no
  // attempt used), and no delivery is claimed for a thread stuck in such a call.
  static std::chrono::milliseconds lease_for(std::chrono::milliseconds handler_timeout);

  // How many deliveries the engine claims ahead per free slot of a handler whose calls
  // take `call_us` on average (0: none measured yet), when a claim takes `claim_us` to come
  // back (a commit): enough to cover two claims, so that a fast handler is not held to the
  // claim cadence; 2 at least, 256 at most, and never more than a quarter of
  // handler_timeout of calls, so that a queued delivery starts well within it.
  static std::uint32_t claim_ahead(double call_us, double claim_us,
                                   std::chrono::milliseconds handler_timeout);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace hookd::worker
