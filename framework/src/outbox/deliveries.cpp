// The writer's delivery statements: claims of due deliveries (with lease rescue, ordering
// keys, and unreadable rows set dead), fenced results of attempts with their bounded history.
#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "hookd/outbox/headers_json.hpp"
#include "counts.hpp"
#include "store.hpp"

namespace hookd::outbox {
namespace {

// Expired leases of one pair go back to pending (at least once), or to dead when the
// attempts are used up; the expiry is kept in the attempt history.
constexpr std::string_view kRescueHistory =
    "INSERT OR REPLACE INTO attempts (delivery_id, attempt, started_at, finished_at, outcome, "
    "error) SELECT id, attempts, updated_at, ?3, 'lease_expired', "
    "'the lease expired: hookd stopped or the handler ran past it' FROM deliveries "
    "WHERE route = ?1 AND handler = ?2 AND state = 'running' AND lease_until < ?3 AND attempts > 0";
constexpr std::string_view kRescue =
    "UPDATE deliveries SET state = CASE WHEN attempts >= ?4 THEN 'dead' ELSE 'pending' END, "
    "lease_until = NULL, scheduled_at = ?3, updated_at = ?3, "
    "last_error = 'lease expired after attempt ' || attempts "
    "WHERE route = ?1 AND handler = ?2 AND state = 'running' AND lease_until < ?3 "
    "RETURNING state";

// Claim the due deliveries in the order they fell due (a new delivery is due at its
// commit: commit order); with ordering keys, a delivery waits while an earlier one with
// the same key is pending (also when scheduled later: retrying) or running. The walk of
// deliveries_due stops at LIMIT or at the first delivery not due yet, so a claim costs
// the same with a million deliveries retrying later as with none. (INDEXED BY: without
// statistics the planner may pick another index and sort every due row.)
constexpr std::string_view kClaim =
    "UPDATE deliveries SET state = 'running', attempts = attempts + 1, lease_until = ?4, "
    "updated_at = ?3 WHERE id IN ("
    "  SELECT d.id FROM deliveries d INDEXED BY deliveries_due"
    "  WHERE d.route = ?1 AND d.handler = ?2 AND d.state = 'pending' AND d.scheduled_at <= ?3"
    "    AND (?6 = 0 OR d.ordering_key IS NULL OR NOT EXISTS ("
    "      SELECT 1 FROM deliveries p WHERE p.route = d.route AND p.handler = d.handler"
    "        AND p.ordering_key = d.ordering_key AND p.id < d.id"
    "        AND p.state IN ('pending', 'running')))"
    "  ORDER BY d.scheduled_at, d.id LIMIT ?5) "
    "RETURNING id, attempts, crashes, event_seq, ordering_key";

// A claimed row the claim does not keep (its body would pass ClaimRequest::max_bytes): as
// it was, its attempt given back.
constexpr std::string_view kUnclaim =
    "UPDATE deliveries SET state = 'pending', lease_until = NULL, attempts = attempts - 1, "
    "updated_at = ?2 WHERE id = ?1 AND state = 'running'";

// The engine's word that an attempt's call has begun (fenced like a result).
constexpr std::string_view kStarted =
    "UPDATE deliveries SET started = ?2 WHERE id = ?1 AND attempts = ?2 AND state = 'running'";

// Claimed rows whose call never began go back to pending at once, their attempt given back:
// at the first open of a process that holds the store lock (no other process runs them),
// and the rows of a transaction that reported failure (?2: its lease) but was durable.
#define HOOKD_GIVE_BACK                                                                   \
  "UPDATE deliveries SET state = 'pending', attempts = attempts - 1, lease_until = NULL, " \
  "scheduled_at = ?1, updated_at = ?1, last_error = coalesce(last_error, "                \
  "'claimed, then given back unstarted: the claim was not handed to a worker') "          \
  "WHERE state = 'running' AND started < attempts"
constexpr std::string_view kGiveBackUnstarted = HOOKD_GIVE_BACK " RETURNING route, handler";
constexpr std::string_view kGiveBackLease =
    HOOKD_GIVE_BACK " AND lease_until = ?2 RETURNING route, handler";
#undef HOOKD_GIVE_BACK
// At that first open, rows whose call did begin (it was cut off with the previous process)
// have their lease end now: the next claim rescues them (an attempt counted).
constexpr std::string_view kEndStartedLeases =
    "UPDATE deliveries SET lease_until = ?1 WHERE state = 'running' AND lease_until > ?1";

// The attempt the claim counted is given back: the handler never ran.
constexpr std::string_view kBury =
    "UPDATE deliveries SET state = 'dead', lease_until = NULL, attempts = attempts - 1, "
    "updated_at = ?2, last_error = ?3 WHERE id = ?1 AND state = 'running'";

constexpr std::string_view kClaimedEvent =
    "SELECT id, type, received_at, headers, body FROM events WHERE seq = ?1";

// The next moment something of one pair becomes claimable that is not now: a retry falls
// due or a lease expires. (What is due now but was not claimed waits for a free slot or an
// earlier delivery of its key; the engine hears about those when its own calls return.)
constexpr std::string_view kNextDue =
    "SELECT min(t) FROM (SELECT min(scheduled_at) AS t FROM deliveries "
    "WHERE route = ?1 AND handler = ?2 AND state = 'pending' AND scheduled_at > ?3 "
    "UNION ALL SELECT min(lease_until) FROM deliveries "
    "WHERE route = ?1 AND handler = ?2 AND state = 'running' AND lease_until > ?3)";

// Fenced: only while the delivery is still running this attempt. A release (?7 = 1: claimed
// but never started, at shutdown, or no plugin host could take it) gives the attempt back,
// and keeps the last error unless it says why (the host's failure).
constexpr std::string_view kResult =
    "UPDATE deliveries SET state = ?3, lease_until = NULL, scheduled_at = ?4, "
    "last_error = CASE WHEN ?7 THEN coalesce(?5, last_error) ELSE ?5 END, updated_at = ?6, "
    "attempts = attempts - ?7, crashes = crashes + ?8 "
    "WHERE id = ?1 AND attempts = ?2 AND state = 'running'";

constexpr std::string_view kHistory =
    "INSERT OR REPLACE INTO attempts (delivery_id, attempt, started_at, finished_at, outcome, "
    "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kHistoryPrune =
    "DELETE FROM attempts WHERE delivery_id = ?1 AND attempt <= ?2";

// Retention's window: the next ?2 events after seq ?1, walked by rowid (the old end of the
// table, cheap at any size). received_at has no index: events are appended in commit
// order with the commit's clock, so it grows with seq (a clock stepped back only delays a
// prune to a later pass).
constexpr std::string_view kPruneWindow =
    "SELECT count(*), max(seq), max(received_at) FROM "
    "(SELECT seq, received_at FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2)";
// The events of the window ?1 < seq <= ?2 that a step deletes.
#define HOOKD_PRUNED                                                                   \
  "SELECT seq FROM events WHERE seq > ?1 AND seq <= ?2 AND ("                          \
  "(received_at < ?3 AND NOT EXISTS (SELECT 1 FROM deliveries d "                      \
  "  WHERE d.event_seq = events.seq AND d.state <> 'done')) "                          \
  "OR (received_at < ?4 AND EXISTS (SELECT 1 FROM deliveries d "                       \
  "  WHERE d.event_seq = events.seq AND d.state = 'dead') "                            \
  "  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq "       \
  "  AND d.state IN ('pending', 'running'))))"
// What goes with them, for the count tables (before the DELETE, in the same transaction).
constexpr std::string_view kPruneCounts =
    "SELECT route, handler, state, count(*) FROM deliveries WHERE event_seq IN (" HOOKD_PRUNED
    ") GROUP BY route, handler, state";
constexpr std::string_view kPruneEventCounts =
    "SELECT route, count(*), sum(unmatched) FROM events WHERE seq IN (" HOOKD_PRUNED
    ") GROUP BY route";
constexpr std::string_view kPrune = "DELETE FROM events WHERE seq IN (" HOOKD_PRUNED ")";
#undef HOOKD_PRUNED

DeliveryState stored_state(DeliveryResult::State state) {
  switch (state) {
    case DeliveryResult::State::done:
      return DeliveryState::done;
    case DeliveryResult::State::dead:
      return DeliveryState::dead;
    case DeliveryResult::State::pending:
      break;
  }
  return DeliveryState::pending;
}

}  // namespace

const char* outcome_name(DeliveryResult::Outcome outcome) {
  switch (outcome) {
    case DeliveryResult::Outcome::ok:
      return "ok";
    case DeliveryResult::Outcome::fail:
      return "fail";
    case DeliveryResult::Outcome::timeout:
      return "timeout";
    case DeliveryResult::Outcome::released:
      return "released";
    case DeliveryResult::Outcome::crashed:
      return "crashed";
    case DeliveryResult::Outcome::retry:
      break;
  }
  return "retry";
}

void Store::prepare_delivery_statements() {
  sqlite3* db = db_.get();
  rescue_history_ = prepare(db, kRescueHistory);
  rescue_ = prepare(db, kRescue);
  claim_ = prepare(db, kClaim);
  claimed_event_ = prepare(db, kClaimedEvent);
  bury_ = prepare(db, kBury);
  next_due_ = prepare(db, kNextDue);
  result_ = prepare(db, kResult);
  history_ = prepare(db, kHistory);
  history_prune_ = prepare(db, kHistoryPrune);
  prune_window_ = prepare(db, kPruneWindow);
  prune_counts_ = prepare(db, kPruneCounts);
  prune_event_counts_ = prepare(db, kPruneEventCounts);
  prune_ = prepare(db, kPrune);
  started_ = prepare(db, kStarted);
  unclaim_ = prepare(db, kUnclaim);
  give_back_unstarted_ = prepare(db, kGiveBackUnstarted);
  give_back_lease_ = prepare(db, kGiveBackLease);
  end_started_leases_ = prepare(db, kEndStartedLeases);
}

PruneResult Store::prune(const PruneRequest& request) {
  PruneResult out;
  sqlite3_stmt* w = prune_window_.get();
  sqlite3_bind_int64(w, 1, request.after_seq);
  sqlite3_bind_int64(w, 2, static_cast<std::int64_t>(request.limit));
  const int rc = sqlite3_step(w);
  if (rc != SQLITE_ROW) fail_statement(w, rc);
  const auto seen = static_cast<std::size_t>(sqlite3_column_int64(w, 0));
  out.last_seq = seen == 0 ? request.after_seq : sqlite3_column_int64(w, 1);
  const std::int64_t youngest = sqlite3_column_int64(w, 2);
  sqlite3_reset(w);
  out.finished = seen < request.limit ||
                 youngest >= std::max(request.done_before_us, request.dead_before_us);
  if (seen == 0) return out;
  for (sqlite3_stmt* s : {prune_counts_.get(), prune_event_counts_.get(), prune_.get()}) {
    sqlite3_bind_int64(s, 1, request.after_seq);
    sqlite3_bind_int64(s, 2, out.last_seq);
    sqlite3_bind_int64(s, 3, request.done_before_us);
    sqlite3_bind_int64(s, 4, request.dead_before_us);
  }
  sqlite3_stmt* c = prune_counts_.get();
  int step;
  while ((step = sqlite3_step(c)) == SQLITE_ROW) {
    counts_.deliveries(column_view(c, 0), column_view(c, 1),
                       delivery_state(column_view(c, 2)), -sqlite3_column_int64(c, 3));
  }
  if (step != SQLITE_DONE) fail_statement(c, step);
  sqlite3_reset(c);
  sqlite3_stmt* e = prune_event_counts_.get();
  while ((step = sqlite3_step(e)) == SQLITE_ROW) {
    counts_.events(column_view(e, 0), -sqlite3_column_int64(e, 1), -sqlite3_column_int64(e, 2));
  }
  if (step != SQLITE_DONE) fail_statement(e, step);
  sqlite3_reset(e);
  run(prune_.get());
  out.deleted = static_cast<std::size_t>(sqlite3_changes(db_.get()));
  return out;
}

void Store::apply_starts(std::span<const Start> starts) {
  if (starts.empty()) return;
  const std::string error = isolated([&] {
    sqlite3_stmt* s = started_.get();
    for (const Start& start : starts) {
      sqlite3_bind_int64(s, 1, start.id);
      sqlite3_bind_int64(s, 2, start.attempt);
      run(s);
    }
  });
  // Not fatal: such a row, cut off by a crash, would run again without counting.
  if (!error.empty()) spdlog::warn("outbox: recording started calls failed: {}", error);
}

std::size_t Store::give_back(sqlite3_stmt* s) {
  std::size_t n = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    counts_.moved(column_view(s, 0), column_view(s, 1), DeliveryState::running,
                  DeliveryState::pending);
    ++n;
  }
  if (rc != SQLITE_DONE) fail_statement(s, rc);
  sqlite3_reset(s);
  return n;
}

