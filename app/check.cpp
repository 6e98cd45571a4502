// `hookd check [-c FILE]`: validates a config without serving it.
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/auth/items.hpp"
#include "hookd/auth/oauth.hpp"
#include "hookd/ingest/routes.hpp"
#include "hookd/worker/handlers.hpp"

namespace hookd::app {
namespace {

// A private temporary directory, removed with its content.
struct TempKeyDir {
  TempKeyDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/hookd-check-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempKeyDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

}  // namespace

Command add_check(CLI::App& app) {
  auto* sub = app.add_subcommand("check",
                                 "Validate a config file (exit 0, or 1 with "
                                 "FILE:LINE:COL: message lines)");
  auto path = std::make_shared<std::string>(kDefaultConfig);
  sub->add_option("-c,--config", *path, "Config file")->capture_default_str();
  return {sub, [path] {
            std::vector<std::string> notes;
            auto config = load_config(*path, config::Scope::all, &notes);
            if (!config) return kExitUserError;
            for (const auto& note : notes) fmt::print("note: {}\n", note);
            // Build every route's auth chain as serve would: keys, secrets and CIDRs that
            // parse as YAML but not as what they claim to be are found here. Then load the
            // plugins the same way.
            int errors = 0;
            std::optional<auth::OAuthServer> oauth;
            std::optional<TempKeyDir> temp;
            if (config->oauth) {
              auto oauth_config = *config->oauth;
              if (!std::filesystem::exists(oauth_config.signing_key)) {
                // serve creates the key on first start; check must not write it, so it
                // validates the rest with a throwaway key.
                fmt::print("note: oauth.signing_key {} does not exist yet; serve creates it\n",
                           oauth_config.signing_key);
                temp.emplace();
                oauth_config.signing_key = temp->path + "/oauth-key.pem";
              }
              try {
                oauth.emplace(oauth_config);
              } catch (const std::exception& e) {
                fmt::print(stderr, "{}: oauth: {}\n", *path, e.what());
                return kExitUserError;
              }
            }
            auto context = ingest::auth_context(oauth ? &*oauth : nullptr);
            for (const auto& route : config->routes) {
              try {
                auth::build_chain(route.auth, context);
              } catch (const auth::BuildError& e) {
                fmt::print(stderr, "{}\n", e.str());
                ++errors;
              }
            }
            // Load each plugin and hand it its config, as serve would.
            std::vector<std::string> plugin_errors;
            worker::LoadOptions load;
            load.host_start_failure_is_error = true;  // create() crashing is worth an error
            worker::load_plugins(*config, plugin_errors, load);
            for (const auto& e : plugin_errors) fmt::print(stderr, "{}\n", e);
            errors += static_cast<int>(plugin_errors.size());
            if (errors > 0) return kExitUserError;
            fmt::print("{}: ok ({} routes, {} plugins)\n", *path, config->routes.size(),
                       config->plugins.size());
            return kExitOk;
          }};
}

}  // namespace hookd::app
