// plugin::Host: starts `hookd plugin-host` children, sends them Calls, hands Replies to the
// waiting callers, and turns a child's death into crashed results and a backed-off restart.
//
// One Generation per child. Its thread forks the child (so PR_SET_PDEATHSIG, which fires
// when the forking *thread* ends, only fires when the process ends: the thread lives until
// it has reaped the child), does the handshake, waits for the end of the stream, reads the
// Replies left, then waits for the child's exit and fails the calls still in it.
//
// Replies are read by the callers themselves: one waiting caller at a time holds the read
// role, reads until its own Reply is in (handing the others' to them) and passes the role
// on. A call thus costs no hop through a reader thread (a wake-up each way, which is most
// of a call's cost on a small machine).
#include "hookd/plugin/host.hpp"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "hookd/plugin/wire.hpp"
#include "spawn.hpp"

namespace hookd::plugin {
namespace {

using Clock = std::chrono::steady_clock;

CallResult failure(CallResult::Status status, std::string message) {
  CallResult r;
  r.status = status;
  r.result.outcome = Outcome::retry;
  r.result.message = std::move(message);
  return r;
}

}  // namespace

struct Host::Pending {
  std::string_view event_id;  // the caller's, for the log line of a death
  std::condition_variable cv;  // done, or the read role is free
  bool done = false;
  bool awaiting = false;  // the caller waits for its Reply (and may take the read role)
  CallResult result;
};

struct Host::Generation {
  enum class State { starting, ready, dead };

  ~Generation() {
    if (fd >= 0) ::close(fd);
  }

  std::uint64_t number = 0;          // CallResult::host_generation
  int fd = -1;                       // the engine's end; closed when the last user lets go
  int child_fd = -1;                 // the child's end, until the fork
  std::condition_variable write_cv;  // `writing` became false

  // Guarded by Host::mu_.
  State state = State::starting;
  pid_t pid = -1;
  bool reaped = false;
  bool writing = false;     // a caller is writing its Call frame (one at a time)
  bool ending = false;      // its stream ended: new calls are not sent to it
  bool killed = false;      // by kill_locked(): the reason is the message
  bool deliberate = false;  // by Host::kill() or retire(): not a death for the backoff
  bool retired = false;     // by retire(): finishing its calls, then killed
  std::string kill_reason;
  std::uint32_t in_flight = 0;  // Calls written and not answered (timed-out callers' too)
  bool reading = false;  // a thread holds the read role (decoder and reads are its alone)
  bool eof = false;      // the stream ended, or broke: nothing more is read
  std::condition_variable read_cv;  // the read role is free (for the generation's thread)
  wire::FrameDecoder decoder;
  std::string create_failure;  // CreateFailed's message
  std::optional<Clock::time_point> ready_since;
  std::string failure;  // once dead: what the calls are told
  std::unordered_map<std::uint64_t, Pending*> pending;
  std::thread thread;
  bool finished = false;  // the thread is done (join it)
  std::thread killer;     // retire(): kills the host when it outlives its grace
  bool killer_done = false;
};

Host::Host(HostOptions options) : options_(std::move(options)), backoff_(options_.backoff) {}

Host::~Host() {
  std::vector<std::shared_ptr<Generation>> gens;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    gens = generations_;
    for (auto& gen : gens) {
      if (!gen->finished) ::shutdown(gen->fd, SHUT_RDWR);
    }
    state_cv_.notify_all();  // retire()'s killers stop waiting
  }
  for (auto& gen : gens) {
    if (gen->killer.joinable()) gen->killer.join();
    if (gen->thread.joinable()) gen->thread.join();
  }
}