std::size_t Store::give_back_leases(std::span<const std::int64_t> leases, std::int64_t now) {
  std::size_t n = 0;
  if (leases.empty()) return n;
  const std::string error = isolated([&] {
    sqlite3_stmt* s = give_back_lease_.get();
    for (const std::int64_t lease : leases) {
      sqlite3_bind_int64(s, 1, now);
      sqlite3_bind_int64(s, 2, lease);
      n += give_back(s);
    }
  });
  if (!error.empty()) {
    spdlog::error("outbox: giving back the claims of a failed transaction failed ({}): they run "
                  "after their lease",
                  error);
    return 0;
  }
  return n;
}

Store::Recovered Store::recover() {
  Recovered out;
  run(begin_.get());
  try {
    const std::int64_t now = unix_now_us();
    sqlite3_stmt* s = give_back_unstarted_.get();
    sqlite3_bind_int64(s, 1, now);
    out.given_back = give_back(s);
    sqlite3_stmt* e = end_started_leases_.get();
    sqlite3_bind_int64(e, 1, now);
    run(e);
    out.interrupted = static_cast<std::size_t>(sqlite3_changes(db_.get()));
    count_tables_->write(counts_);
    run(commit_.get());
  } catch (...) {
    counts_.clear();
    rollback();
    throw;
  }
  return out;
}

