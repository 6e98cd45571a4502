// `hookd plugin-run`: runs one delivery of a made-up event through a plugin the way serve
// runs it (the config text serve would hand create(), process or thread isolation, the
// handler timeout) and prints what came of it, so a plugin author can try a build without
// a server, a store or a sender.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "hookd/config/loader.hpp"
#include "hookd/config/units.hpp"
#include "hookd/ingest/route_endpoint.hpp"
#include "hookd/plugin/environment.hpp"
#include "hookd/plugin/host.hpp"
#include "hookd/plugin/loader.hpp"

namespace hookd::app {
namespace {

namespace json = boost::json;

struct Options {
  std::string library;
  std::string config;
  std::string body;
  std::string type = "test";
  std::vector<std::string> headers;
  std::string route = "plugin-run";
  std::string id = "plugin-run-1";
  std::uint32_t attempt = 1;
  std::string isolation = "process";
  std::string timeout = "30s";
  std::vector<std::string> env;  // as plugins.NAME.env
  bool json = false;
};

// What came of the call: the plugin's result, or that it crashed or ran out of time.
struct Run {
  std::string outcome;  // ok, retry, fail, crashed, timeout
  plugin::Result result;
};

std::string outcome_name(plugin::Outcome o) {
  switch (o) {
    case plugin::Outcome::ok:
      return "ok";
    case plugin::Outcome::retry:
      return "retry";
    case plugin::Outcome::fail:
      return "fail";
  }
  return "retry";
}

int exit_code(const std::string& outcome) {
  if (outcome == "ok") return kExitOk;
  if (outcome == "retry") return kExitPluginRetry;
  if (outcome == "fail") return kExitPluginFail;
  return kExitPluginCrashed;  // crashed, timeout
}

std::optional<std::string> read_body(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

// Out of process, as serve runs a plugin with `isolation: process`: a crash or a hang costs
// the host, not this command. A call past its timeout kills the host, as serve does.
std::optional<Run> run_in_host(const Options& o, const std::string& config_yaml,
                               const plugin::Event& event, std::chrono::milliseconds timeout) {
  plugin::HostOptions host_options;
  host_options.name = o.library;
  host_options.binary = "/proc/self/exe";
  host_options.library = o.library;
  host_options.config_yaml = config_yaml;
  host_options.env = o.env;
  host_options.threads = 1;
  plugin::Host host(std::move(host_options));
  plugin::CallResult call = host.call(event, timeout);
  switch (call.status) {
    case plugin::CallResult::Status::answered:
      return Run{outcome_name(call.result.outcome), std::move(call.result)};
    case plugin::CallResult::Status::crashed:
      return Run{"crashed", std::move(call.result)};
    case plugin::CallResult::Status::timeout:  // the call took its host with it
      return Run{"timeout", std::move(call.result)};
    case plugin::CallResult::Status::unavailable:
    case plugin::CallResult::Status::unsendable:
      break;
  }
  // The plugin never saw the event: it did not load, refused its config, or died or hung
  // in create(); or the event does not fit in a Call.
  fmt::print(stderr, "hookd plugin-run: {}\n", call.result.message);
  return std::nullopt;
}

// In this process, as serve runs a trusted plugin with `isolation: thread`. hookd does not
// interrupt a call: past the timeout the answer is no longer waited for.
std::optional<Run> run_in_thread(const Options& o, const std::string& config_yaml,
                                 const plugin::Event& event, std::chrono::milliseconds timeout) {
  std::shared_ptr<plugin::Instance> instance;
  try {
    instance =
        std::make_shared<plugin::Instance>(plugin::Library::load(o.library)->create(config_yaml));
  } catch (const std::exception& e) {  // LoadError, CreateError
    fmt::print(stderr, "hookd plugin-run: {}\n", e.what());
    return std::nullopt;
  }
  std::packaged_task<plugin::Result()> task([instance, event] { return instance->handle(event); });
  auto answer = task.get_future();
  std::thread worker(std::move(task));
  if (answer.wait_for(timeout) == std::future_status::ready) {
    worker.join();
    plugin::Result result = answer.get();
    return Run{outcome_name(result.outcome), std::move(result)};
  }
  // The call runs on and may never return: the instance must not be destroyed (nor the
  // library unloaded) under it, so the thread is left to the process's exit.
  worker.detach();
  plugin::Result late;
  late.message = "no answer within " + o.timeout + " (the call was left running)";
  return Run{"timeout", std::move(late)};
}

void print(const Run& run, bool as_json) {
  if (as_json) {
    json::object out;
    out["outcome"] = run.outcome;
    out["retry_after_ms"] = run.result.retry_after.count();
    out["message"] = run.result.message;
    fmt::print("{}\n", json::serialize(out));
    return;
  }
  fmt::print("outcome: {}\n", run.outcome);
  if (run.outcome == "retry") {
    fmt::print("retry_after: {}\n", run.result.retry_after.count() == 0
                                        ? std::string("0 (the handler's backoff decides)")
                                        : std::to_string(run.result.retry_after.count()) + " ms");
  }
  fmt::print("message: {}\n", run.result.message);
}

}  // namespace

Command add_plugin_run(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "plugin-run",
      "Run one delivery through a plugin as serve would and print the outcome (exit 0 ok, "
      "3 retry, 4 fail, 5 crashed or timed out, 1 usage error or the plugin did not start)");
  auto o = std::make_shared<Options>();
  sub->add_option("--library", o->library, "The plugin's shared library")->required();
  sub->add_option("--config", o->config,
                  "A YAML file holding the plugin's config block (what goes under `config:`); "
                  "none: the empty config");
  sub->add_option("--body", o->body, "The event body, a file or - for stdin")->required();
  sub->add_option("--type", o->type, "The event type")->capture_default_str();
  sub->add_option("--header", o->headers, "A request header 'Name: value' (repeatable)");
  sub->add_option("--route", o->route, "The route name")->capture_default_str();
  sub->add_option("--id", o->id, "The event id")->capture_default_str();
  sub->add_option("--attempt", o->attempt, "The attempt number")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  sub->add_option("--isolation", o->isolation, "process (as serve by default) or thread")
      ->check(CLI::IsMember({"process", "thread"}))
      ->capture_default_str();
  sub->add_option("--timeout", o->timeout, "How long the call may take (workers.handler_timeout)")
      ->capture_default_str();
  sub->add_option("--env", o->env,
                  "A variable of this environment the plugin's host gets besides PATH, LANG, TZ "
                  "and the proxy variables, as plugins.NAME.env (repeatable; process isolation)")
      ->check([](const std::string& name) {
        return plugin::is_variable_name(name) ? std::string()
                                              : "expected a variable name, got '" + name + "'";
      });
  sub->add_flag("--json", o->json, "Print {outcome, retry_after_ms, message} as one JSON line");
  return {sub, [o] {
            const auto timeout = config::parse_duration(o->timeout);
            if (!timeout || timeout->count() <= 0) {
              fmt::print(stderr, "hookd plugin-run: --timeout: expected a duration like 30s\n");
              return kExitUserError;
            }
            std::string config_yaml;
            if (!o->config.empty()) {
              auto loaded = config::load_plugin_config_file(o->config);
              for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.str());
              if (!loaded.yaml) return kExitUserError;
              config_yaml = std::move(*loaded.yaml);
            }
            const auto body = read_body(o->body);
            if (!body) {
              fmt::print(stderr, "hookd plugin-run: cannot read the body from {}\n", o->body);
              return kExitUserError;
            }
            // Header strings stay in `header_text`; the event views them.
            std::vector<std::pair<std::string, std::string>> header_text;
            for (const std::string& h : o->headers) {
              const auto colon = h.find(':');
              if (colon == std::string::npos || colon == 0) {
                fmt::print(stderr, "hookd plugin-run: --header '{}': expected 'Name: value'\n", h);
                return kExitUserError;
              }
              std::string name = h.substr(0, colon);
              const auto start = h.find_first_not_of(" \t", colon + 1);
              std::string value = start == std::string::npos ? std::string() : h.substr(start);
              // What serve stores, and so hands the plugin, for credentials.
              if (ingest::is_redacted_header(name)) value = "[redacted]";
              header_text.emplace_back(std::move(name), std::move(value));
            }
            std::vector<plugin::Header> headers;
            for (const auto& [name, value] : header_text) headers.push_back({name, value});

            plugin::Event event;
            event.id = o->id;
            event.route = o->route;
            event.type = o->type;
            event.received_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
            event.attempt = o->attempt;
            event.headers = headers;
            event.body = *body;

            const auto run = o->isolation == "thread"
                                 ? run_in_thread(*o, config_yaml, event, *timeout)
                                 : run_in_host(*o, config_yaml, event, *timeout);
            if (!run) return kExitUserError;
            print(*run, o->json);
            std::fflush(stdout);
            const int code = exit_code(run->outcome);
            // A thread call past its timeout still runs: leave without destroying what it uses.
            if (run->outcome == "timeout" && o->isolation == "thread") std::_Exit(code);
            return code;
          }};
}

}  // namespace hookd::app
