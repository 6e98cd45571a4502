// The plugin host process: one plugin instance, a pool of threads running its handle(),
// replies written under a mutex as the calls finish (in any order).
#include "hookd/plugin/host_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "hookd/plugin/loader.hpp"
#include "hookd/plugin/wire.hpp"
#include "limits.hpp"

namespace hookd::plugin {
namespace {

// Calls read from the socket, waiting for a pool thread.
class CallQueue {
 public:
  void push(wire::CallMessage call) {
    {
      std::lock_guard lock(mu_);
      calls_.push_back(std::move(call));
    }
    cv_.notify_one();
  }
  // Calls not started yet are dropped: nobody reads their replies any more.
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      calls_.clear();
    }
    cv_.notify_all();
  }
  // The next call, or nullopt once closed.
  std::optional<wire::CallMessage> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !calls_.empty(); });
    if (calls_.empty()) return std::nullopt;
    auto call = std::move(calls_.front());
    calls_.pop_front();
    return call;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<wire::CallMessage> calls_;
  bool closed_ = false;
};

class Server {
 public:
  Server(const HostServerOptions& options, const Instance& instance)
      : options_(options), instance_(instance) {}

  void run_worker() {
    std::optional<CallLimits> limits;
    try {
      limits.emplace(options_.memory_limit, options_.cpu_limit);
    } catch (const std::system_error& e) {
      // Running calls past a limit the operator set is worse than not running them.
      spdlog::critical("plugin host for {}: cannot enforce its limits: {}",
                       options_.library.string(), e.what());
      std::_Exit(2);
    }
    std::vector<Header> headers;
    std::string frame;
    while (auto call = queue_.pop()) {
      limits->begin_call();
      const Result result = instance_.handle(call->event(headers));
      limits->end_call();
      frame.clear();
      wire::encode_reply(frame, call->call_id, result);
      std::lock_guard lock(write_mu_);
      if (write_failed_) continue;
      try {
        wire::write_all(options_.fd, frame);
      } catch (const wire::WireError& e) {
        // The engine is gone; the reader sees the end of the stream and stops the pool.
        write_failed_ = true;
        spdlog::debug("plugin host: {}", e.what());
      }
    }
  }

  CallQueue& queue() { return queue_; }

 private:
  const HostServerOptions& options_;
  const Instance& instance_;
  CallQueue queue_;
  std::mutex write_mu_;
  bool write_failed_ = false;
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
  const auto stop_pool = [&] {
    server.queue().close();
    for (auto& t : pool) t.join();
  };
  try {
    const unsigned threads = options.threads == 0 ? 1 : options.threads;
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&] { server.run_worker(); });
  } catch (const std::system_error& e) {
    // Before Ready: a host that cannot start its threads (at its memory_limit, say) could not
    // start, rather than dying on its first calls.
    stop_pool();
    std::string frame;
    wire::encode_create_failed(frame, std::string("cannot start its threads: ") + e.what());
    send_quietly(fd, frame);
    return 1;
  }
  int code = 0;
  try {
    std::string ready;
    wire::encode_ready(ready);
    wire::write_all(fd, ready);
    while (auto frame = reader.read()) {
      if (frame->type != wire::FrameType::call) {
        throw wire::WireError("wire: unexpected frame type " +
                              std::to_string(static_cast<int>(frame->type)));
      }
      server.queue().push(wire::decode_call(frame->payload));
    }
  } catch (const wire::WireError& e) {
    spdlog::error("plugin host for {}: {}", options.library.string(), e.what());
    code = 2;
  }
  stop_pool();
  return code;
}

}  // namespace

int serve_host(const HostServerOptions& options) {
  int code = 2;
  try {
    code = serve(options);
  } catch (const std::exception& e) {
    spdlog::error("plugin host for {}: {}", options.library.string(), e.what());
  }
  ::close(options.fd);
  return code;
}

}  // namespace hookd::plugin
