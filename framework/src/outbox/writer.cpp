// The outbox writer thread: queue of appends, batch closing (size or max_wait), one
// transaction per batch, callbacks after COMMIT, reopening a store that cannot be opened.
#include "hookd/outbox/writer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/log/failure_log.hpp"
#include "hookd/outbox/schema.hpp"
#include "hookd/outbox/sqlite.hpp"
#include "store.hpp"

namespace hookd::outbox {
namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  NewEvent event;
  AppendCallback done;
  Clock::time_point enqueued;
};

struct PendingClaim {
  ClaimRequest request;
  ClaimCallback done;
};

struct PendingPrune {
  PruneRequest request;
  PruneCallback done;
};

// What one transaction takes from the queues.
struct Batch {
  std::vector<Pending> appends;
  std::vector<DeliveryResult> results;
  std::vector<Start> starts;
  std::vector<PendingClaim> claims;
  std::vector<PendingPrune> prunes;
  std::vector<std::function<void()>> probes;  // answered before the transaction
  bool empty() const {
    return appends.empty() && results.empty() && starts.empty() && claims.empty() &&
           prunes.empty();
  }
};

// Series looked up once; updating them is lock-free.
struct WriterMetrics {
  explicit WriterMetrics(metrics::Registry& r)
      : batch_size(r.histogram("hookd_commit_batch_size", "Appends per outbox commit",
                               metrics::exponential_buckets(1, 2, 11))),
        duration(r.histogram("hookd_commit_duration_seconds",
                             "Time of one outbox transaction (BEGIN to COMMIT)",
                             metrics::exponential_buckets(50e-6, 2, 16))),
        failures(r.counter("hookd_commit_failures_total",
                           "Outbox transactions that failed and were rolled back")),
        accepted(r.counter("hookd_events_appended_total", "Appends to the outbox by outcome",
                           {{"status", "accepted"}})),
        duplicate(r.counter("hookd_events_appended_total", "Appends to the outbox by outcome",
                            {{"status", "duplicate"}})),
        unavailable(r.counter("hookd_events_appended_total", "Appends to the outbox by outcome",
                              {{"status", "unavailable"}})),
        claimed_at_append(r.counter("hookd_deliveries_claimed_total",
                                    "Deliveries claimed, by their append's transaction or by a "
                                    "claim (a backlog, retries, rescued leases)",
                                    {{"at", "append"}})),
        claimed_by_claim(r.counter("hookd_deliveries_claimed_total",
                                   "Deliveries claimed, by their append's transaction or by a "
                                   "claim (a backlog, retries, rescued leases)",
                                   {{"at", "claim"}})) {}

  void count(AppendStatus status) {
    switch (status) {
      case AppendStatus::accepted:
        accepted.inc();
        break;
      case AppendStatus::duplicate:
        duplicate.inc();
        break;
      case AppendStatus::unavailable:
        unavailable.inc();
        break;
    }
  }

  metrics::Histogram& batch_size;
  metrics::Histogram& duration;
  metrics::Counter& failures;
  metrics::Counter& accepted;
  metrics::Counter& duplicate;
  metrics::Counter& unavailable;
  metrics::Counter& claimed_at_append;
  metrics::Counter& claimed_by_claim;
};

// A callback must not take the writer down; it is the caller's code.
template <class Callback, class... Result>
void invoke(Callback& done, Result... result) {
  try {
    done(std::move(result)...);
  } catch (const std::exception& e) {
    spdlog::error("outbox: a writer callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("outbox: a writer callback threw a non-exception");
  }
}

// After a batch of appends failed, /readyz says so for this long unless a later batch
// commits: long enough for a health check to see it, short enough that a server whose
// traffic a load balancer withdrew is tried again.
constexpr std::chrono::seconds kFailingHold{10};

}  // namespace

struct Writer::Impl {
  Impl(WriterOptions opts, metrics::Registry* registry)
      : options(std::move(opts)),
        max_events(std::max<std::size_t>(options.max_events, 1)),
        commit_log("outbox commit"),
        open_log("opening the outbox store at " + options.path),
        prune_log("outbox retention step") {
    if (registry != nullptr) metrics.emplace(*registry);
  }

