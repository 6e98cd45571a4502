// Reader: walks yaml-cpp nodes for the section parsers, collecting every error with its
// 1-based location and resolving ${...} references in scalar values. Private to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/config/config.hpp"
#include "hookd/config/loader.hpp"

namespace hookd::config {

// One value in the file: a map entry or a list element, with the dotted path used in
// messages ("storage.batch.max_events", "server.listen[1]").
struct Entry {
  YAML::Node value;
  YAML::Mark key_mark;  // the key (for a list element: the element)
  std::string path;
  // Where errors about the value point: the value, or the key when the value is empty
  // (yaml-cpp marks an implicit null at the next token, which would mislead).
  YAML::Mark mark() const { return value.IsNull() ? key_mark : value.Mark(); }
};

// A scalar value after substitution.
struct Value {
  std::string text;          // resolved; may hold a secret
  std::string raw;           // as written in the file
  bool substituted = false;  // `text` came (partly) from ${env:...} or ${file:...}
  // The variables of ${env:NAME:-default} references that fell back to their default.
  std::vector<std::string> defaulted;
  // For messages: 'raw' as written, or "(value from 'raw')" when substituted, so that a
  // resolved value never reaches an error message.
  std::string shown() const;
};

// A secret that senders prove they know (a Basic password, an HMAC secret, an OAuth client
// secret) taken from the default of a ${env:NAME:-default}: text in the config file, often
// published with it. check_across_sections refuses it on a listener beyond loopback.
struct SecretDefault {
  Location where;
  std::string path;                    // "routes[0].auth[0].basic.password"
  std::vector<std::string> variables;  // NAME of each reference that fell back
};

class Reader {
 public:
  Reader(std::string file, const Environment& env, const FileReader& files = {})
      : file_(std::move(file)), env_(env), files_(files) {}

  const std::string& file() const { return file_; }
  Location location(const YAML::Mark& mark) const;
  void error(const YAML::Mark& mark, std::string message);
  void error(const Location& where, std::string message);
  void note(std::string text) { notes_.push_back(std::move(text)); }
  // The errors sorted into file order (stable), and the notes.
  std::vector<ConfigError> take_errors();
  std::vector<std::string> take_notes() { return std::move(notes_); }
  // Records `v` when it holds an inbound secret taken from a default (see SecretDefault).
  void inbound_secret(const Entry& e, const Value& v);
  const std::vector<SecretDefault>& secret_defaults() const { return secret_defaults_; }

  struct Field {
    std::string_view key;
    std::function<void(const Entry&)> read;
  };
  // Calls the matching field's `read` for each entry of `e.value`, in file order; reports
  // unknown keys (with a suggestion for a near miss) and repeated keys at the key. An empty
  // value counts as an empty map. Returns false, after reporting, when it is not a map.
  bool read_map(const Entry& e, const std::vector<Field>& fields);

  // A short name of the node's type for "got ..." ("a map", "a list", "nothing").
  static std::string kind(const YAML::Node& node);

  // The scalar after substitution; std::nullopt, after reporting, when the value is not a
  // scalar (`expected` names what was wanted: "a duration like 10s") or a reference failed.
  std::optional<Value> scalar(const Entry& e, std::string_view expected);

  // Typed values. On an error they report it and leave `out` as it was.
  void read_string(const Entry& e, std::string& out, bool allow_empty = false);
  void read_bool(const Entry& e, bool& out);
  void read_duration(const Entry& e, Duration& out, bool positive);
  void read_size(const Entry& e, std::size_t& out, std::uint64_t min, std::uint64_t max);
  void read_count(const Entry& e, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  // One string or a list of strings (an empty list is allowed; the caller decides). Returns
  // the elements that are scalars, each with its entry for per-element messages.
  std::vector<std::pair<Value, Entry>> read_string_list(const Entry& e);

 private:
  std::string file_;
  const Environment& env_;
  FileReader files_;  // a copy: the default argument is a temporary
  std::vector<ConfigError> errors_;
  std::vector<std::string> notes_;
  std::vector<SecretDefault> secret_defaults_;
};

}  // namespace hookd::config
