// Logger setup: the text pattern, the JSON formatter and the level's sources.
#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/log/json_formatter.hpp"
#include "hookd/log/text_formatter.hpp"

namespace hookd::app {
namespace {

constexpr const char* kFormatVariable = "HOOKD_LOG_FORMAT";

// HOOKD_LOG_FORMAT (text or json): overrides log.format, as HOOKD_LOG_LEVEL does the level.
std::optional<config::LogConfig::Format> env_format() {
  const char* env = std::getenv(kFormatVariable);
  if (env == nullptr) return std::nullopt;
  if (std::string_view(env) == "json") return config::LogConfig::Format::json;
  if (std::string_view(env) == "text") return config::LogConfig::Format::text;
  return std::nullopt;
}

void set_format(config::LogConfig::Format format) {
  if (format == config::LogConfig::Format::json) {
    spdlog::default_logger()->set_formatter(std::make_unique<hookd::log::JsonFormatter>());
  } else {
    spdlog::default_logger()->set_formatter(hookd::log::make_text_formatter());
  }
}

// HOOKD_LOG_LEVEL when it names a level, else `configured`. spdlog's from_str would turn
// a typo into "off": keep the configured level and say so instead.
spdlog::level::level_enum effective_level(const std::string& configured) {
  std::string level = configured;
  if (const char* env = std::getenv("HOOKD_LOG_LEVEL"); env != nullptr && *env != '\0') {
    if (config::is_log_level(env)) {
      level = env;
    } else {
      spdlog::warn(
          "HOOKD_LOG_LEVEL={} is not a level (trace, debug, info, warn, error, "
          "critical, off); using {}",
          env, configured);
    }
  }
  return spdlog::level::from_str(level);
}

}  // namespace

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("hookd");
  spdlog::set_default_logger(logger);
  set_format(env_format().value_or(config::LogConfig::Format::text));
  spdlog::set_level(effective_level("info"));
}

void apply_log_config(const config::LogConfig& log) {
  const auto format = env_format().value_or(log.format);
  set_format(format);
  // Before any thread starts: the plugin hosts serve starts inherit it, and so write the
  // same lines into the same journal.
  ::setenv(kFormatVariable, format == config::LogConfig::Format::json ? "json" : "text", 1);
  apply_log_level(log);
}

void apply_log_level(const config::LogConfig& log) {
  spdlog::set_level(effective_level(log.level));
}

}  // namespace hookd::app
