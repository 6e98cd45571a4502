// The plugin host process: one plugin instance, one thread per lane running its handle().
#include "hookd/plugin/host_server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "hookd/log/thread_name.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/plugin/wire.hpp"
#include "limits.hpp"

namespace hookd::plugin {
namespace {

// One instance; each lane (a socket of its own) served by its own thread: read a Call,
// run it, write its Reply, until the lane ends.
class Server {
 public:
  Server(const HostServerOptions& options, const Instance& instance)
      : options_(options), instance_(instance) {}

  // Runs one lane; counts `started` down once its limits are in place (or could not be:
  // then limits_error() says why and the lane does not run).
  void run_lane(int fd, std::latch& started) {
    std::optional<CallLimits> limits;
    try {
      limits.emplace(options_.memory_limit, options_.cpu_limit);
    } catch (const std::system_error& e) {
      {
        std::lock_guard lock(mu_);
        limits_error_ = e.what();
      }
      started.count_down();
      return;
    }
    started.count_down();
    wire::FrameReader reader(fd);
    std::vector<Header> headers;
    std::string frame;
    for (;;) {
      std::optional<wire::CallMessage> call;
      try {
        std::optional<wire::Frame> f = reader.read();
        if (!f) return;  // the engine closed the lane
        if (f->type != wire::FrameType::call) {
          throw wire::WireError("wire: unexpected frame type " +
                                std::to_string(static_cast<int>(f->type)));
        }
        call = wire::decode_call(f->payload);
      } catch (const wire::WireError& e) {
        spdlog::error("plugin host for {}: {}", options_.library.string(), e.what());
        failed_ = true;
        return;
      }
      limits->begin_call();
      const Result result = instance_.handle(call->event(headers));
      limits->end_call();
      frame.clear();
      wire::encode_reply(frame, call->call_id, result);
      try {
        wire::write_all(fd, frame);
      } catch (const wire::WireError& e) {
        spdlog::debug("plugin host: {}", e.what());  // the engine is gone
        return;
      }
    }
  }

  bool failed() const { return failed_; }
  // Why a lane could not set up its limits; empty when all could.
  std::string limits_error() {
    std::lock_guard lock(mu_);
    return limits_error_;
  }

 private:
  const HostServerOptions& options_;
  const Instance& instance_;
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::string limits_error_;
};

void send_quietly(int fd, const std::string& frame) {
  try {
    wire::write_all(fd, frame);
  } catch (const wire::WireError& e) {
    spdlog::debug("plugin host: {}", e.what());
  }
}

int serve(const HostServerOptions& options) {
  const int fd = options.fd;
  const unsigned lanes = options.threads == 0 ? 1 : options.threads;
  // Not for the plugin's own children (system(), popen()): a socket held open by one of
  // them would hide this host's death from the engine.
  for (unsigned i = 0; i <= lanes; ++i) ::fcntl(fd + static_cast<int>(i), F_SETFD, FD_CLOEXEC);
  wire::FrameReader reader(fd);
  std::string config_yaml;
  {
    auto first = reader.read();
    if (!first) return 0;  // the engine went away before configuring us
    if (first->type != wire::FrameType::config) {
      throw wire::WireError("wire: expected Config as the first frame");
    }
    config_yaml = wire::decode_config(first->payload);
  }

  std::optional<Instance> instance;
  try {
    apply_memory_limit(options.memory_limit);  // the library's own mappings count
    apply_cpu_limit(options.cpu_limit);
    instance.emplace(Library::load(options.library)->create(config_yaml));
  } catch (const std::exception& e) {  // LoadError, CreateError, bad_alloc, system_error
    std::string frame;
    wire::encode_create_failed(frame, e.what());
    send_quietly(fd, frame);
    return 1;
  }
  Server server(options, *instance);
  std::vector<std::thread> pool;
  // The lanes end when the engine shuts them; after the control socket ended (the engine
  // is done with this host) a lane still open is ended here, after its running call.
  const auto stop_lanes = [&] {
    for (unsigned i = 0; i < lanes; ++i) ::shutdown(fd + 1 + static_cast<int>(i), SHUT_RD);
    for (auto& t : pool) t.join();
  };
  // Before Ready: a host that cannot start its threads or set up its limits (at its
  // memory_limit, say) could not start, rather than failing on its first calls.
  std::latch started(lanes);
  std::string start_error;
  try {
    for (unsigned i = 0; i < lanes; ++i) {
      pool.emplace_back([&server, &started, i, lane = fd + 1 + static_cast<int>(i)] {
        log::set_thread_name(fmt::format("lane-{}", i + 1));
        server.run_lane(lane, started);
      });
    }
    started.wait();
    if (const std::string error = server.limits_error(); !error.empty()) {
      start_error = "cannot enforce its limits: " + error;
    }
  } catch (const std::system_error& e) {
    started.count_down(static_cast<std::ptrdiff_t>(lanes - pool.size()));
    start_error = std::string("cannot start its threads: ") + e.what();
  }
  if (!start_error.empty()) {
    stop_lanes();
    std::string frame;
    wire::encode_create_failed(frame, start_error);
    send_quietly(fd, frame);
    return 1;
  }
  int code = 0;
  try {
    std::string ready;
    wire::encode_ready(ready);
    wire::write_all(fd, ready);
    // Nothing more comes on the control socket: its end is the end of this host.
    if (auto frame = reader.read()) {
      throw wire::WireError("wire: unexpected frame type " +
                            std::to_string(static_cast<int>(frame->type)) + " on the control socket");
    }
  } catch (const wire::WireError& e) {
    spdlog::error("plugin host for {}: {}", options.library.string(), e.what());
    code = 2;
  }
  stop_lanes();
  return server.failed() ? 2 : code;
}

}  // namespace

int serve_host(const HostServerOptions& options) {
  int code = 2;
  try {
    code = serve(options);
  } catch (const std::exception& e) {
    spdlog::error("plugin host for {}: {}", options.library.string(), e.what());
  }
  const unsigned lanes = options.threads == 0 ? 1 : options.threads;
  for (unsigned i = 0; i <= lanes; ++i) ::close(options.fd + static_cast<int>(i));
  return code;
}

}  // namespace hookd::plugin
