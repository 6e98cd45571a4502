// The jofi plugin's `config:` block (`{database, smtp, pointers}`) read into plain values,
// apart from opening the database, so that the config fuzzer can drive it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_client.hpp"

namespace hookd::plugins::jofi {

// Where each field sits in the payload (RFC 6901 JSON pointers), with their defaults.
struct Pointers {
  std::string type = "/type";  // used only when the route extracts no event type
  std::string participant_id = "/data/participant_id";
  std::string assessment_id = "/data/assessment_id";
  std::string status = "/data/status";
  std::string participant_email = "/data/participant_email";
  std::string participant_name = "/data/participant_name";
  std::string assessment_name = "/data/assessment_name";
  std::string score = "/data/score";
};

struct Smtp {
  SmtpSettings settings;
  std::string from;             // the From header as configured
  std::vector<std::string> to;  // the To header as configured
  std::string envelope_from;    // bare addresses for MAIL FROM / RCPT TO
  std::vector<std::string> envelope_to;
};

struct Settings {
  std::string database;      // the plugin's SQLite file
  std::optional<Smtp> smtp;  // unset: notifications are recorded, not mailed
  Pointers pointers;
};

// Throws ConfigError (plugin_config.hpp) naming the key.
Settings read_settings(std::string_view yaml);

}  // namespace hookd::plugins::jofi