CallResult Host::call(const Event& event, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string frame;
  const std::uint64_t id = [&] {
    std::lock_guard lock(mu_);
    return ++next_call_id_;
  }();
  wire::encode_call(frame, id, event);

  std::unique_lock lock(mu_);
  join_finished_locked();
  std::string why;
  const std::shared_ptr<Generation> gen = current_or_start_locked(why);
  if (!gen) return failure(CallResult::Status::unavailable, why);
  const auto stamped = [&](CallResult r) {
    r.host_generation = gen->number;
    return r;
  };
  if (!state_cv_.wait_until(lock, deadline,
                            [&] { return gen->state != Generation::State::starting; })) {
    // Unavailable, not timeout: the plugin never saw the event (and a hung create() is
    // the host's start_timeout to end, with backoff, not the caller's to kill).
    return stamped(failure(CallResult::Status::unavailable,
                           "plugin host for '" + options_.name + "' is still starting after " +
                               std::to_string(timeout.count()) + " ms"));
  }
  if (gen->state == Generation::State::dead) {
    return stamped(failure(CallResult::Status::unavailable, gen->failure));
  }
  if (gen->ending || gen->killed) {  // never blame a crash on a call the plugin cannot see
    return stamped(failure(CallResult::Status::unavailable,
                           "plugin host for '" + options_.name + "' is exiting"));
  }

  Pending pending;
  pending.event_id = event.id;
  gen->pending.emplace(id, &pending);
  ++gen->in_flight;  // before the write: its Reply may be read before this thread relocks
  // One Call frame at a time; a host that stopped reading (stopped, thrashing) must not hold
  // the caller past its deadline: the write gives up then, and the host, whose stream now
  // holds a partial frame, is killed. (A flag under mu_ rather than a timed mutex, whose
  // timed lock ThreadSanitizer does not see.)
  const bool locked = gen->write_cv.wait_until(lock, deadline, [&] { return !gen->writing; });
  bool written = false;
  if (locked) {
    gen->writing = true;
    lock.unlock();
    try {
      written = wire::write_all(gen->fd, frame, deadline);
    } catch (const wire::WireError&) {
      written = true;  // the host is gone: its thread sees the end and fails this call
    }
    lock.lock();
    gen->writing = false;
    gen->write_cv.notify_one();
  }
  if (!written) {
    gen->pending.erase(id);
    --gen->in_flight;
    if (locked) {
      kill_locked(*gen, "it stopped reading calls", false);
      if (current_ == gen) current_.reset();  // the next call starts another host
    }
    return stamped(failure(CallResult::Status::timeout,
                           "plugin host for '" + options_.name + "' did not take the call within " +
                               std::to_string(timeout.count()) + " ms"));
  }
  pending.awaiting = true;
  while (!pending.done && Clock::now() < deadline) {
    if (!gen->reading && !gen->eof) {
      gen->reading = true;
      read_replies_locked(*gen, lock, &pending, deadline);
      gen->reading = false;
      hand_over_read_role_locked(*gen, &pending);
      continue;
    }
    pending.cv.wait_until(lock, deadline);
  }
  pending.awaiting = false;
  if (!pending.done) {
    gen->pending.erase(id);
    return stamped(failure(CallResult::Status::timeout,
                           "plugin '" + options_.name + "' did not answer within " +
                               std::to_string(timeout.count()) + " ms"));
  }
  return stamped(std::move(pending.result));
}

Host::StartResult Host::ensure_started(std::chrono::milliseconds timeout) {
  using Status = StartResult::Status;
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  join_finished_locked();
  std::string why;
  const std::shared_ptr<Generation> gen = current_or_start_locked(why);
  if (!gen) return {Status::failed, why};
  if (!state_cv_.wait_until(lock, deadline,
                            [&] { return gen->state != Generation::State::starting; })) {
    return {Status::failed, "plugin host for '" + options_.name + "' is still starting after " +
                                std::to_string(timeout.count()) + " ms"};
  }
  if (gen->state == Generation::State::ready) return {Status::ready, {}};
  return {gen->create_failure.empty() ? Status::failed : Status::refused, gen->failure};
}

std::chrono::milliseconds Host::available_in() const {
  std::lock_guard lock(mu_);
  if (current_ && current_->state != Generation::State::dead) return std::chrono::milliseconds(0);
  return backoff_.wait_at(Clock::now());
}

