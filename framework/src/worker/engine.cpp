// The delivery engine: the dispatcher thread (claims, timeouts, gauges), the worker threads
// (plugin calls) and the graceful stop. See engine.hpp for the contract.
#include "hookd/worker/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include "gauges.hpp"
#include "hookd/log/fields.hpp"
#include "hookd/log/thread_name.hpp"
#include "hookd/metrics/registry.hpp"
#include "hookd/log/failure_log.hpp"
#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/writer.hpp"
#include "hookd/worker/retry.hpp"
#include "job.hpp"
#include "series.hpp"

namespace hookd::worker {
namespace {

using Clock = std::chrono::steady_clock;
using Key = std::pair<std::string, std::string>;  // (route, plugin)

struct HandlerState {
  Handler config;                // replaced on reload; the object (and the counts) stays
  std::uint32_t claimed = 0;     // claimed and not yet returned (timed-out calls included)
  std::uint32_t running = 0;     // of those, inside a handler call
  std::uint32_t overran = 0;     // of those, past handler_timeout (a thread stuck in it)
  std::uint32_t asking = 0;      // what the dispatcher's claim in flight may bring it
  double call_us = 0;            // moving average of its calls' durations; 0: none yet
  std::optional<Series> series;  // with a registry
  // The store may hold deliveries of this pair that are due (or soon due) and unclaimed:
  // pending rows were written (not claimed at append), a delivery was given back or is to
  // be retried, or no claim has looked since. Cleared by a claim that found fewer than it
  // asked for. While set, the end of a call claims again, and new deliveries of the pair
  // are not claimed at append (the older pending ones go first).
  bool backlog = true;
  std::uint64_t marked_at = 0;  // Shared::mark_clock when backlog was last set
};

// What a claim asked of one pair, to tell afterwards whether it found all there was.
struct Ask {
  std::string route;
  std::string handler;
  std::size_t limit = 0;
};

// Claims run ahead of the calls (per free slot: of the free workers.threads in total, of a
// handler's free concurrency per handler), so that one transaction claims several
// deliveries and a worker that finishes finds the next one ready instead of waiting for a
// claim; how far ahead follows the handler, see Engine::claim_ahead (with a fixed 2 per
// slot, a no-op handler on 4 threads got 8 deliveries per commit, about 4.5k/s, below
// ingest). A thread stuck in a call past handler_timeout is not free: nothing is claimed
// for it.
constexpr std::uint32_t kClaimAhead = 2;
// 256: a batch of appends brings 64 events × 4 handlers at once under load; with 64 the
// queue could not take it, the rest went pending and the handlers never got off the claim
// path again (docs/benchmarks.md, "Handlers").
constexpr std::uint32_t kMaxClaimAhead = 256;
// A claim's round trip assumed at least: a commit.
constexpr double kMinClaimUs = 1000;
// The weight of the newest sample in the moving averages of call and claim durations.
constexpr double kAverageWeight = 0.2;

double moving_average(double average, double sample) {
  return average == 0 ? sample : average + kAverageWeight * (sample - average);
}

// A call through a plugin host returns by itself at handler_timeout, once its host is
// killed and gone; the dispatcher reports it in its place only if it overstays by this
// much (a host that SIGKILL does not end at once: stuck in the kernel).
constexpr auto kHostedTimeoutSlack = std::chrono::seconds(2);
// A claimed delivery whose previous call (or, ordered, its key's) has not returned yet is
// given back, due again after this (the call's return marks the handler, too).
constexpr auto kHeldDelay = std::chrono::seconds(1);

struct Job {
  outbox::ClaimedDelivery delivery;
  std::shared_ptr<HandlerState> handler;
  Callee callee;  // as configured when claimed
  config::RetryConfig retry;
  std::uint32_t max_crashes = 0;
  std::int64_t claimed_at_us = 0;  // the lease runs from here (store clock)
  Clock::time_point started;
  bool reported = false;  // a result was written (a timeout's): the late return is dropped
};

// The calls in flight of one plugin's host (by plugin name), for running suspects alone.
struct HostGate {
  std::uint32_t running = 0;
  bool exclusive = false;  // a suspect runs: nothing else starts beside it
};

}  // namespace

struct Engine::Shared {
  outbox::Writer* writer;  // null once stopped: late returns of stuck calls write nothing
  const EngineOptions options;
  metrics::Registry* registry;

