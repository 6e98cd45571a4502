// plugin::Host: starts `hookd plugin-host` children, sends them Calls, reads their Replies,
// and turns a child's death into crashed results and a backed-off restart.
//
// One Generation per child. Its thread forks the child (so PR_SET_PDEATHSIG, which fires
// when the forking *thread* ends, only fires when the process ends: the thread lives until
// it has reaped the child), does the handshake on the control socket, waits for the end of
// that stream, then for the child's exit, and tells the callers still waiting.
//
// Calls go over lanes: one socket per call the host may run at once, each served by its
// own thread in the host. A caller takes a free lane, writes its Call, and reads its Reply
// from that lane itself: a call costs one wake-up on each side and no lock held across it.
// A lane whose caller gave up (its Reply may still come) is never used again.
#include "hookd/plugin/host.hpp"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "hookd/log/thread_name.hpp"
#include "hookd/plugin/environment.hpp"
#include "hookd/plugin/wire.hpp"
#include "spawn.hpp"

namespace hookd::plugin {
namespace {

using Clock = std::chrono::steady_clock;

// How long a caller whose lane ended waits for the host's death to be seen before it
// kills a host that is still alive (then it waits for the kill: SIGKILL is not refused).
constexpr auto kDeathNotice = std::chrono::seconds(2);

CallResult failure(CallResult::Status status, std::string message) {
  CallResult r;
  r.status = status;
  r.result.outcome = Outcome::retry;
  r.result.message = std::move(message);
  return r;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads one frame from `fd` into `decoder` until one is complete, `deadline` passes
// (nullopt, `timed_out` set) or the stream ends (nullopt). Throws WireError for a
// malformed frame.
std::optional<wire::Frame> read_frame(int fd, wire::FrameDecoder& decoder,
                                      Clock::time_point deadline, bool& timed_out) {
  char chunk[4096];
  for (;;) {
    if (std::optional<wire::Frame> frame = decoder.next()) return frame;
    const auto now = Clock::now();
    if (now >= deadline) {
      timed_out = true;
      return std::nullopt;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(
        &p, 1,
        static_cast<int>(std::min<std::chrono::milliseconds::rep>(
            std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count(), 60'000)));
    if (ready < 0 && errno != EINTR) return std::nullopt;
    if (ready <= 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) return std::nullopt;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return std::nullopt;  // a reset: the host is gone
    }
    decoder.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
  }
}

}  // namespace

struct Host::Lane {
  ~Lane() {
    close_fd(fd);
    close_fd(child_fd);
  }
  int fd = -1;        // the engine's end
  int child_fd = -1;  // the child's end, until the fork
  wire::FrameDecoder decoder;  // its caller's alone while it holds the lane
  std::string event_id;        // guarded by mu_: the call in it, for the log line of a death
  bool busy = false;           // guarded by mu_: taken (or lost to a caller that gave up)
};

struct Host::Generation {
  enum class State { starting, ready, dead };

  ~Generation() {
    close_fd(fd);
    close_fd(child_fd);
  }

  std::uint64_t number = 0;  // CallResult::host_generation
  int fd = -1;               // the control socket, the engine's end
  int child_fd = -1;         // the child's end, until the fork
  std::vector<std::unique_ptr<Lane>> lanes;  // the fds are fixed after start_locked()
  std::condition_variable lane_cv;           // a lane became free

  // Guarded by Host::mu_.
  State state = State::starting;
  pid_t pid = -1;
  bool reaped = false;
  bool ending = false;      // its stream ended: new calls are not sent to it
  bool killed = false;      // by kill_locked(): the reason is the message
  bool deliberate = false;  // by Host::kill() or a call's timeout: not a death for the backoff
  std::string kill_reason;
  std::string create_failure;  // CreateFailed's message
  std::optional<Clock::time_point> ready_since;
  std::string failure;  // once dead: what the calls are told
  bool sole_at_death = false;  // once dead: one call was in it, and it died by itself
  std::thread thread;
  bool finished = false;  // the thread is done (join it)

  std::size_t busy_lanes() const {
    std::size_t n = 0;
    for (const auto& lane : lanes) n += lane->busy;
    return n;
  }
  // Shuts every socket both ways: the host sees the end of everything and exits after
  // the calls it runs; nothing more is read here.
  void shut_down() {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    for (const auto& lane : lanes) {
      if (lane->fd >= 0) ::shutdown(lane->fd, SHUT_RDWR);
    }
  }
};

// The environment is read once: every host of this plugin starts with the same one.
Host::Host(HostOptions options)
    : options_(std::move(options)),
      environment_(host_environment(options_.env, ::environ)),
      backoff_(options_.backoff) {}

Host::~Host() {
  std::vector<std::shared_ptr<Generation>> gens;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    gens = generations_;
    for (auto& gen : gens) {
      if (!gen->finished) gen->shut_down();
    }
  }
  for (auto& gen : gens) {
    if (gen->thread.joinable()) gen->thread.join();
  }
}

CallResult Host::call(const Event& event, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::uint64_t id = ++next_call_id_;
  // Encoded before a lane is taken: an event that cannot be framed (a body past the wire's
  // limit) fails here and holds nothing. std::bad_alloc leaves here too, holding nothing.
  std::string frame;
  try {
    wire::encode_call(frame, id, event);
  } catch (const wire::WireError& e) {
    CallResult r;
    r.status = CallResult::Status::unsendable;
    r.result.outcome = Outcome::fail;
    r.result.message = "event of " + std::to_string(event.body.size()) +
                       " body bytes cannot be sent to plugin host '" + options_.name +
                       "': " + e.what() + " (a Call carries bodies up to " +
                       std::to_string(wire::kMaxCallBody) + " bytes)";
    return r;
  }
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
  const auto exiting = [&] {
    return gen->state == Generation::State::dead || gen->ending || gen->killed;
  };
  Lane* lane = nullptr;
  gen->lane_cv.wait_until(lock, deadline, [&] {
    if (exiting()) return true;
    for (const auto& l : gen->lanes) {
      if (!l->busy) {
        lane = l.get();
        return true;
      }
    }
    return false;
  });
  if (gen->state == Generation::State::dead) {
    return stamped(failure(CallResult::Status::unavailable, gen->failure));
  }
  if (exiting()) {  // never blame a crash on a call the plugin cannot see
    return stamped(failure(CallResult::Status::unavailable,
                           "plugin host for '" + options_.name + "' is exiting"));
  }
  if (lane == nullptr) {  // every lane is taken (or lost to calls that timed out)
    return stamped(failure(CallResult::Status::unavailable,
                           "plugin host for '" + options_.name + "' had no free lane within " +
                               std::to_string(timeout.count()) + " ms"));
  }
  lane->busy = true;
  lane->event_id = event.id;
  lock.unlock();
  try {
    return send_on_lane(gen, *lane, frame, id, deadline, timeout);
  } catch (...) {
    // Out of memory reading the reply, say: the lane is mid-call and cannot be reused,
    // and its host may be running the call. Kill it (its other calls end as crashes and
    // run again) rather than leave the lane taken for good.
    std::lock_guard relock(mu_);
    kill_locked(*gen, "a call failed on hookd's side (out of memory?)", false);
    if (current_ == gen) current_.reset();
    throw;
  }
}

CallResult Host::send_on_lane(const std::shared_ptr<Generation>& gen, Lane& lane_ref,
                              const std::string& frame, std::uint64_t id,
                              Clock::time_point deadline, std::chrono::milliseconds timeout) {
  Lane* lane = &lane_ref;
  std::unique_lock lock(mu_, std::defer_lock);
  const auto stamped = [&](CallResult r) {
    r.host_generation = gen->number;
    return r;
  };
  // A host that stopped reading (stopped, thrashing) must not hold the caller past its
  // deadline: the write gives up then, and the host, whose lane now holds a partial frame,
  // is killed.
  bool written = false;
  bool gone = false;
  try {
    written = wire::write_all(lane->fd, frame, deadline);
  } catch (const wire::WireError&) {
    gone = true;  // the host is gone: wait for its thread to say how
  }
  if (!written && !gone) {
    lock.lock();
    kill_locked(*gen, "it stopped reading calls", false);
    if (current_ == gen) current_.reset();  // the next call starts another host
    return stamped(failure(CallResult::Status::timeout,
                           "plugin host for '" + options_.name + "' did not take the call within " +
                               std::to_string(timeout.count()) + " ms"));
  }
  bool timed_out = false;
  std::optional<wire::Frame> reply;
  if (!gone) {
    try {
      reply = read_frame(lane->fd, lane->decoder, deadline, timed_out);
    } catch (const wire::WireError& e) {
      lock.lock();
      kill_locked(*gen, std::string("protocol error: ") + e.what(), false);
      lock.unlock();
    }
  }
  if (reply) {
    try {
      if (reply->type != wire::FrameType::reply) throw wire::WireError("wire: expected Reply");
      wire::ReplyMessage message = wire::decode_reply(reply->payload);
      if (message.call_id != id) throw wire::WireError("wire: a Reply to another call");
      lock.lock();
      lane->busy = false;
      gen->lane_cv.notify_all();  // waiters have deadlines: let each look
      CallResult r;
      r.result = std::move(message.result);
      return stamped(std::move(r));
    } catch (const wire::WireError& e) {
      lock.lock();
      kill_locked(*gen, std::string("protocol error: ") + e.what(), false);
      lock.unlock();
    }
  }
  lock.lock();
  if (timed_out) {
    // A call cannot be interrupted: its host goes with it, and the caller hears of the
    // timeout only once the process is gone, so that the delivery's retry (or the next
    // delivery of its ordering key) never runs beside it. Its other calls end crashed,
    // not blamed on anyone.
    kill_locked(*gen, "a call ran past handler_timeout (event " + lane->event_id + ")", true);
    if (current_ == gen) current_.reset();  // the next call starts another host at once
    state_cv_.wait(lock, [&] { return gen->reaped; });
    return stamped(failure(CallResult::Status::timeout,
                           "plugin '" + options_.name + "' did not answer within " +
                               std::to_string(timeout.count()) + " ms"));
  }
  if (gone && gen->killed && gen->state != Generation::State::dead) {
    // Sent to a host on its way out: the plugin never saw it.
    return stamped(failure(CallResult::Status::unavailable,
                           "plugin host for '" + options_.name + "' is exiting"));
  }
  // The lane ended: the host died (or was killed), and its thread says how once it has
  // reaped it. A lane that ended while the host lives (a plugin closing descriptors it
  // does not own) gets it killed.
  if (!state_cv_.wait_for(lock, kDeathNotice,
                          [&] { return gen->state == Generation::State::dead; })) {
    kill_locked(*gen, "a call's socket ended while it ran", false);
    state_cv_.wait(lock, [&] { return gen->state == Generation::State::dead; });
  }
  CallResult r = failure(CallResult::Status::crashed, gen->failure);
  r.sole = gen->sole_at_death;
  return stamped(std::move(r));
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
  gen.lane_cv.notify_all();  // callers waiting for a lane: it is exiting
  if (gen.pid > 0 && !gen.reaped) ::kill(gen.pid, SIGKILL);
  // pid not known yet: run_generation kills the child as soon as it is forked.
}

void Host::join_finished_locked() {
  // A finished thread only returns after it released mu_: joining under mu_ is safe.
  std::erase_if(generations_, [](const std::shared_ptr<Generation>& gen) {
    if (!gen->finished) return false;
    if (gen->thread.joinable()) gen->thread.join();  // no thread when socketpair failed
    return true;
  });
}

std::shared_ptr<Host::Generation> Host::start_locked() {
  auto gen = std::make_shared<Generation>();
  gen->number = ++starts_;
  if (starts_ > 1 && options_.on_restart) options_.on_restart();
  current_ = gen;
  generations_.push_back(gen);
  const unsigned lanes = std::clamp(options_.threads, 1u, unsigned{kMaxChildFds - 1});
  const auto pair = [](int& mine, int& theirs) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
    mine = fds[0];
    theirs = fds[1];
    return true;
  };
  bool ok = pair(gen->fd, gen->child_fd);
  for (unsigned i = 0; ok && i < lanes; ++i) {
    auto lane = std::make_unique<Lane>();
    ok = pair(lane->fd, lane->child_fd);
    gen->lanes.push_back(std::move(lane));
  }
  if (!ok) {
    gen->state = Generation::State::dead;
    gen->failure = "plugin host for '" + options_.name +
                   "' could not start: socketpair: " + std::strerror(errno);
    last_failure_ = gen->failure;
    backoff_.on_death(Clock::now(), nullptr);
    gen->finished = true;
    return gen;
  }
  try {
    gen->thread = std::thread([this, g = gen.get()] {
      log::set_thread_name("host-" + options_.name);
      run_generation(*g);
    });
  } catch (const std::system_error& e) {  // RLIMIT_NPROC, no memory: like a failed start
    gen->state = Generation::State::dead;
    gen->failure = "plugin host for '" + options_.name + "' could not start: " + e.what();
    last_failure_ = gen->failure;
    backoff_.on_death(Clock::now(), nullptr);
    gen->finished = true;
  }
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
                                std::to_string(gen.lanes.size())};
  if (options_.memory_limit != 0) {
    args.insert(args.end(), {"--memory-limit", std::to_string(options_.memory_limit)});
  }
  if (options_.cpu_limit.count() > 0) {
    args.insert(args.end(), {"--cpu-limit", std::to_string(options_.cpu_limit.count())});
  }
  std::vector<int> child_fds{gen.child_fd};
  for (const auto& lane : gen.lanes) child_fds.push_back(lane->child_fd);
  const pid_t pid = spawn(args, child_fds, environment_);
  const int spawn_errno = errno;
  close_fd(gen.child_fd);
  for (const auto& lane : gen.lanes) close_fd(lane->child_fd);
  {
    std::lock_guard lock(mu_);
    if (pid < 0) {
      gen.reaped = true;
      gen.state = Generation::State::dead;
      gen.failure = "plugin host for '" + options_.name +
                    "' could not start: fork: " + std::strerror(spawn_errno);
      last_failure_ = gen.failure;
      backoff_.on_death(Clock::now(), nullptr);
      gen.finished = true;
      state_cv_.notify_all();
      gen.lane_cv.notify_all();
      return;
    }
    gen.pid = pid;
    if (gen.killed) ::kill(pid, SIGKILL);
  }
  serve_generation(gen);
  {
    std::lock_guard lock(mu_);
    gen.ending = true;
    gen.lane_cv.notify_all();
  }
  on_exit(gen);
}

// Handshake on the control socket, then the end of that stream (the host exits, dies or
// is killed; nothing more is sent on it).
void Host::serve_generation(Generation& gen) {
  try {
    std::string config;
    wire::encode_config(config, options_.config_yaml);
    try {
      wire::write_all(gen.fd, config);
    } catch (const wire::WireError&) {
      // Died at once (exec failed?): the read below sees the end of the stream.
    }
    wire::FrameDecoder decoder;
    bool timed_out = false;
    const std::optional<wire::Frame> first =
        read_frame(gen.fd, decoder, Clock::now() + options_.start_timeout, timed_out);
    if (timed_out) {
      std::lock_guard lock(mu_);
      kill_locked(gen,
                  "did not start within " + std::to_string(options_.start_timeout.count()) + " ms",
                  false);
      return;
    }
    if (!first) return;
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
  // The host ends by closing its end (exit, death, kill), or its process ends while
  // something it started holds the socket open: wait for either without reading.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, gen.pid, 0));
  pollfd p[2] = {{gen.fd, POLLRDHUP, 0}, {pidfd, POLLIN, 0}};
  while (::poll(p, pidfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR) {
  }
  if (pidfd >= 0) ::close(pidfd);
}

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
  // Callers still reading a lane that something else holds open: they see its end now.
  for (const auto& lane : gen.lanes) ::shutdown(lane->fd, SHUT_RDWR);
  const bool was_ready = gen.state == Generation::State::ready;
  const std::string host = "plugin host for '" + options_.name + "'";
  if (gen.killed) {
    gen.failure = host + " was killed: " + gen.kill_reason;
  } else if (!gen.create_failure.empty()) {
    gen.failure = host + " could not start: " + gen.create_failure;
  } else if (stopping_) {
    gen.failure = host + " stopped";
  } else {
    gen.failure = host + (was_ready ? " died: " : " died while starting: ") +
                  describe_exit(status, options_.memory_limit, options_.cpu_limit);
  }
  gen.state = Generation::State::dead;
  // Calls whose callers gave up count as running: any call in the host may have killed it.
  gen.sole_at_death = gen.busy_lanes() == 1 && !gen.killed;
  std::string events;  // for the log line
  for (const auto& lane : gen.lanes) {
    if (lane->busy) events += (events.empty() ? "" : ", ") + lane->event_id;
  }
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
  }
  gen.finished = true;
  state_cv_.notify_all();
  gen.lane_cv.notify_all();
}

}  // namespace hookd::plugin