std::shared_ptr<Host::Generation> Host::current_or_start_locked(std::string& why) {
  if (current_ && current_->state != Generation::State::dead) return current_;
  if (const auto wait = backoff_.wait_at(Clock::now()); wait.count() > 0) {
    why = "plugin host for '" + options_.name + "' is backing off after " +
          std::to_string(backoff_.deaths_in_a_row()) + " deaths in a row: next start in " +
          std::to_string(wait.count()) + " ms (last: " + last_failure_ + ")";
    return nullptr;
  }
  return start_locked();
}

void Host::retire(std::string_view reason, std::uint64_t host_generation,
                  std::chrono::milliseconds grace) {
  std::lock_guard lock(mu_);
  if (!current_ || current_->state == Generation::State::dead) return;
  if (host_generation != 0 && current_->number != host_generation) return;
  const std::shared_ptr<Generation> gen = std::move(current_);
  current_.reset();
  gen->retired = true;
  gen->deliberate = true;
  gen->ending = true;
  // The host reads the end of its calls, finishes those it runs and exits; their Replies
  // still arrive on the read side.
  if (gen->fd >= 0) ::shutdown(gen->fd, SHUT_WR);
  gen->killer = std::thread([this, gen, reason = std::string(reason), grace] {
    std::unique_lock guard(mu_);
    state_cv_.wait_for(guard, grace, [&] { return gen->reaped || stopping_; });
    if (!gen->reaped) kill_locked(*gen, reason, true);
    gen->killer_done = true;
  });
}

void Host::kill(std::string_view reason, std::uint64_t host_generation) {
  std::lock_guard lock(mu_);
  if (!current_ || current_->state == Generation::State::dead) return;
  if (host_generation != 0 && current_->number != host_generation) return;
  kill_locked(*current_, std::string(reason), true);
  current_.reset();
}

pid_t Host::pid() const {
  std::lock_guard lock(mu_);
  if (!current_ || current_->state != Generation::State::ready || current_->reaped) return -1;
  return current_->pid;
}

std::uint64_t Host::restarts() const {
  std::lock_guard lock(mu_);
  return starts_ > 0 ? starts_ - 1 : 0;
}

void Host::kill_locked(Generation& gen, std::string reason, bool deliberate) {
  if (gen.killed) return;
  gen.killed = true;
  gen.deliberate = gen.deliberate || deliberate;
  gen.kill_reason = std::move(reason);
  if (gen.pid > 0 && !gen.reaped) ::kill(gen.pid, SIGKILL);
  // pid not known yet: run_generation kills the child as soon as it is forked.
}

void Host::join_finished_locked() {
  // A finished thread only returns after it released mu_: joining under mu_ is safe.
  std::erase_if(generations_, [](const std::shared_ptr<Generation>& gen) {
    if (!gen->finished || (gen->killer.joinable() && !gen->killer_done)) return false;
    if (gen->killer.joinable()) gen->killer.join();
    if (gen->thread.joinable()) gen->thread.join();  // no thread when socketpair failed
    return true;
  });
}

std::shared_ptr<Host::Generation> Host::start_locked() {
  auto gen = std::make_shared<Generation>();
  int fds[2];
  gen->number = ++starts_;
  if (starts_ > 1 && options_.on_restart) options_.on_restart();
  current_ = gen;
  generations_.push_back(gen);
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    gen->state = Generation::State::dead;
    gen->failure = "plugin host for '" + options_.name +
                   "' could not start: socketpair: " + std::strerror(errno);
    last_failure_ = gen->failure;
    backoff_.on_death(Clock::now(), nullptr);
    gen->finished = true;
    return gen;
  }
  gen->fd = fds[0];
  gen->child_fd = fds[1];
  gen->thread = std::thread([this, g = gen.get()] { run_generation(*g); });
  return gen;
}