  void run();
  void try_open();
  bool has_work() const {
    return !queue.empty() || !results.empty() || !starts.empty() || !claims.empty() ||
           !prunes.empty() || !probes.empty() || (store && !open_waiters.empty());
  }
  // At the first open with recover_running: Store::recover().
  void recover();
  Batch next_batch(bool& finished);
  void commit(Batch& batch);
  void fail(Batch& batch, const std::string& error);
  void finish(std::vector<Pending>& appends, const std::vector<AppendResult>& results);
  // Fills `grants` with the new deliveries of `appends` per pair and asks the claimer for
  // what it takes; returns the lease. Clears `claimer` when it is not to be answered.
  std::int64_t reserve(AppendClaimer& claimer, const std::vector<Pending>& appends,
                       std::vector<AppendGrant>& grants);
  void handed_over(AppendClaimer& claimer, std::vector<Pending>& appends,
                   const std::vector<AppendGrant>& grants, Store::Done& done);
  void set_open(bool open, const std::string& error);
  void appends_done(const std::string& error);  // empty: committed
  std::string unavailable_reason() const;

  const WriterOptions options;
  const std::size_t max_events;
  std::optional<WriterMetrics> metrics;

  // Shared with appenders, under `mutex`.
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<Pending> queue;
  std::vector<DeliveryResult> results;
  std::vector<Start> starts;
  Clock::time_point results_since;  // when the first of `results` and `starts` came
  std::vector<PendingClaim> claims;
  std::vector<PendingPrune> prunes;
  std::vector<std::function<void()>> probes;
  std::vector<std::function<void()>> open_waiters;  // run once `store` is open
  std::function<void()> on_new_deliveries;
  AppendClaimer claimer;
  bool stopping = false;
  bool pruned_last = false;  // the last transaction was a retention step

  // Why appends fail (/readyz), under `reason_mutex`: set by the writer thread.
  mutable std::mutex reason_mutex;
  std::string open_reason = "the store is not open yet";
  std::string failing_reason;  // the last batch of appends failed with this
  Clock::time_point failed_at{};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> claims_answered{0};
  std::atomic<std::uint64_t> claimed_at_append{0};

  // Writer thread only.
  std::unique_ptr<Store> store;
  bool recovered = false;  // recover() ran (once per process, never after a reopen)
  // Leases of transactions that failed holding claims (at append or by a claim): if such a
  // transaction was durable after all, its rows are running with no one to run them. The
  // next transaction gives them back (pending, no attempt used).
  std::vector<std::int64_t> failed_leases;
  std::string open_error = "the store is not open yet";
  Clock::time_point next_open{};
  log::FailureLog commit_log;
  log::FailureLog open_log;
  log::FailureLog prune_log;

  std::once_flag stop_once;
  std::thread thread;
};

void Writer::Impl::run() {
  for (;;) {
    if (!store && Clock::now() >= next_open) try_open();
    if (store) {
      std::vector<std::function<void()>> waiters;
      {
        std::lock_guard lock(mutex);
        waiters.swap(open_waiters);
      }
      for (auto& callback : waiters) invoke(callback);
    }
    bool finished = false;
    Batch batch = next_batch(finished);
    if (finished) return;
    for (auto& answer : batch.probes) invoke(answer);
    if (batch.empty()) continue;  // time to retry opening the store, or only probes
    if (!store && Clock::now() >= next_open) try_open();
    if (store) {
      commit(batch);
    } else {
      fail(batch, "storage unavailable: " + open_error);
    }
  }
}

void Writer::Impl::try_open() {
  try {
    store = std::make_unique<Store>(options);
    recover();
    set_open(true, {});
    std::uint64_t failures = open_log.succeeded();
    spdlog::info("outbox: store open at {} (schema version {}, durability {}){}", options.path,
                 latest_schema_version(), options.fsync_each_commit ? "full" : "normal",
                 failures > 0 ? fmt::format(" after {} failed attempts", failures) : "");
    return;
  } catch (const std::exception& e) {
    open_error = e.what();
  }
  store.reset();
  set_open(false, open_error);
  next_open = Clock::now() + options.reopen_interval;
  open_log.failed(open_error);
}