  std::mutex mutex;
  std::condition_variable dispatcher_cv;
  std::condition_variable worker_cv;
  std::condition_variable idle_cv;
  std::map<Key, std::shared_ptr<HandlerState>> handlers;
  std::deque<std::shared_ptr<Job>> queue;     // claimed, not started
  std::vector<std::shared_ptr<Job>> running;  // started, not returned
  std::vector<char> in_job;                   // per worker thread
  // Deliveries whose call was in a plugin host when it died beside other calls (any of
  // them may be the culprit), or hung it: each runs alone in its host from then on, until
  // it gets an answer (then it is innocent) or, crashing alone, is blamed (counted toward
  // max_crashes). In memory: after a restart a suspect is first retried beside others.
  std::unordered_set<std::int64_t> suspects;
  std::map<std::string, HostGate> gates;  // hosted calls by plugin
  // Claims at append: what the writer's transaction in progress may claim, per handler
  // (counted in their `claimed` until the answer comes).
  std::vector<std::pair<std::shared_ptr<HandlerState>, std::uint32_t>> reserved;
  std::size_t reserved_total = 0;
  // The bodies of the claimed deliveries not yet finished (queued and running), within
  // options.max_held_body_bytes; and the most they ever were.
  std::size_t held_bytes = 0;
  std::size_t held_bytes_peak = 0;
  std::size_t asking_total = 0;  // what the dispatcher's claim in flight may bring
  double body_bytes = 0;  // moving average of a claimed delivery's body; 0: none yet
  // Handlers a reload removed, and jobs that may hold the last reference to one, dropped
  // where `mutex` is held: destroyed by the dispatcher, unlocked (destroying a plugin's
  // instance runs its destroy(), and a host's waits up to shutdown_grace for it to exit,
  // while the writer needs `mutex` for every batch that claims at append).
  std::vector<std::shared_ptr<const void>> graveyard;
  void bury(std::shared_ptr<const void> object) {
    graveyard.push_back(std::move(object));
    dispatcher_cv.notify_one();
  }
  // Counts the marks of backlogs: a claim's answer clears only what was marked before it
  // was sent.
  std::uint64_t mark_clock = 0;
  bool dirty = true;                      // something changed: claim at once
  bool claim_in_flight = false;
  bool stopping = false;
  bool stopped = false;
  std::size_t left_running = 0;
  Clock::time_point next_claim = Clock::now();
  Clock::time_point claim_sent;  // of the claim in flight
  double claim_us = 0;           // moving average of a claim's round trip; 0: none yet
  std::size_t rotate = 0;  // fairness: the first handler asked rotates
  // When the first plugin host now backing off may start again (build_request skips its
  // handlers until then); max: none is.
  Clock::time_point host_available = Clock::time_point::max();
  std::mt19937_64 rng{std::random_device{}()};
  log::FailureLog claim_log{"workers: claiming deliveries", log::FailureLog::Level::warn};

  std::thread dispatcher;
  std::vector<std::thread> workers;

  Shared(outbox::Writer& w, EngineOptions o, metrics::Registry* m)
      : writer(&w), options(std::move(o)), registry(m) {}

  // Under `mutex`. Returns what it replaced: the caller destroys that after unlocking (the
  // last reference to a plugin's instance or host may be in it, and destroying one runs
  // the plugin's destroy() or waits for its host to exit).
  std::vector<Handler> set(std::vector<Handler> list);
  // The first queued job whose handler is below its concurrency limit; queue.end() if none.
  std::deque<std::shared_ptr<Job>>::iterator runnable();
  // How many more deliveries of one handler may be claimed now: claim_ahead per usable
  // slot, minus what it holds; 0 while its plugin host backs off. `per_slot`: its
  // claim_ahead.
  std::uint32_t room(HandlerState& state, std::uint32_t& per_slot);
  // How many more deliveries may be claimed across handlers now, when the handlers'
  // largest claim_ahead is `most_ahead`: per free worker thread.
  std::size_t total_room(std::uint32_t most_ahead) const;
  // What is left of the body budget.
  std::size_t bytes_left() const {
    return options.max_held_body_bytes > held_bytes ? options.max_held_body_bytes - held_bytes
                                                    : 0;
  }
  // A job's body leaves the budget (its call returned, or it was given back).
  void drop_bytes(const Job& job) {
    held_bytes -= std::min(held_bytes, job.delivery.body.size());
  }
  outbox::ClaimRequest build_request();
  void on_claimed(outbox::ClaimResult result, std::size_t asked, const std::vector<Ask>& asks,
                  std::size_t total_limit, std::uint64_t sent_at);
  void mark(HandlerState& state) {
    state.backlog = true;
    state.marked_at = ++mark_clock;
  }
  // A claimed delivery becomes a queued job (or goes back when it cannot run).
  void enqueue(outbox::ClaimedDelivery delivery, std::int64_t claimed_at_us);
  // A call of the job's delivery has not returned (or, for an ordered handler, a call of
  // its key): one reported as a timeout still runs in a worker thread (a call in a thread
  // cannot be interrupted) or in a host that SIGKILL has not ended yet. The job must not
  // start beside it.
  bool held(const Job& job) const {
    const bool ordered = job.handler->config.ordered && !job.delivery.ordering_key.empty();
    return std::any_of(running.begin(), running.end(), [&](const std::shared_ptr<Job>& r) {
      return r->delivery.id == job.delivery.id ||
             (ordered && r->handler == job.handler &&
              r->delivery.ordering_key == job.delivery.ordering_key);
    });
  }
  // Claims at append (outbox::AppendClaimer), on the writer thread.
  std::int64_t reserve(std::vector<outbox::AppendGrant>& grants);
  void on_append_claimed(outbox::ClaimResult result);
  bool any_backlog() const {
    return std::any_of(handlers.begin(), handlers.end(),
                       [](const auto& h) { return h.second->backlog; });
  }
  void report(Job& job, const Attempt& attempt);
  // Gives the delivery back: pending, no attempt used, due after `delay`; `why` becomes its
  // last error (when not empty).
  void release(Job& job, std::chrono::milliseconds delay = {}, std::string why = {});
  Clock::time_point check_timeouts(Clock::time_point now);
  // A queued job must start within handler_timeout of its claim, so that its call, timed
  // out after handler_timeout at the latest, reports before the lease (2 × handler_timeout
  // + a margin) can expire and the delivery be rescued (an attempt counted, maybe dead)
  // while it still waits here. When that time is up, in unix µs:
  std::int64_t queue_deadline(const Job& job) const {
    return job.claimed_at_us +
           std::chrono::duration_cast<std::chrono::microseconds>(options.handler_timeout).count();
  }
  // Releases the queued jobs past their queue_deadline (pending again, no attempt used);
  // returns when the next one would be.
  Clock::time_point release_stale(Clock::time_point now);
  double random_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