void Store::apply_results(std::span<const DeliveryResult> results, std::int64_t now) {
  if (results.empty()) return;
  if (isolated([&] {
        for (const DeliveryResult& r : results) apply_result(r, now);
      }).empty()) {
    return;
  }
  // One of them fails: write the others one by one and drop that one.
  for (const DeliveryResult& r : results) {
    std::string error = isolated([&] { apply_result(r, now); });
    if (!error.empty()) {
      spdlog::error(
          "outbox: the result of delivery {} attempt {} cannot be written ({}): it stays running "
          "and runs again after its lease",
          r.id, r.attempt, error);
    }
  }
}

void Store::apply_result(const DeliveryResult& r, std::int64_t now) {
  const bool release = r.outcome == DeliveryResult::Outcome::released;
  sqlite3_stmt* s = result_.get();
  sqlite3_bind_int64(s, 1, r.id);
  sqlite3_bind_int64(s, 2, r.attempt);
  sqlite3_bind_text(s, 3, state_name(stored_state(r.state)), -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, r.state == DeliveryResult::State::pending ? r.scheduled_at_us : now);
  if (r.error.empty() || r.state == DeliveryResult::State::done) {
    sqlite3_bind_null(s, 5);  // a done delivery has no last error (an ok message: history)
  } else {
    bind_text(s, 5, r.error);
  }
  sqlite3_bind_int64(s, 6, now);
  sqlite3_bind_int(s, 7, release ? 1 : 0);
  sqlite3_bind_int(s, 8, r.count_crash ? 1 : 0);
  // The pair comes with the result, not from a RETURNING clause: that costs an ephemeral
  // table per statement (about 4 µs of the writer's time per result).
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) fail_statement(s, rc);
  sqlite3_reset(s);
  if (sqlite3_changes(db_.get()) == 0) return;  // fenced out
  counts_.moved(r.route, r.handler, DeliveryState::running, stored_state(r.state));
  if (release) return;  // no attempt was made
  sqlite3_stmt* h = history_.get();
  sqlite3_bind_int64(h, 1, r.id);
  sqlite3_bind_int64(h, 2, r.attempt);
  sqlite3_bind_int64(h, 3, r.started_at_us);
  sqlite3_bind_int64(h, 4, r.finished_at_us);
  sqlite3_bind_text(h, 5, outcome_name(r.outcome), -1, SQLITE_STATIC);
  if (r.error.empty()) {
    sqlite3_bind_null(h, 6);
  } else {
    bind_text(h, 6, r.error);
  }
  run(h);
  if (r.attempt > static_cast<std::uint32_t>(kAttemptHistory)) {
    sqlite3_stmt* p = history_prune_.get();
    sqlite3_bind_int64(p, 1, r.id);
    sqlite3_bind_int64(p, 2, static_cast<std::int64_t>(r.attempt) - kAttemptHistory);
    run(p);
  }
}

