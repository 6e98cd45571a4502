// What the delivery engine asks of the outbox writer: claims of due deliveries (with the
// event data a handler needs) and the results of attempts. Plain values; see writer.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hookd/outbox/event.hpp"

namespace hookd::outbox {

// Claim up to `limit` due deliveries of one (route, handler) pair.
struct ClaimSpec {
  std::string route;
  std::string handler;
  std::size_t limit = 0;
  bool ordered = false;  // honour ordering keys: a key's later deliveries wait for earlier ones
  // Rescue of expired leases of this pair: back to pending, or dead once this many
  // attempts have been made.
  std::uint32_t max_attempts = 1;
};

struct ClaimRequest {
  std::vector<ClaimSpec> specs;  // claimed in this order
  std::size_t total_limit = 0;   // across all specs
  std::int64_t lease_us = 0;     // a claimed delivery is running until now + lease_us
  // The claimed deliveries' bodies together, at most (0: no limit): those past it, in id
  // order, are given back in the same transaction (pending, no attempt used); with
  // `first_regardless` the first is kept even when it alone is larger.
  std::size_t max_bytes = 0;
  bool first_regardless = false;
};

// One claimed delivery: state running, `attempt` = its attempts counter after the claim.
struct ClaimedDelivery {
  std::int64_t id = 0;
  std::string route;
  std::string handler;
  std::uint32_t attempt = 0;
  std::uint32_t crashes = 0;  // crashes of a plugin host blamed on it so far
  std::int64_t event_seq = 0;  // the event's row (commit order)
  std::string ordering_key;    // empty: none
  std::string event_id;
  std::string type;
  std::int64_t received_at_us = 0;
  std::vector<Header> headers;
  std::string body;
};

struct ClaimResult {
  bool ok = false;
  std::string error;                        // why, when !ok
  std::vector<ClaimedDelivery> deliveries;  // in id order (commit order)
  // The claim's time (unix µs, store clock): the leases run until claimed_at_us + lease_us.
  std::int64_t claimed_at_us = 0;
  // The earliest time (unix µs) after the claim at which some pending delivery of the
  // claimed pairs becomes due or a running one's lease expires; empty when there is none.
  std::optional<std::int64_t> next_due_us;
  // Deliveries were given back for max_bytes: more is claimable than was kept.
  bool truncated = false;
};

// Called once on the writer thread after the claim committed (or failed).
using ClaimCallback = std::function<void(ClaimResult)>;

// Claims at append time. When a handler has room, its new deliveries are written running
// (attempt 1, leased) in the append's own transaction and handed to the engine from
// memory after the COMMIT: no claim transaction, no reading the event back. The writer
// calls `reserve` before a batch's transaction and `claimed` after it, one batch at a
// time, both on the writer thread.
struct AppendGrant {
  std::string route;
  std::string handler;
  std::size_t count = 0;
  std::size_t max_bytes = 0;  // the largest body of those `count` deliveries
};
struct AppendClaimer {
  // `grants` lists the batch's new deliveries per (route, handler); lowers each count to
  // what the engine takes now (`max_bytes` stays as it was asked). Returns the lease in µs
  // (from the transaction's time).
  std::function<std::int64_t(std::vector<AppendGrant>& grants)> reserve;
  // The deliveries written running (fewer than granted when events were duplicates or a
  // handler was listed twice), or ok false with none when the transaction failed or
  // `reserve` threw. Every call of `reserve` is answered here once, used or not.
  std::function<void(ClaimResult result)> claimed;
};

// The call of a claimed delivery's attempt has begun (Writer::started).
struct Start {
  std::int64_t id = 0;
  std::uint32_t attempt = 0;
};

// The end of one attempt, written with a fenced UPDATE (only while the delivery is still
// running with this attempt number: a rescued or re-claimed delivery is left alone).
struct DeliveryResult {
  enum class State { done, pending, dead };
  // What happened, kept in the delivery's attempt history.
  // crashed: the plugin host died during the call (isolation: process).
  enum class Outcome { ok, retry, fail, timeout, released, crashed };
  std::int64_t id = 0;
  // The delivery's (route, handler), as claimed: the count tables move with its state.
  std::string route;
  std::string handler;
  std::uint32_t attempt = 0;
  State state = State::pending;
  Outcome outcome = Outcome::retry;
  std::int64_t scheduled_at_us = 0;  // State::pending: when it is due again
  // The attempt's message: why it failed, or for ok the plugin's own message (kept in the
  // attempt history only; a done delivery has no last_error).
  std::string error;
  bool count_crash = false;          // crashed, and blamed on this delivery: crashes + 1
  std::int64_t started_at_us = 0;
  std::int64_t finished_at_us = 0;
};

const char* outcome_name(DeliveryResult::Outcome outcome);

// Retention, one step: looks at the next `limit` events after `after_seq` (commit order)
// and deletes those of them (with their deliveries and attempts) received before the
// cutoffs: `done_before_us` for events whose deliveries are all done (or that matched no
// handler), `dead_before_us` for events with a dead delivery and none pending or running.
// Events with unfinished work are never deleted. A step's work is bounded by `limit`
// whatever the size of the store: a pass walks the old end of the table in steps, and
// stops where events are too young for either cutoff.
struct PruneRequest {
  std::int64_t done_before_us = 0;
  std::int64_t dead_before_us = 0;
  std::size_t limit = 500;
  std::int64_t after_seq = 0;
};
struct PruneResult {
  std::size_t deleted = 0;
  std::int64_t last_seq = 0;  // the last seq looked at: the next step's after_seq
  bool finished = false;      // nothing after last_seq is old enough: the pass is over
};
// Called on the writer thread after the step committed, or with std::nullopt when it failed.
using PruneCallback = std::function<void(std::optional<PruneResult>)>;

// Attempts kept per delivery in the `attempts` table; older ones are pruned.
inline constexpr int kAttemptHistory = 20;

}  // namespace hookd::outbox