  void dispatch_loop();
  void worker_loop(std::size_t index);
};

std::vector<Handler> Engine::Shared::set(std::vector<Handler> list) {
  std::vector<Handler> replaced;
  std::map<Key, std::shared_ptr<HandlerState>> next;
  for (Handler& h : list) {
    Key key{h.route, h.plugin};
    auto it = handlers.find(key);
    auto state = it != handlers.end() ? it->second : std::make_shared<HandlerState>();
    if (registry != nullptr && !state->series) state->series.emplace(*registry, h.route, h.plugin);
    h.concurrency = std::max<std::uint32_t>(h.concurrency, 1);
    replaced.push_back(std::exchange(state->config, std::move(h)));
    mark(*state);  // ordering or retry settings may have changed: look again
    next[key] = std::move(state);
  }
  for (auto& [key, state] : handlers) {
    if (!next.contains(key)) replaced.push_back(state->config);  // a job may still hold it
  }
  handlers = std::move(next);
  dirty = true;
  return replaced;
}

std::uint32_t Engine::claim_ahead(double call_us, double claim_us,
                                  std::chrono::milliseconds handler_timeout) {
  if (call_us <= 0) return kClaimAhead;  // nothing known yet
  const double cover = 2 * std::max(claim_us, kMinClaimUs) / call_us;
  const double bound =
      static_cast<double>(std::chrono::microseconds(handler_timeout).count()) / 4 / call_us;
  const double ahead = std::min({cover, bound, static_cast<double>(kMaxClaimAhead)});
  return std::max(kClaimAhead, static_cast<std::uint32_t>(std::ceil(ahead)));
}

std::uint32_t Engine::Shared::room(HandlerState& state, std::uint32_t& per_slot) {
  const Handler& h = state.config;
  per_slot = 0;
  if (h.callee.host) {
    // A host backing off would only give its deliveries back: claim them when it may start.
    if (const auto wait = h.callee.host->available_in(); wait.count() > 0) {
      host_available = std::min(host_available, Clock::now() + wait);
      return 0;
    }
  }
  const std::uint32_t usable = h.concurrency > state.overran ? h.concurrency - state.overran : 0;
  per_slot = Engine::claim_ahead(state.call_us, claim_us, options.handler_timeout);
  const std::uint32_t ahead = per_slot * usable;
  const std::uint32_t counted = state.claimed + state.asking;
  const std::uint32_t holding = counted > state.overran ? counted - state.overran : 0;
  return holding < ahead ? ahead - holding : 0;
}

std::size_t Engine::Shared::total_room(std::uint32_t most_ahead) const {
  const std::size_t overran = static_cast<std::size_t>(
      std::count_if(running.begin(), running.end(), [](const auto& job) { return job->reported; }));
  const std::size_t threads = options.threads;
  const std::size_t free_threads = threads > overran ? threads - overran : 0;
  const std::size_t used =
      queue.size() + running.size() - overran + reserved_total + asking_total;
  const std::size_t cap = std::max(most_ahead, kClaimAhead) * free_threads;
  return used >= cap ? 0 : cap - used;
}

outbox::ClaimRequest Engine::Shared::build_request() {
  outbox::ClaimRequest request;
  request.lease_us = std::chrono::microseconds(lease_for(options.handler_timeout)).count();
  if (handlers.empty()) return request;
  std::uint32_t most_ahead = kClaimAhead;  // of the handlers asked
  std::vector<outbox::ClaimSpec> specs;
  host_available = Clock::time_point::max();
  for (const auto& [key, state] : handlers) {
    const Handler& h = state->config;
    std::uint32_t per_slot = 0;
    const std::uint32_t limit = room(*state, per_slot);
    most_ahead = std::max(most_ahead, per_slot);
    specs.push_back({h.route, h.plugin, limit, h.ordered, h.retry.max_attempts});
  }
  // The claim keeps no more bodies than the budget has left (the first one always, when
  // nothing is held: a body larger than the budget runs alone); it asks for about as many
  // as fit, by the average body, so that it rarely claims rows only to give them back.
  request.max_bytes = std::max<std::size_t>(bytes_left(), 1);
  request.first_regardless = held_bytes == 0;
  const auto fit = static_cast<std::size_t>(static_cast<double>(bytes_left()) /
                                            std::max(body_bytes, 1.0));
  request.total_limit =
      std::min(total_room(most_ahead), held_bytes == 0 ? std::max<std::size_t>(fit, 1) : fit);
  // Rotate who asks first, so that one busy pair cannot take every free thread each time.
  std::rotate(specs.begin(), specs.begin() + static_cast<std::ptrdiff_t>(rotate++ % specs.size()),
              specs.end());
  request.specs = std::move(specs);
  return request;
}

std::int64_t Engine::Shared::reserve(std::vector<outbox::AppendGrant>& grants) {
  reserved.clear();
  reserved_total = 0;
  std::uint32_t most_ahead = kClaimAhead;
  std::vector<std::pair<std::shared_ptr<HandlerState>, std::uint32_t>> rooms(grants.size());
  for (std::size_t i = 0; i < grants.size(); ++i) {
    const auto it = handlers.find(Key{grants[i].route, grants[i].handler});
    // Ordered pairs wait behind their keys' earlier deliveries: the claim's query decides.
    if (stopping || it == handlers.end() || it->second->backlog || it->second->config.ordered) {
      continue;
    }
    std::uint32_t per_slot = 0;
    rooms[i] = {it->second, room(*it->second, per_slot)};
    most_ahead = std::max(most_ahead, per_slot);
  }
  std::size_t left = total_room(most_ahead);
  // Bodies: counted at the largest of each pair's, so that whichever of them are taken fit.
  std::size_t bytes = bytes_left();
  for (std::size_t i = 0; i < grants.size(); ++i) {
    auto& [state, n] = rooms[i];
    const std::size_t each = std::max<std::size_t>(grants[i].max_bytes, 1);
    const std::size_t take =
        std::min({grants[i].count, static_cast<std::size_t>(n), left, bytes / each});
    grants[i].count = take;
    if (take == 0) continue;
    left -= take;
    bytes -= take * each;
    state->claimed += static_cast<std::uint32_t>(take);
    reserved_total += take;
    reserved.emplace_back(std::move(state), static_cast<std::uint32_t>(take));
  }
  return std::chrono::microseconds(lease_for(options.handler_timeout)).count();
}

void Engine::Shared::on_append_claimed(outbox::ClaimResult result) {
  for (auto& [state, n] : reserved) {
    state->claimed -= n;
    if (state.use_count() == 1) bury(std::move(state));  // removed meanwhile
  }
  reserved.clear();
  reserved_total = 0;
  for (outbox::ClaimedDelivery& d : result.deliveries) enqueue(std::move(d), result.claimed_at_us);
  // A batch brings a few deliveries: wake as many threads, not all of them each time.
  if (result.deliveries.size() >= in_job.size()) {
    worker_cv.notify_all();
  } else {
    for (std::size_t i = 0; i < result.deliveries.size(); ++i) worker_cv.notify_one();
  }
  idle_cv.notify_all();
}

void Engine::Shared::enqueue(outbox::ClaimedDelivery delivery, std::int64_t claimed_at_us) {
  auto job = std::make_shared<Job>();
  job->delivery = std::move(delivery);
  job->claimed_at_us = claimed_at_us;
  auto it = handlers.find(Key{job->delivery.route, job->delivery.handler});
  if (stopping || it == handlers.end()) {  // stopping, or reconfigured meanwhile
    release(*job);
    return;
  }
  job->handler = it->second;
  job->callee = it->second->config.callee;
  job->retry = it->second->config.retry;
  job->max_crashes = it->second->config.max_crashes;
  if (held(*job)) {
    spdlog::info(
        "workers: delivery {} (route {}, event {}, handler {}) waits for a call past "
        "handler_timeout to return (of itself or of its ordering key)",
        job->delivery.id, job->delivery.route, job->delivery.event_id, job->delivery.handler);
    release(*job, kHeldDelay,
            "waiting for an earlier call past handler_timeout (of this delivery or its "
            "ordering key) to return");
    return;
  }
  ++job->handler->claimed;
  const std::size_t bytes = job->delivery.body.size();
  body_bytes = moving_average(body_bytes, std::max(static_cast<double>(bytes), 1.0));
  held_bytes += bytes;
  held_bytes_peak = std::max(held_bytes_peak, held_bytes);
  queue.push_back(std::move(job));
}

void Engine::Shared::on_claimed(outbox::ClaimResult result, std::size_t asked,
                                const std::vector<Ask>& asks, std::size_t total_limit,
                                std::uint64_t sent_at) {
  claim_in_flight = false;
  asking_total = 0;
  for (const Ask& ask : asks) {
    if (const auto it = handlers.find(Key{ask.route, ask.handler}); it != handlers.end()) {
      it->second->asking -= std::min<std::uint32_t>(it->second->asking,
                                                    static_cast<std::uint32_t>(ask.limit));
    }
  }
  const auto now = Clock::now();
  claim_us = moving_average(
      claim_us, std::chrono::duration<double, std::micro>(now - claim_sent).count());
  next_claim = now + options.poll_interval;
  if (!result.ok) {
    claim_log.failed(result.error);  // every poll while the store fails: rate-limited
  } else if (const std::uint64_t failures = claim_log.succeeded(); failures > 0) {
    spdlog::info("workers: claiming deliveries works again after {} failed claims", failures);
  }
  if (result.ok) {
    // A pair that got fewer than the claim could give it has nothing more claimable now
    // (unless something was marked since the claim was sent). The store claims the specs
    // in order, each up to min(its limit, what the total limit has left).
    std::size_t left = total_limit;
    for (const Ask& ask : asks) {
      const std::size_t n = std::min(ask.limit, left);
      const auto got = static_cast<std::size_t>(
          std::count_if(result.deliveries.begin(), result.deliveries.end(),
                        [&](const outbox::ClaimedDelivery& d) {
                          return d.handler == ask.handler && d.route == ask.route;
                        }));
      if (n > 0 && got < n && !result.truncated) {
        const auto it = handlers.find(Key{ask.route, ask.handler});
        if (it != handlers.end() && it->second->marked_at <= sent_at) it->second->backlog = false;
      }
      left -= std::min(got, left);
    }
  }
  for (outbox::ClaimedDelivery& d : result.deliveries) enqueue(std::move(d), result.claimed_at_us);
  if (result.ok && result.deliveries.size() < asked && !result.truncated) {
    // Everything claimable now was claimed: look again when the next one is due.
    if (result.next_due_us) {
      const auto wait = std::chrono::microseconds(*result.next_due_us - outbox::unix_now_us());
      if (wait < options.poll_interval) next_claim = now + std::max(wait, decltype(wait)::zero());
    }
  } else if (result.ok) {
    dirty = true;  // there may be more: claim again when threads are free
  }
  worker_cv.notify_all();
  dispatcher_cv.notify_one();
  idle_cv.notify_all();
}

void Engine::Shared::report(Job& job, const Attempt& attempt) {
  job.reported = true;
  outbox::DeliveryResult result = decide(attempt, job.retry, random_unit(), job.max_crashes);
  const auto& d = job.delivery;
  result.route = d.route;
  result.handler = d.handler;
  // A crash beside other calls, or a hang (whose host restart kills its neighbours' calls):
  // from now on the delivery runs alone in its plugin's host.
  const bool suspect =
      attempt.outcome == outbox::DeliveryResult::Outcome::crashed ||
      (attempt.outcome == outbox::DeliveryResult::Outcome::timeout && job.callee.host != nullptr);
  if (result.state == outbox::DeliveryResult::State::pending) mark(*job.handler);
  if (suspect && result.state != outbox::DeliveryResult::State::dead) {
    suspects.insert(d.id);
  } else {
    suspects.erase(d.id);  // answered (innocent), or dead
  }
  // `registry` is cleared by stop(): a stuck call returning later counts nothing.
  if (registry != nullptr && job.handler->series) {
    Series& m = *job.handler->series;
    if (auto* c = m.attempts[static_cast<std::size_t>(attempt.outcome)]) c->inc();
    if (result.state == outbox::DeliveryResult::State::pending) {
      m.retries->inc();
    } else if (result.state == outbox::DeliveryResult::State::dead) {
      m.dead->inc();
    } else {
      m.done->inc();
    }
  }
  // The fields only where a line is written: a delivery done without a message (the usual
  // case) costs no copies.
  std::optional<log::Fields> fields;
  if (result.state != outbox::DeliveryResult::State::done || !result.error.empty()) {
    fields.emplace(std::initializer_list<log::Field>{{"route", d.route},
                                                     {"event_id", d.event_id},
                                                     {"handler", d.handler},
                                                     {"delivery", std::to_string(d.id)}});
  }
  if (result.state == outbox::DeliveryResult::State::dead) {
    spdlog::warn(
        "workers: delivery {} (route {}, event {}, handler {}) is dead after attempt {}: {}", d.id,
        d.route, d.event_id, d.handler, attempt.attempt, result.error);
  } else if (result.state == outbox::DeliveryResult::State::pending) {
    spdlog::info(
        "workers: delivery {} (route {}, event {}, handler {}) attempt {} failed, retry in {} "
        "ms: {}",
        d.id, d.route, d.event_id, d.handler, attempt.attempt,
        (result.scheduled_at_us - attempt.finished_at_us) / 1000, result.error);
  } else if (!result.error.empty()) {
    spdlog::debug("workers: delivery {} (route {}, event {}, handler {}) done: {}", d.id, d.route,
                  d.event_id, d.handler, result.error);
  }
  if (writer != nullptr) writer->complete(std::move(result));
}

void Engine::Shared::release(Job& job, std::chrono::milliseconds delay, std::string why) {
  job.reported = true;
  if (job.handler) mark(*job.handler);
  Attempt a;
  a.delivery_id = job.delivery.id;
  a.attempt = job.delivery.attempt;
  a.outcome = outbox::DeliveryResult::Outcome::released;
  a.started_at_us = a.finished_at_us = outbox::unix_now_us();
  a.retry_after = delay;
  a.message = std::move(why);
  outbox::DeliveryResult result = decide(a, job.retry, 0.0);
  result.route = job.delivery.route;
  result.handler = job.delivery.handler;
  if (writer != nullptr) writer->complete(std::move(result));
}

// Reports the calls that ran past handler_timeout; returns when the next one would.
Clock::time_point Engine::Shared::check_timeouts(Clock::time_point now) {
  auto next = Clock::time_point::max();
  for (const auto& job : running) {
    if (job->reported) continue;
    const auto deadline =
        job->started + options.handler_timeout +
        (job->callee.host ? Clock::duration(kHostedTimeoutSlack) : Clock::duration::zero());
    if (now < deadline) {
      next = std::min(next, deadline);
      continue;
    }
    Attempt a;
    a.delivery_id = job->delivery.id;
    a.attempt = job->delivery.attempt;
    a.outcome = outbox::DeliveryResult::Outcome::timeout;
    a.message = "no answer within handler_timeout (" +
                std::to_string(options.handler_timeout.count()) +
                " ms); the call was not interrupted, its late result is ignored, and the "
                "delivery's next attempt waits until it returns";
    a.finished_at_us = outbox::unix_now_us();
    a.started_at_us =
        a.finished_at_us -
        std::chrono::duration_cast<std::chrono::microseconds>(now - job->started).count();
    report(*job, a);
    ++job->handler->overran;  // until the call returns, its thread is not free
  }
  return next;
}

Clock::time_point Engine::Shared::release_stale(Clock::time_point now) {
  auto next = Clock::time_point::max();
  const std::int64_t unix_now = outbox::unix_now_us();
  for (auto it = queue.begin(); it != queue.end();) {
    Job& job = **it;
    const std::int64_t deadline = queue_deadline(job);
    if (unix_now < deadline) {
      next = std::min(next, now + std::chrono::microseconds(deadline - unix_now));
      ++it;
      continue;
    }
    log::Fields fields{{"route", job.delivery.route},
                       {"event_id", job.delivery.event_id},
                       {"handler", job.delivery.handler},
                       {"delivery", std::to_string(job.delivery.id)}};
    spdlog::info(
        "workers: delivery {} (route {}, event {}, handler {}) waited handler_timeout for a "
        "free thread (calls past their timeout hold them): released, to be claimed again",
        job.delivery.id, job.delivery.route, job.delivery.event_id, job.delivery.handler);
    --job.handler->claimed;
    release(job);
    drop_bytes(job);
    bury(std::move(*it));
    it = queue.erase(it);
  }
  return next;
}

void Engine::Shared::dispatch_loop() {
  GaugeReader gauges(options.store_path, registry, options.gauge_interval);
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (!graveyard.empty()) {
      auto dead = std::move(graveyard);
      graveyard.clear();
      lock.unlock();
      dead.clear();
      lock.lock();
      continue;
    }
    auto now = Clock::now();
    const auto next_timeout = std::min(check_timeouts(now), release_stale(now));
    if (!claim_in_flight && (dirty || now >= next_claim)) {
      dirty = false;
      next_claim = now + options.poll_interval;
      outbox::ClaimRequest request = build_request();
      std::size_t asked = 0;
      for (const auto& spec : request.specs) asked += spec.limit;
      asked = std::min(asked, request.total_limit);
      if (asked > 0) {
        claim_in_flight = true;
        claim_sent = now;
        std::vector<Ask> asks;
        asks.reserve(request.specs.size());
        for (const auto& spec : request.specs) {
          asks.push_back({spec.route, spec.handler, spec.limit});
          // Until the answer, what it may bring counts against the room that claims at
          // append see (their transaction may be the same as this claim's).
          if (const auto it = handlers.find(Key{spec.route, spec.handler}); it != handlers.end()) {
            it->second->asking += static_cast<std::uint32_t>(spec.limit);
          }
        }
        asking_total = asked;
        const std::size_t total_limit = request.total_limit;
        const std::uint64_t sent_at = mark_clock;
        lock.unlock();
        // The callback runs on the writer thread (or at once when the writer has stopped).
        writer->claim(std::move(request), [this, asked, asks = std::move(asks), total_limit,
                                           sent_at](outbox::ClaimResult result) {
          std::lock_guard guard(mutex);
          on_claimed(std::move(result), asked, asks, total_limit, sent_at);
        });
        lock.lock();
        continue;
      }
    }
    if (!graveyard.empty()) continue;  // release_stale() buried jobs: destroy them first
    if (host_available < next_claim) next_claim = host_available;
    const auto until = std::min(next_claim, next_timeout);
    // No predicate: every notification (a claim's answer may have moved next_claim
    // earlier) goes round the loop once, which recomputes what to do and until when.
    dispatcher_cv.wait_until(lock, until);
  }
}

