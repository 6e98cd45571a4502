// hookd_package_driver: loads a handler plugin as hookd does (dlopen RTLD_NOW|RTLD_LOCAL,
// hookd_plugin_v1, ABI check, create) and hands it events from the command line, printing
// each outcome, so build_example.sh can check the example plugin's behaviour without a server.
//   hookd_package_driver LIBRARY CONFIG_YAML [TYPE=BODY]...
// Event i (1-based) gets id evt_<i>, route "example", attempt 1 and received_at_us
// 1764336848123456 (2025-11-28T13:34:08.123456Z). Prints "<outcome> <message>" per event.
// Exit: 0 ran every event, 2 the library did not load, 3 the plugin refused its config.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "hookd/plugin.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s LIBRARY CONFIG_YAML [TYPE=BODY]...\n", argv[0]);
    return 2;
  }
  void* lib = ::dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], ::dlerror());
    return 2;
  }
  auto entry = reinterpret_cast<hookd_plugin_entry_fn>(::dlsym(lib, HOOKD_PLUGIN_ENTRY_SYMBOL));
  const hookd_plugin_descriptor* d = entry != nullptr ? entry() : nullptr;
  if (d == nullptr || d->abi_major != HOOKD_PLUGIN_ABI_MAJOR ||
      d->struct_size < sizeof(hookd_plugin_descriptor)) {
    std::fprintf(stderr, "%s: no usable hookd_plugin_v1 descriptor\n", argv[1]);
    return 2;
  }

  const std::string config = argv[2];
  char error[256] = "";
  void* instance = d->create(config.c_str(), config.size(), error, sizeof error);
  if (instance == nullptr) {
    std::printf("refused %s\n", error);
    return 3;
  }
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string type = arg.substr(0, eq);
    const std::string body = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
    const std::string id = "evt_" + std::to_string(i - 2);
    const std::string route = "example";

    hookd_event event{};
    event.struct_size = sizeof event;
    event.id = {id.data(), id.size()};
    event.route = {route.data(), route.size()};
    event.type = {type.data(), type.size()};
    event.received_at_us = 1764336848123456;
    event.attempt = 1;
    event.body = body.empty() ? nullptr : body.data();
    event.body_size = body.size();

    char message[1024] = "";
    hookd_result result{};
    result.struct_size = sizeof result;
    result.outcome = HOOKD_OK;
    result.message = message;
    result.message_capacity = sizeof message;
    d->handle(instance, &event, &result);
    message[sizeof message - 1] = '\0';
    const char* name = result.outcome == HOOKD_OK     ? "ok"
                       : result.outcome == HOOKD_FAIL ? "fail"
                                                      : "retry";
    std::printf("%s %s\n", name, message);
  }
  d->destroy(instance);
  ::dlclose(lib);
  return 0;
}