void Writer::Impl::recover() {
  if (recovered) return;
  recovered = true;
  if (!options.recover_running) return;
  const Store::Recovered r = store->recover();
  if (r.given_back > 0 || r.interrupted > 0) {
    spdlog::info(
        "outbox: recovered the deliveries the previous process left running: {} never started "
        "(pending again, no attempt used), {} cut off in their call (run again, the attempt "
        "counted)",
        r.given_back, r.interrupted);
  }
}

void Writer::Impl::set_open(bool open, const std::string& error) {
  std::lock_guard lock(reason_mutex);
  open_reason = open ? std::string() : "the store is not open: " + error;
}

void Writer::Impl::appends_done(const std::string& error) {
  std::lock_guard lock(reason_mutex);
  failing_reason = error;
  failed_at = Clock::now();
}

std::string Writer::Impl::unavailable_reason() const {
  std::lock_guard lock(reason_mutex);
  if (!open_reason.empty()) return open_reason;
  if (!failing_reason.empty() && Clock::now() - failed_at < kFailingHold) {
    return "appends are failing: " + failing_reason;
  }
  return {};
}

// Waits for work and closes a batch: at max_events appends, when its oldest append has
// waited max_wait, at once when stopping or when the store is closed (those appends fail
// now instead of waiting). Results and claims ride along with the appends; alone, a claim
// closes a batch at once, results after max_wait. Retention steps go alone (with results
// and claims). Returns an empty batch when it is time to retry opening the
// store; sets `finished` once stopping and drained.
Batch Writer::Impl::next_batch(bool& finished) {
  std::unique_lock lock(mutex);
  while (!has_work()) {
    if (stopping) {
      finished = true;
      return {};
    }
    if (store) {
      cv.wait(lock);
    } else if (cv.wait_until(lock, next_open) == std::cv_status::timeout && !has_work()) {
      return {};
    }
  }
  // Results alone wait up to max_wait for company (more results, a claim, appends): the
  // engine does not wait for them, and a transaction per result cost a commit each.
  while (store && !stopping && queue.empty() && claims.empty() && prunes.empty() &&
         (!results.empty() || !starts.empty())) {
    const auto deadline = results_since + options.max_wait;
    if (Clock::now() >= deadline) break;
    cv.wait_until(lock, deadline);
  }
  Batch batch;
  batch.results.swap(results);
  batch.starts.swap(starts);
  batch.claims.swap(claims);
  batch.probes.swap(probes);
  // A retention step is a transaction without appends, so that appends never wait for
  // its deletes nor fail with it; after one, the queued appends go first, so that the
  // steps of a pass (each sent as soon as the previous one is answered) alternate with
  // the appends instead of holding them back.
  if (!prunes.empty() && (queue.empty() || !pruned_last)) {
    batch.prunes.swap(prunes);
    pruned_last = true;
    return batch;
  }
  pruned_last = false;
  while (store && !stopping && !queue.empty() && queue.size() < max_events) {
    const auto deadline = queue.front().enqueued + options.max_wait;
    if (Clock::now() >= deadline) break;
    cv.wait_until(lock, deadline);
  }
  const std::size_t n = std::min(queue.size(), max_events);
  batch.appends.reserve(n);
  std::move(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n),
            std::back_inserter(batch.appends));
  queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
  // What arrived while the batch filled rides along.
  std::move(results.begin(), results.end(), std::back_inserter(batch.results));
  results.clear();
  batch.starts.insert(batch.starts.end(), starts.begin(), starts.end());
  starts.clear();
  std::move(claims.begin(), claims.end(), std::back_inserter(batch.claims));
  claims.clear();
  std::move(probes.begin(), probes.end(), std::back_inserter(batch.probes));
  probes.clear();
  return batch;
}