std::deque<std::shared_ptr<Job>>::iterator Engine::Shared::runnable() {
  // Plugins with a suspect queued: nothing else of theirs starts (their hosts drain), and
  // the suspect starts once its host runs nothing.
  std::set<std::string_view> draining;
  if (!suspects.empty()) {
    for (const auto& job : queue) {
      if (job->callee.host && suspects.contains(job->delivery.id)) {
        draining.insert(job->delivery.handler);
      }
    }
  }
  return std::find_if(queue.begin(), queue.end(), [&](const std::shared_ptr<Job>& job) {
    if (job->handler->running >= job->handler->config.concurrency) return false;
    if (!job->callee.host) return true;
    const std::string& plugin = job->delivery.handler;
    const auto gate = gates.find(plugin);
    if (gate != gates.end() && gate->second.exclusive) return false;
    if (!draining.contains(plugin)) return true;
    return suspects.contains(job->delivery.id) &&
           (gate == gates.end() || gate->second.running == 0);
  });
}

void Engine::Shared::worker_loop(std::size_t index) {
  std::unique_lock lock(mutex);
  for (;;) {
    worker_cv.wait(lock, [&] { return stopping || runnable() != queue.end(); });
    if (stopping) return;  // stop() gives the queued deliveries back itself
    auto it = runnable();
    std::shared_ptr<Job> job = std::move(*it);
    queue.erase(it);
    if (outbox::unix_now_us() >= queue_deadline(*job)) {  // the dispatcher has not yet seen it
      --job->handler->claimed;
      drop_bytes(*job);
      release(*job);
      bury(std::move(job));
      continue;
    }
    ++job->handler->running;
    job->started = Clock::now();
    running.push_back(job);
    in_job[index] = 1;
    // Said lazily (the writer's next transaction): after a crash, whether this attempt's
    // call began decides whether it counts.
    if (writer != nullptr) writer->started({job->delivery.id, job->delivery.attempt});
    HostGate* gate = nullptr;
    bool alone = false;
    if (job->callee.host) {
      gate = &gates[job->delivery.handler];
      alone = suspects.contains(job->delivery.id);
      ++gate->running;
      gate->exclusive = alone;
    }
    lock.unlock();
    const Attempt attempt = job->callee.host
                                ? run_hosted_attempt(job->delivery, *job->callee.host,
                                                     options.handler_timeout)
                                : run_attempt(job->delivery, *job->callee.instance);
    lock.lock();
    in_job[index] = 0;
    running.erase(std::find(running.begin(), running.end(), job));
    drop_bytes(*job);
    --job->handler->running;
    --job->handler->claimed;
    if (gate != nullptr) {
      --gate->running;
      if (alone) gate->exclusive = false;
    }
    if (job->reported) --job->handler->overran;  // it timed out (check_timeouts)
    if (attempt.outcome == outbox::DeliveryResult::Outcome::released) {
      // No host could take it (backing off, starting): no attempt was made.
      if (!job->reported) release(*job, attempt.retry_after, attempt.message);
    } else {
      const auto took_us = static_cast<double>(attempt.finished_at_us - attempt.started_at_us);
      job->handler->call_us = moving_average(job->handler->call_us, std::max(took_us, 1.0));
      if (registry != nullptr && job->handler->series) {
        job->handler->series->duration->observe(took_us / 1e6);
      }
      if (!job->reported) report(*job, attempt);
    }
    // One wake-up per call at most, not one of every thread: the dispatcher claims again for
    // the freed slot when the store may hold work for it (while a claim is in flight, its
    // answer wakes it and it sees `dirty`); otherwise the next append claims for it;
    // this thread takes the next runnable job itself, and one other thread is woken in case
    // the freed slot made a job runnable that is not the one this thread takes (all of them
    // when the call held its plugin's host alone). Only stop() waits for idle.
    // An ordered pair's next delivery of the key may be claimable now.
    if (job->handler->config.ordered) mark(*job->handler);
    if (any_backlog()) {
      dirty = true;
      if (!claim_in_flight) dispatcher_cv.notify_one();
    }
    if (alone) {
      worker_cv.notify_all();
    } else {
      worker_cv.notify_one();
    }
    if (stopping) idle_cv.notify_all();
    // After a reload the job may hold the last reference to the plugin's instance or host,
    // whose destruction runs destroy() or waits for the host to exit: never under `mutex`,
    // which the writer (ingest) takes too.
    if (job.use_count() == 1 &&
        (job->handler.use_count() == 1 || job->callee.host.use_count() == 1 ||
         job->callee.instance.use_count() == 1)) {
      lock.unlock();
      job.reset();
      lock.lock();
    }
  }
}

