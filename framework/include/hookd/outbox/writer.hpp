// The outbox writer: one thread that owns the only writing SQLite connection and commits
// appends, results of delivery attempts and claims in batches (group commit), one
// transaction per batch. Every waiter of a batch is completed after COMMIT.
// Thread-safety: append() and the observers may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "hookd/outbox/deliveries.hpp"
#include "hookd/outbox/event.hpp"

namespace hookd::metrics {
class Registry;
}

namespace hookd::outbox {

struct WriterOptions {
  std::string path;               // the SQLite file; created with the schema when missing
  bool fsync_each_commit = true;  // durability: full (synchronous=FULL) vs normal
  std::size_t max_events = 1024;  // a batch closes at this many appends ...
  std::chrono::microseconds max_wait{1000};  // ... or when its oldest append waited this long
  // When the store cannot be opened or migrated (a full disk), retry this often; appends
  // meanwhile answer unavailable.
  std::chrono::milliseconds reopen_interval{1000};
  // This process holds the store lock (serve): at the first open, the deliveries a
  // previous process left running are recovered (Store::recover(): those whose call never
  // began go back to pending without counting the attempt).
  bool recover_running = false;
  // Tests only: asked after each COMMIT that succeeded; true makes the writer treat it as
  // failed (what an I/O error reported after a durable COMMIT looks like).
  std::function<bool()> fail_after_commit;
};

class Writer {
 public:
  // Starts the writer thread and opens the store on it. `metrics` may be null; it must
  // outlive the Writer.
  explicit Writer(WriterOptions options, metrics::Registry* metrics = nullptr);
  ~Writer();  // stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues an event; `done` is called exactly once (see AppendCallback). After stop()
  // it is called at once with `unavailable`.
  void append(NewEvent event, AppendCallback done);

  // Queues a claim for the next transaction; `done` runs once on the writer thread after
  // it committed (or failed). After stop() it is called at once with a failure.
  void claim(ClaimRequest request, ClaimCallback done);

  // Queues a retention step, run in a transaction without appends; `done` runs on the
  // writer thread.
  void prune(PruneRequest request, PruneCallback done);

  // Queues the result of an attempt for the next transaction; alone, results wait up to
  // max_wait for more work to share a commit (fire and forget: if it cannot be written, the
  // delivery's lease expires and it runs again).
  void complete(DeliveryResult result);

  // The call of a claimed delivery's attempt has begun: written lazily, in the next
  // transaction (alone it waits up to max_wait for company, like a result), and not at all
  // when the attempt's result rides in the same one. After a crash, a running delivery
  // whose start was written counts the attempt; one whose start was not goes back without.
  void started(Start start);

  // Claims at append time (see AppendClaimer): the delivery engine registers itself, and
  // unregisters with an empty one. Without one, every new delivery is written pending.
  void claim_at_append(AppendClaimer claimer);
  // `wake` runs on the writer thread after each commit that created pending deliveries
  // (new events for some handler, not claimed at append), so that the engine claims them
  // at once. Empty: no call.
  void on_new_deliveries(std::function<void()> wake);

  // Runs `answer` on the writer thread at its next turn between transactions: a liveness
  // probe (the watchdog's). It stays unanswered while a transaction blocks (a COMMIT waiting
  // for a lock or an fsync), which is the stall it detects. Dropped after stop().
  void probe(std::function<void()> answer);

  // Runs `callback` on the writer thread once the store is open (at its next turn when it
  // is already): serve reports readiness then. Dropped after stop().
  void when_open(std::function<void()> callback);

  // Commits what is queued, then stops the thread. Idempotent.
  void stop();

  // Why appends cannot be expected to succeed, for /readyz: the store is not open (yet),
  // or the last batch of appends failed (a full disk) within the last 10 s and none has
  // committed since. Empty when ready.
  std::string unavailable_reason() const;
  bool ready() const;  // unavailable_reason().empty()

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t events = 0;  // appends completed (any status)
    std::uint64_t claims = 0;  // claim requests answered (any outcome)
    std::uint64_t claimed_at_append = 0;  // deliveries written running by their append
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd::outbox