void Writer::Impl::commit(Batch& batch) {
  std::vector<const NewEvent*> refs;
  refs.reserve(batch.appends.size());
  for (const Pending& p : batch.appends) refs.push_back(&p.event);
  std::vector<const ClaimRequest*> claim_refs;
  for (const PendingClaim& c : batch.claims) claim_refs.push_back(&c.request);
  std::vector<const PruneRequest*> prune_refs;
  for (const PendingPrune& p : batch.prunes) prune_refs.push_back(&p.request);

  // Claims at append: what the engine takes of the batch's new deliveries.
  AppendClaimer claimer;
  std::vector<AppendGrant> grants;
  std::int64_t lease_us = 0;
  if (!batch.appends.empty()) {
    {
      std::lock_guard lock(mutex);
      claimer = this->claimer;
    }
    if (claimer.reserve) lease_us = reserve(claimer, batch.appends, grants);
  }

  // A start whose result rides in this transaction is not written: the result ends the run.
  if (!batch.starts.empty() && !batch.results.empty()) {
    std::vector<std::int64_t> ended;
    ended.reserve(batch.results.size());
    for (const DeliveryResult& r : batch.results) ended.push_back(r.id);
    std::sort(ended.begin(), ended.end());
    std::erase_if(batch.starts, [&](const Start& s) {
      return std::binary_search(ended.begin(), ended.end(), s.id);
    });
  }

  Store::Done done;
  const auto started = Clock::now();
  std::string error;
  try {
    store->commit({refs, batch.results, claim_refs, prune_refs, grants, lease_us, batch.starts,
                   failed_leases},
                  done);
    if (options.fail_after_commit && options.fail_after_commit()) {
      error = "simulated failure reported after a durable COMMIT (test)";
    }
  } catch (const StoreError& e) {
    error = e.what();
    if (Store::needs_reopen(e.code()) || store->broken()) {
      // Throw the connection away; appends answer unavailable until it is reopened.
      store.reset();
      set_open(false, error);
      open_error = error;
      next_open = Clock::now() + options.reopen_interval;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  const std::chrono::duration<double> took = Clock::now() - started;
  if (metrics) {
    metrics->batch_size.observe(static_cast<double>(batch.appends.size()));
    metrics->duration.observe(took.count());
  }

  if (!error.empty()) {
    if (metrics) metrics->failures.inc();
    commit_log.failed(error);
    // Its claims, if it was durable after all, are given back by the next transaction.
    if (done.now_us != 0) {
      if (!grants.empty()) failed_leases.push_back(done.now_us + lease_us);
      for (const PendingClaim& c : batch.claims) {
        failed_leases.push_back(done.now_us + c.request.lease_us);
      }
      std::sort(failed_leases.begin(), failed_leases.end());
      failed_leases.erase(std::unique(failed_leases.begin(), failed_leases.end()),
                          failed_leases.end());
    }
    if (!batch.appends.empty()) appends_done(error);
    fail(batch, "commit failed: " + error);
    if (claimer.claimed) {
      ClaimResult none;
      none.error = "commit failed: " + error;
      invoke(claimer.claimed, std::move(none));
    }
    return;
  }
  if (std::uint64_t failures = commit_log.succeeded(); failures > 0) {
    spdlog::info("outbox: store writable again after {} failed commits", failures);
  }
  if (!failed_leases.empty()) {
    if (done.given_back > 0) {
      spdlog::info("outbox: {} deliveries claimed by a transaction that reported failure were "
                   "stored after all: given back (pending, no attempt used)",
                   done.given_back);
    }
    failed_leases.clear();
  }
  if (!batch.appends.empty()) appends_done({});
  if (!done.prune_error.empty()) {
    prune_log.failed(done.prune_error);
  } else if (!batch.prunes.empty()) {
    prune_log.succeeded();
  }
  std::vector<AppendResult> appended(batch.appends.size());
  for (std::size_t i = 0; i < batch.appends.size(); ++i) appended[i].status = done.statuses[i];
  finish(batch.appends, appended);
  if (claimer.claimed) handed_over(claimer, batch.appends, grants, done);
  // Counted before the answers: whoever sees an answer (a test, a /metrics scrape after the
  // engine ran it) also sees it counted.
  claims_answered.fetch_add(batch.claims.size());
  for (std::size_t i = 0; i < batch.claims.size(); ++i) {
    if (metrics) metrics->claimed_by_claim.inc(done.claims[i].deliveries.size());
    invoke(batch.claims[i].done, std::move(done.claims[i]));
  }
  for (std::size_t i = 0; i < batch.prunes.size(); ++i) {
    invoke(batch.prunes[i].done, done.pruned[i]);
  }
  if (done.new_deliveries) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex);
      wake = on_new_deliveries;
    }
    if (wake) wake();
  }
}