void Host::run_generation(Generation& gen) {
  std::vector<std::string> args{options_.binary.string(),
                                "plugin-host",
                                "--library",
                                options_.library.string(),
                                "--fd",
                                std::to_string(kChildFd),
                                "--threads",
                                std::to_string(options_.threads == 0 ? 1 : options_.threads)};
  if (options_.memory_limit != 0) {
    args.insert(args.end(), {"--memory-limit", std::to_string(options_.memory_limit)});
  }
  if (options_.cpu_limit.count() > 0) {
    args.insert(args.end(), {"--cpu-limit", std::to_string(options_.cpu_limit.count())});
  }
  const pid_t pid = spawn(args, gen.child_fd);
  const int spawn_errno = errno;
  ::close(gen.child_fd);
  {
    std::lock_guard lock(mu_);
    gen.child_fd = -1;
    if (pid < 0) {
      gen.reaped = true;
      gen.state = Generation::State::dead;
      gen.failure = "plugin host for '" + options_.name +
                    "' could not start: fork: " + std::strerror(spawn_errno);
      last_failure_ = gen.failure;
      backoff_.on_death(Clock::now(), nullptr);
      gen.finished = true;
      state_cv_.notify_all();
      return;
    }
    gen.pid = pid;
    if (gen.killed) ::kill(pid, SIGKILL);
  }
  serve_generation(gen);
  {
    std::lock_guard lock(mu_);
    gen.ending = true;
    gen.eof = true;
  }
  on_exit(gen);
}

