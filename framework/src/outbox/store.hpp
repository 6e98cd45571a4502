// The writer's side of the database: the one writing connection, its prepared statements,
// and the transaction that commits a batch of appends, results and claims. Used only by the
// writer thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hookd/outbox/deliveries.hpp"
#include "hookd/outbox/event.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "hookd/outbox/writer.hpp"
#include "counts.hpp"

namespace hookd::outbox {

class Checkpointer;

class Store {
 public:
  // Creates the parent directory and the file when missing, configures the connection
  // (WAL, synchronous, foreign keys, busy timeout, no automatic checkpoint), migrates,
  // prepares the statements and starts the checkpointer. Throws StoreError / SchemaError
  // / std::filesystem::filesystem_error.
  explicit Store(const WriterOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // What one transaction does, in this order: appends, results of attempts, claims, prunes.
  struct Work {
    std::span<const NewEvent* const> events;
    std::span<const DeliveryResult> results;
    std::span<const ClaimRequest* const> claims;
    std::span<const PruneRequest* const> prunes;
    // Claims at append: new deliveries of these pairs, up to each count, are written
    // running with a lease of append_lease_us.
    std::span<const AppendGrant> grants;
    std::int64_t append_lease_us = 0;
    // Calls that have begun (Writer::started), and the leases of earlier transactions that
    // reported failure while holding claims: their rows, if they exist, are given back.
    std::span<const Start> starts;
    std::span<const std::int64_t> failed_leases;
  };
  // A delivery written running by its append: events[event], pair grants[grant].
  struct AppendClaim {
    std::size_t event = 0;
    std::size_t grant = 0;
    std::int64_t id = 0;
    std::int64_t event_seq = 0;
  };
  struct Done {
    std::vector<AppendStatus> statuses;  // per event: accepted or duplicate
    std::vector<ClaimResult> claims;     // per claim request (ok false: that claim failed)
    // Per prune request: events deleted, or nullopt when that step failed (prune_error).
    std::vector<std::optional<PruneResult>> pruned;
    std::string prune_error;
    bool new_deliveries = false;  // an accepted event created pending deliveries
    std::vector<AppendClaim> append_claims;
    // The transaction's time: the leases start here (0: it failed before BEGIN was done).
    std::int64_t now_us = 0;
    std::size_t given_back = 0;  // rows of failed_leases given back
  };
  // Runs `work` in one transaction and commits it. Results, each claim and each prune run
  // in savepoints of their own: one that fails is rolled back alone and reported in `done`
  // (a result that cannot be written is dropped and logged: its lease brings the delivery
  // back), so the appends never fail because of them. When the appends or the COMMIT
  // fail, rolls back and throws StoreError: nothing of the batch is stored.
  void commit(const Work& work, Done& done);

  // The first open of a process that holds the store lock: in one transaction, the running
  // rows of the previous process whose call never began go back to pending (attempt given
  // back), and those whose call did begin have their lease end now (the next claim rescues
  // them, an attempt counted). Throws StoreError.
  struct Recovered {
    std::size_t given_back = 0;
    std::size_t interrupted = 0;
  };
  Recovered recover();

  // Whether the connection should be thrown away and reopened after a failure with this
  // code (I/O errors, a file replaced or removed underneath us, corruption), rather than
  // simply retried with the next batch (a full disk, a busy lock).
  static bool needs_reopen(int code);
  // True when a failed batch could not even be rolled back: the connection is unusable.
  bool broken() const { return broken_; }

 private:
  // `left`: what is left of each of work.grants; decremented per delivery written running.
  void insert_one(const Work& work, std::size_t index, std::int64_t now_us,
                  std::vector<std::size_t>& left, Done& done);
  void apply_results(std::span<const DeliveryResult> results, std::int64_t now);
  void apply_starts(std::span<const Start> starts);
  // Runs a give-back statement (bound), counting the moved rows; returns how many.
  std::size_t give_back(sqlite3_stmt* s);
  std::size_t give_back_leases(std::span<const std::int64_t> leases, std::int64_t now);
  void apply_result(const DeliveryResult& result, std::int64_t now);
  ClaimResult claim(const ClaimRequest& request, std::int64_t now);
  // A claimed delivery whose event row cannot be read (a hand-edited `headers`): dead at
  // once with the reason, its attempt given back, instead of failing every later claim.
  void bury(const ClaimedDelivery& delivery, std::int64_t now, const std::string& why);
  PruneResult prune(const PruneRequest& request);
  // Runs `part` in a savepoint. On an exception rolls back to it and returns the error
  // (empty: success); rethrows when the failure took the whole transaction with it.
  std::string isolated(const std::function<void()>& part);
  void prepare_delivery_statements();
  void run(sqlite3_stmt* stmt);  // steps to SQLITE_DONE and resets; throws StoreError
  [[noreturn]] void fail_statement(sqlite3_stmt* stmt, int rc);  // resets, throws StoreError
  void rollback() noexcept;
  void catch_up() noexcept;
  // sqlite3_wal_hook: runs on the writer thread after each commit; `self` is the Store.
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages);

  Connection db_;
  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement savepoint_;
  Statement release_;
  Statement rollback_to_;
  Statement insert_event_;
  Statement insert_delivery_;
  // deliveries.cpp
  Statement rescue_history_;
  Statement rescue_;
  Statement claim_;
  Statement claimed_event_;
  Statement bury_;
  Statement next_due_;
  Statement result_;
  Statement history_;
  Statement history_prune_;
  Statement prune_window_;
  Statement prune_counts_;        // what a prune step deletes, per pair and state ...
  Statement prune_event_counts_;  // ... and per route
  Statement prune_;
  Statement started_;
  Statement unclaim_;
  Statement give_back_unstarted_;
  Statement give_back_lease_;
  Statement end_started_leases_;
  // The count tables' changes of the transaction in progress, written before its COMMIT.
  CountDeltas counts_;
  std::unique_ptr<CountTables> count_tables_;
  std::unique_ptr<Checkpointer> checkpointer_;
  bool broken_ = false;
  int wal_pages_ = 0;    // WAL size after the last commit
  int catch_up_at_ = 0;  // run catch_up() before the next batch once wal_pages_ reaches this
};

}  // namespace hookd::outbox