std::int64_t Writer::Impl::reserve(AppendClaimer& claimer, const std::vector<Pending>& appends,
                                   std::vector<AppendGrant>& grants) {
  for (const Pending& p : appends) {
    for (const NewDelivery& d : p.event.deliveries) {
      auto it = std::find_if(grants.begin(), grants.end(), [&](const AppendGrant& g) {
        return g.handler == d.handler && g.route == p.event.route;
      });
      const std::size_t size = p.event.body.size();
      if (it == grants.end()) {
        grants.push_back({p.event.route, d.handler, 1, size});
      } else {
        ++it->count;
        it->max_bytes = std::max(it->max_bytes, size);
      }
    }
  }
  if (grants.empty()) {
    claimer = {};  // nothing to claim, nothing to answer
    return 0;
  }
  try {
    return claimer.reserve(grants);
  } catch (const std::exception& e) {
    spdlog::error("outbox: reserving claims at append failed: {}", e.what());
  }
  // Nothing is claimed at append in this batch. The claimer may have reserved part of it
  // before it threw: it gets its answer, so that it can let that go.
  ClaimResult none;
  none.error = "reserving claims at append failed";
  invoke(claimer.claimed, std::move(none));
  claimer = {};
  grants.clear();
  return 0;
}

// After the COMMIT, and after the appends were answered: the events are not needed any
// more, so the last delivery of each takes its headers and body instead of a copy.
void Writer::Impl::handed_over(AppendClaimer& claimer, std::vector<Pending>& appends,
                               const std::vector<AppendGrant>& grants, Store::Done& done) {
  ClaimResult result;
  result.ok = true;
  result.claimed_at_us = done.now_us;
  result.deliveries.reserve(done.append_claims.size());
  for (std::size_t i = 0; i < done.append_claims.size(); ++i) {
    const Store::AppendClaim& c = done.append_claims[i];
    NewEvent& event = appends[c.event].event;
    const bool last =
        i + 1 == done.append_claims.size() || done.append_claims[i + 1].event != c.event;
    ClaimedDelivery d;
    d.id = c.id;
    d.route = grants[c.grant].route;
    d.handler = grants[c.grant].handler;
    d.attempt = 1;
    d.event_seq = c.event_seq;
    for (const NewDelivery& nd : event.deliveries) {
      if (nd.handler == d.handler) d.ordering_key = nd.ordering_key;
    }
    d.event_id = event.id;
    d.type = event.type;
    d.received_at_us = event.received_at_us;
    if (last) {
      d.headers = std::move(event.headers);
      d.body = std::move(event.body);
    } else {
      d.headers = event.headers;
      d.body = event.body;
    }
    result.deliveries.push_back(std::move(d));
  }
  claimed_at_append.fetch_add(result.deliveries.size());
  if (metrics) metrics->claimed_at_append.inc(result.deliveries.size());
  invoke(claimer.claimed, std::move(result));
}