// Handshake, then the end of the stream; the Replies left are read before the calls still
// in the host are failed.
void Host::serve_generation(Generation& gen) {
  try {
    std::string config;
    wire::encode_config(config, options_.config_yaml);
    try {
      wire::write_all(gen.fd, config);
    } catch (const wire::WireError&) {
      // Died at once (exec failed?): the read below sees the end of the stream.
    }
    pollfd p{gen.fd, POLLIN, 0};
    int ready = 0;
    while ((ready = ::poll(&p, 1, static_cast<int>(options_.start_timeout.count()))) < 0 &&
           errno == EINTR) {
    }
    if (ready == 0) {
      std::lock_guard lock(mu_);
      kill_locked(gen,
                  "did not start within " + std::to_string(options_.start_timeout.count()) + " ms",
                  false);
      return;
    }
    // Until Ready no caller reads: the decoder is this thread's.
    std::optional<wire::Frame> first;
    char chunk[4096];
    while (!(first = gen.decoder.next())) {
      const ssize_t n = ::recv(gen.fd, chunk, sizeof chunk, 0);
      if (n == 0) return;
      if (n < 0 && errno != EINTR) return;
      if (n > 0) gen.decoder.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
    if (first->type == wire::FrameType::create_failed) {
      const std::string message = wire::decode_create_failed(first->payload);
      std::lock_guard lock(mu_);
      gen.create_failure = message;
      return;
    }
    if (first->type != wire::FrameType::ready) throw wire::WireError("wire: expected Ready");
    wire::decode_ready(first->payload);
    {
      std::lock_guard lock(mu_);
      gen.state = Generation::State::ready;
      gen.ready_since = Clock::now();
      state_cv_.notify_all();
    }
  } catch (const wire::WireError& e) {
    std::lock_guard lock(mu_);
    kill_locked(gen, std::string("protocol error: ") + e.what(), false);
    return;
  }
  // The host ends by closing its end (exit, death, kill): wait for that without reading.
  pollfd p{gen.fd, POLLRDHUP, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  std::unique_lock lock(mu_);
  gen.ending = true;
  gen.read_cv.wait(lock, [&] { return !gen.reading; });
  gen.reading = true;
  read_replies_locked(gen, lock, nullptr, Clock::time_point::max());
  gen.reading = false;
}

void Host::read_replies_locked(Generation& gen, std::unique_lock<std::mutex>& lock,
                               const Pending* own, Clock::time_point deadline) {
  char chunk[16 * 1024];
  while (!gen.eof && !(own != nullptr && own->done)) {
    try {
      if (std::optional<wire::Frame> frame = gen.decoder.next()) {
        if (frame->type != wire::FrameType::reply) throw wire::WireError("wire: expected Reply");
        wire::ReplyMessage reply = wire::decode_reply(frame->payload);
        if (gen.in_flight > 0) --gen.in_flight;
        const auto it = gen.pending.find(reply.call_id);
        if (it == gen.pending.end()) continue;  // its caller timed out
        it->second->result.result = std::move(reply.result);
        it->second->done = true;
        it->second->cv.notify_one();  // under mu_: the caller's Pending outlives this
        gen.pending.erase(it);
        continue;
      }
    } catch (const wire::WireError& e) {
      kill_locked(gen, std::string("protocol error: ") + e.what(), false);
      gen.eof = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    const int wait_ms =
        deadline == Clock::time_point::max()
            ? -1
            : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    lock.unlock();
    pollfd p{gen.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    ssize_t n = 0;
    int error = ready < 0 ? errno : 0;
    if (ready > 0) {
      n = ::recv(gen.fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n < 0) error = errno;
    }
    lock.lock();
    if (ready == 0 || error == EINTR || error == EAGAIN) continue;
    if (error != 0 || n == 0) {  // the end of the stream (a reset too: the host is gone)
      gen.eof = true;
      gen.ending = true;
      break;
    }
    gen.decoder.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
  }
}

void Host::hand_over_read_role_locked(Generation& gen, const Pending* from) {
  gen.read_cv.notify_one();
  for (auto& [id, pending] : gen.pending) {
    if (pending != from && pending->awaiting && !pending->done) {
      pending->cv.notify_one();
      return;
    }
  }
}

// The stream ended: wait for the child (SIGKILL after the grace), reap it, fail its calls.
void Host::on_exit(Generation& gen) {
  const auto give_up = Clock::now() + options_.shutdown_grace;
  for (;;) {
    siginfo_t info{};
    const int rc = ::waitid(P_PID, static_cast<id_t>(gen.pid), &info, WEXITED | WNOWAIT | WNOHANG);
    if (rc != 0 && errno == EINTR) continue;
    if (rc != 0 || info.si_pid != 0) break;  // exited (or not our child: nothing to wait for)
    if (Clock::now() >= give_up) {
      {
        std::lock_guard lock(mu_);
        ::kill(gen.pid, SIGKILL);  // not reaped yet: the pid is still ours
      }
      while (::waitid(P_PID, static_cast<id_t>(gen.pid), &info, WEXITED | WNOWAIT) != 0 &&
             errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  std::lock_guard lock(mu_);
  int status = 0;
  while (::waitpid(gen.pid, &status, 0) < 0 && errno == EINTR) {
  }
  gen.reaped = true;
  const bool was_ready = gen.state == Generation::State::ready;
  const std::string host = "plugin host for '" + options_.name + "'";
  if (gen.killed) {
    gen.failure = host + " was killed: " + gen.kill_reason;
  } else if (gen.retired) {
    gen.failure = host + " was retired";
  } else if (!gen.create_failure.empty()) {
    gen.failure = host + " could not start: " + gen.create_failure;
  } else if (stopping_) {
    gen.failure = host + " stopped";
  } else {
    gen.failure = host + (was_ready ? " died: " : " died while starting: ") +
                  describe_exit(status, options_.memory_limit, options_.cpu_limit);
  }
  gen.state = Generation::State::dead;
  const bool sole = gen.in_flight == 1 && !gen.killed && !gen.retired;
  std::string events;  // for the log line
  for (auto& [id, pending] : gen.pending) {
    events += (events.empty() ? "" : ", ") + std::string(pending->event_id);
    pending->result = failure(
        was_ready ? CallResult::Status::crashed : CallResult::Status::unavailable, gen.failure);
    pending->result.sole = was_ready && sole;
    pending->done = true;
    pending->cv.notify_one();
  }
  gen.pending.clear();
  if (!gen.deliberate && !stopping_) {
    last_failure_ = gen.failure;
    const auto delay =
        backoff_.on_death(Clock::now(), gen.ready_since ? &*gen.ready_since : nullptr);
    spdlog::warn("{} (pid {}{}); next start {}", gen.failure, gen.pid,
                 events.empty() ? std::string() : ", while handling event(s) " + events,
                 delay.count() == 0
                     ? std::string("on the next call")
                     : "in " + std::to_string(delay.count()) + " ms at the earliest");
  } else if (gen.killed) {
    spdlog::warn("{} (pid {})", gen.failure, gen.pid);
  } else if (gen.retired) {
    spdlog::info("{} and exited (pid {})", gen.failure, gen.pid);
  }
  gen.finished = true;
  state_cv_.notify_all();
}

}  // namespace hookd::plugin
