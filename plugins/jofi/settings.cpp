// Reading the jofi plugin's config; see settings.hpp.
#include "settings.hpp"

#include <unistd.h>

#include <cstdint>
#include <utility>

#include "mail.hpp"
#include "plugin_config.hpp"

namespace hookd::plugins::jofi {
namespace {

std::string default_helo() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// A mailbox from the config: no control characters, a plausible bare address.
std::string checked_mailbox(const PluginConfig& cfg, const std::string& key,
                            const std::string& mailbox) {
  for (char c : mailbox) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) cfg.fail(key, "control character");
  }
  const std::string addr = envelope_address(mailbox);
  if (addr.empty() || addr.find_first_of(" <>\"") != std::string::npos ||
      addr.find('@') == std::string::npos) {
    cfg.fail(key, "expected an address like hookd@example.com or \"Name <hookd@example.com>\"");
  }
  return addr;
}

Smtp read_smtp(const YAML::Node& node) {
  PluginConfig cfg("jofi", "smtp", node, {"host", "port", "from", "to", "timeout", "helo"});
  Smtp smtp;
  smtp.settings.host = cfg.string("host");
  smtp.settings.port = static_cast<std::uint16_t>(cfg.integer("port", 25, 1, 65535));
  smtp.settings.timeout = cfg.duration("timeout", std::chrono::seconds(10));
  if (smtp.settings.timeout.count() <= 0) cfg.fail("timeout", "must be positive");
  smtp.settings.helo = cfg.string("helo", default_helo());
  if (smtp.settings.helo.find_first_of(" \r\n\t") != std::string::npos) {
    cfg.fail("helo", "expected a host name");
  }
  smtp.from = cfg.string("from");
  smtp.envelope_from = checked_mailbox(cfg, "from", smtp.from);
  smtp.to = cfg.has("to") && cfg.node("to").IsSequence()
                ? cfg.strings("to")
                : std::vector<std::string>{cfg.string("to")};
  for (const auto& to : smtp.to) smtp.envelope_to.push_back(checked_mailbox(cfg, "to", to));
  return smtp;
}

Pointers read_pointers(const YAML::Node& node) {
  PluginConfig cfg("jofi", "pointers", node,
                   {"type", "participant_id", "assessment_id", "status", "participant_email",
                    "participant_name", "assessment_name", "score"});
  Pointers p;
  for (auto [key, field] : {std::pair{"type", &p.type},
                            {"participant_id", &p.participant_id},
                            {"assessment_id", &p.assessment_id},
                            {"status", &p.status},
                            {"participant_email", &p.participant_email},
                            {"participant_name", &p.participant_name},
                            {"assessment_name", &p.assessment_name},
                            {"score", &p.score}}) {
    *field = cfg.string(key, *field);
    if ((*field)[0] != '/') cfg.fail(key, "expected a JSON pointer starting with '/'");
  }
  return p;
}

}  // namespace

Settings read_settings(std::string_view yaml) {
  const PluginConfig cfg("jofi", yaml, {"database", "smtp", "pointers"});
  Settings s;
  s.database = cfg.string("database");
  if (cfg.has("smtp")) s.smtp = read_smtp(cfg.node("smtp"));
  if (cfg.has("pointers")) s.pointers = read_pointers(cfg.node("pointers"));
  return s;
}

}  // namespace hookd::plugins::jofi