void Store::bury(const ClaimedDelivery& delivery, std::int64_t now, const std::string& why) {
  sqlite3_stmt* s = bury_.get();
  sqlite3_bind_int64(s, 1, delivery.id);
  sqlite3_bind_int64(s, 2, now);
  bind_text(s, 3, why);
  run(s);
  if (sqlite3_changes(db_.get()) != 0) {
    counts_.moved(delivery.route, delivery.handler, DeliveryState::running, DeliveryState::dead);
  }
}

ClaimResult Store::claim(const ClaimRequest& request, std::int64_t now) {
  ClaimResult out;
  out.claimed_at_us = now;
  std::size_t left = request.total_limit;
  for (const ClaimSpec& spec : request.specs) {
    sqlite3_stmt* history = rescue_history_.get();
    bind_text(history, 1, spec.route);
    bind_text(history, 2, spec.handler);
    sqlite3_bind_int64(history, 3, now);
    run(history);
    sqlite3_stmt* rescue = rescue_.get();
    bind_text(rescue, 1, spec.route);
    bind_text(rescue, 2, spec.handler);
    sqlite3_bind_int64(rescue, 3, now);
    sqlite3_bind_int64(rescue, 4, spec.max_attempts);
    int rescued;
    while ((rescued = sqlite3_step(rescue)) == SQLITE_ROW) {
      counts_.moved(spec.route, spec.handler, DeliveryState::running,
                    delivery_state(column_view(rescue, 0)));
    }
    if (rescued != SQLITE_DONE) fail_statement(rescue, rescued);
    sqlite3_reset(rescue);
    const std::size_t n = std::min(spec.limit, left);
    if (n == 0) continue;
    sqlite3_stmt* s = claim_.get();
    bind_text(s, 1, spec.route);
    bind_text(s, 2, spec.handler);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, now + request.lease_us);
    sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(n));
    sqlite3_bind_int(s, 6, spec.ordered ? 1 : 0);
    const std::size_t first = out.deliveries.size();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      ClaimedDelivery d;
      d.id = sqlite3_column_int64(s, 0);
      d.attempt = static_cast<std::uint32_t>(sqlite3_column_int64(s, 1));
      d.crashes = static_cast<std::uint32_t>(sqlite3_column_int64(s, 2));
      d.event_seq = sqlite3_column_int64(s, 3);
      if (sqlite3_column_type(s, 4) != SQLITE_NULL) d.ordering_key = column_text(s, 4);
      d.route = spec.route;
      d.handler = spec.handler;
      out.deliveries.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) fail_statement(s, rc);
    sqlite3_reset(s);
    const std::size_t claimed = out.deliveries.size() - first;
    counts_.moved(spec.route, spec.handler, DeliveryState::pending, DeliveryState::running,
                  static_cast<std::int64_t>(claimed));
    left -= claimed;
  }
  std::sort(out.deliveries.begin(), out.deliveries.end(),
            [](const ClaimedDelivery& a, const ClaimedDelivery& b) { return a.id < b.id; });
  sqlite3_stmt* e = claimed_event_.get();
  std::vector<std::pair<std::int64_t, std::string>> unreadable;
  const ClaimedDelivery* previous = nullptr;  // read, of the same event when its seq matches
  for (ClaimedDelivery& d : out.deliveries) {
    // The deliveries of one event have neighbouring ids: the event is read once for all of
    // its handlers that were claimed.
    if (previous != nullptr && previous->event_seq == d.event_seq) {
      d.event_id = previous->event_id;
      d.type = previous->type;
      d.received_at_us = previous->received_at_us;
      d.headers = previous->headers;
      d.body = previous->body;
      previous = &d;
      continue;
    }
    previous = nullptr;
    sqlite3_bind_int64(e, 1, d.event_seq);
    const int rc = sqlite3_step(e);
    if (rc != SQLITE_ROW) fail_statement(e, rc);  // a foreign key guarantees the event
    try {
      d.headers = headers_from_json(column_text(e, 3));
    } catch (const std::exception& error) {
      unreadable.emplace_back(d.id, error.what());
      sqlite3_reset(e);
      continue;
    }
    d.event_id = column_text(e, 0);
    d.type = column_text(e, 1);
    d.received_at_us = sqlite3_column_int64(e, 2);
    const auto* body = static_cast<const char*>(sqlite3_column_blob(e, 4));
    d.body.assign(body == nullptr ? "" : body,
                  static_cast<std::size_t>(sqlite3_column_bytes(e, 4)));
    sqlite3_reset(e);
    previous = &d;
  }
  for (const auto& [id, why] : unreadable) {
    const std::string error = "the stored event cannot be read (" + why +
                              "); dead without running: repair the row, then hookd replay";
    spdlog::error("outbox: delivery {}: {}", id, error);
    const auto buried = std::find_if(out.deliveries.begin(), out.deliveries.end(),
                                     [id = id](const ClaimedDelivery& d) { return d.id == id; });
    bury(*buried, now, error);
    out.deliveries.erase(buried);
  }
  if (request.max_bytes > 0) {
    std::size_t keep = 0;
    std::size_t bytes = 0;
    for (; keep < out.deliveries.size(); ++keep) {
      const std::size_t size = out.deliveries[keep].body.size();
      if (bytes + size > request.max_bytes && !(keep == 0 && request.first_regardless)) break;
      bytes += size;
    }
    sqlite3_stmt* u = unclaim_.get();
    for (std::size_t i = keep; i < out.deliveries.size(); ++i) {
      const ClaimedDelivery& d = out.deliveries[i];
      sqlite3_bind_int64(u, 1, d.id);
      sqlite3_bind_int64(u, 2, now);
      run(u);
      counts_.moved(d.route, d.handler, DeliveryState::running, DeliveryState::pending);
    }
    if (keep < out.deliveries.size()) {
      out.deliveries.resize(keep);
      out.truncated = true;
    }
  }
  sqlite3_stmt* due = next_due_.get();
  for (const ClaimSpec& spec : request.specs) {
    bind_text(due, 1, spec.route);
    bind_text(due, 2, spec.handler);
    sqlite3_bind_int64(due, 3, now);
    if (sqlite3_step(due) == SQLITE_ROW && sqlite3_column_type(due, 0) != SQLITE_NULL) {
      const std::int64_t t = sqlite3_column_int64(due, 0);
      out.next_due_us = out.next_due_us ? std::min(*out.next_due_us, t) : t;
    }
    sqlite3_reset(due);
  }
  out.ok = true;
  return out;
}

}  // namespace hookd::outbox