Engine::Engine(outbox::Writer& writer, EngineOptions options, std::vector<Handler> handlers,
               metrics::Registry* metrics)
    : shared_(std::make_shared<Shared>(writer, std::move(options), metrics)) {
  auto& s = *shared_;
  {
    std::lock_guard lock(s.mutex);
    (void)s.set(std::move(handlers));  // nothing replaced
    s.in_job.assign(std::max<std::uint32_t>(s.options.threads, 1), 0);
  }
  writer.claim_at_append({[shared = shared_](std::vector<outbox::AppendGrant>& grants) {
                             std::lock_guard lock(shared->mutex);
                             return shared->reserve(grants);
                           },
                           [shared = shared_](outbox::ClaimResult result) {
                             std::lock_guard lock(shared->mutex);
                             shared->on_append_claimed(std::move(result));
                           }});
  for (std::size_t i = 0; i < s.in_job.size(); ++i) {
    s.workers.emplace_back([shared = shared_, i] {
      log::set_thread_name(fmt::format("worker-{}", i + 1));
      shared->worker_loop(i);
    });
  }
  s.dispatcher = std::thread([shared = shared_] {
    log::set_thread_name("dispatcher");
    shared->dispatch_loop();
  });
}

Engine::~Engine() {
  stop(std::chrono::milliseconds(0));
}