// Appends answer unavailable and claims fail. Results are dropped: their deliveries stay
// running until the lease expires and then run again (at least once).
void Writer::Impl::fail(Batch& batch, const std::string& error) {
  std::vector<AppendResult> appended(batch.appends.size(),
                                     AppendResult{AppendStatus::unavailable, error});
  finish(batch.appends, appended);
  claims_answered.fetch_add(batch.claims.size());
  for (PendingClaim& c : batch.claims) {
    ClaimResult failed;
    failed.error = error;
    invoke(c.done, std::move(failed));
  }
  for (PendingPrune& p : batch.prunes) invoke(p.done, std::optional<PruneResult>());
}

void Writer::Impl::finish(std::vector<Pending>& appends, const std::vector<AppendResult>& results) {
  batches.fetch_add(1);
  events.fetch_add(appends.size());
  for (std::size_t i = 0; i < appends.size(); ++i) {
    if (metrics) metrics->count(results[i].status);
    invoke(appends[i].done, results[i]);
  }
}

Writer::Writer(WriterOptions options, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {
  impl_->thread = std::thread([impl = impl_.get()] {
    log::set_thread_name("writer");
    impl->run();
  });
}

Writer::~Writer() {
  stop();
}

void Writer::append(NewEvent event, AppendCallback done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->queue.push_back({std::move(event), std::move(done), Clock::now()});
      // Wake the writer when work appears or a batch is full; in between it sleeps until
      // the oldest append's max_wait is up.
      const std::size_t size = impl_->queue.size();
      if (size == 1 || size >= impl_->max_events) impl_->cv.notify_one();
      return;
    }
  }
  impl_->events.fetch_add(1);
  if (impl_->metrics) impl_->metrics->count(AppendStatus::unavailable);
  invoke(done, AppendResult{AppendStatus::unavailable, "shutting down"});
}

void Writer::claim(ClaimRequest request, ClaimCallback done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->claims.push_back({std::move(request), std::move(done)});
      impl_->cv.notify_one();
      return;
    }
  }
  ClaimResult failed;
  failed.error = "shutting down";
  invoke(done, std::move(failed));
}

void Writer::prune(PruneRequest request, PruneCallback done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->prunes.push_back({request, std::move(done)});
      impl_->cv.notify_one();
      return;
    }
  }
  invoke(done, std::optional<PruneResult>());
}

void Writer::complete(DeliveryResult result) {
  std::lock_guard lock(impl_->mutex);
  // Also while stopping: the last batch writes what the engine reports during its drain.
  impl_->results.push_back(std::move(result));
  if (impl_->results.size() == 1 && impl_->starts.empty()) {
    impl_->results_since = Clock::now();
    impl_->cv.notify_one();
  }
}

void Writer::started(Start start) {
  std::lock_guard lock(impl_->mutex);
  impl_->starts.push_back(start);
  if (impl_->starts.size() == 1 && impl_->results.empty()) {
    impl_->results_since = Clock::now();
    impl_->cv.notify_one();
  }
}

void Writer::probe(std::function<void()> answer) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) return;
  impl_->probes.push_back(std::move(answer));
  impl_->cv.notify_one();
}

void Writer::when_open(std::function<void()> callback) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) return;
  impl_->open_waiters.push_back(std::move(callback));
  impl_->cv.notify_one();
}

void Writer::claim_at_append(AppendClaimer claimer) {
  std::lock_guard lock(impl_->mutex);
  impl_->claimer = std::move(claimer);
}

void Writer::on_new_deliveries(std::function<void()> wake) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_new_deliveries = std::move(wake);
}

void Writer::stop() {
  std::call_once(impl_->stop_once, [this] {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->stopping = true;
    }
    impl_->cv.notify_one();
    impl_->thread.join();
    impl_->store.reset();  // the writer thread is gone; closing here checkpoints the WAL
    impl_->set_open(false, "stopped");
  });
}

bool Writer::ready() const {
  return unavailable_reason().empty();
}

std::string Writer::unavailable_reason() const {
  return impl_->unavailable_reason();
}

Writer::Stats Writer::stats() const {
  return {impl_->batches.load(), impl_->events.load(), impl_->claims_answered.load(),
          impl_->claimed_at_append.load()};
}

}  // namespace hookd::outbox