void Engine::set_handlers(std::vector<Handler> handlers) {
  std::vector<Handler> replaced;
  {
    std::lock_guard lock(shared_->mutex);
    replaced = shared_->set(std::move(handlers));
    shared_->dispatcher_cv.notify_one();
  }
  // `replaced` goes here, unlocked.
}

void Engine::wake() {
  std::lock_guard lock(shared_->mutex);
  for (auto& [key, state] : shared_->handlers) shared_->mark(*state);
  shared_->dirty = true;
  shared_->dispatcher_cv.notify_one();
}

Engine::Stats Engine::stats() const {
  std::lock_guard lock(shared_->mutex);
  return {shared_->held_bytes, shared_->held_bytes_peak};
}

std::chrono::milliseconds Engine::lease_for(std::chrono::milliseconds handler_timeout) {
  return handler_timeout * 2 + kHostedTimeoutSlack +
         std::min<std::chrono::milliseconds>(handler_timeout, std::chrono::seconds(10));
}

std::size_t Engine::stop(std::chrono::milliseconds grace) {
  Shared& s = *shared_;
  std::unique_lock lock(s.mutex);
  if (!s.stopping && s.writer != nullptr) s.writer->claim_at_append({});
  if (s.stopping) {
    s.idle_cv.wait(lock, [&] { return s.stopped; });
    return s.left_running;
  }
  s.stopping = true;
  for (auto& job : s.queue) {
    --job->handler->claimed;
    s.release(*job);
  }
  // Destroyed unlocked, below: a job may hold the last reference to a plugin's host.
  std::deque<std::shared_ptr<Job>> released = std::move(s.queue);
  s.queue.clear();
  for (const auto& job : released) s.drop_bytes(*job);
  s.dispatcher_cv.notify_all();
  s.worker_cv.notify_all();
  // Their deliveries get released: a claim's, and those of a transaction that was claiming
  // at append when claim_at_append({}) came.
  s.idle_cv.wait(lock, [&] { return !s.claim_in_flight && s.reserved.empty(); });
  s.idle_cv.wait_for(lock, grace, [&] { return s.running.empty(); });
  s.left_running = s.running.size();
  if (s.left_running > 0) {
    spdlog::warn(
        "workers: {} handler call(s) still running after the grace period; their "
        "deliveries run again after the lease expires",
        s.left_running);
  }
  std::vector<char> busy = s.in_job;
  lock.unlock();
  released.clear();
  s.dispatcher.join();
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    // A thread inside a plugin call cannot be interrupted: let it finish on its own. It
    // holds the shared state and finds no writer to report to.
    if (busy[i]) {
      s.workers[i].detach();
    } else {
      s.workers[i].join();
    }
  }
  lock.lock();
  s.writer = nullptr;
  s.registry = nullptr;
  s.stopped = true;
  s.idle_cv.notify_all();
  const std::size_t left = s.left_running;
  auto dead = std::move(s.graveyard);  // what the dispatcher did not get to
  s.graveyard.clear();
  lock.unlock();
  return left;
}

}  // namespace hookd::worker
