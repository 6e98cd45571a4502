// Reader: map walking with unknown/duplicate key detection, substitution of scalar values
// and the typed value readers shared by all config sections.
#include "node_reader.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "hookd/config/substitute.hpp"
#include "hookd/config/units.hpp"

namespace hookd::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The known key closest to a misspelt one, when it is close enough to be a typo.
std::optional<std::string_view> suggestion(std::string_view key,
                                           const std::vector<Reader::Field>& fields) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& f : fields) {
    auto d = edit_distance(key, f.key);
    if (d < best_distance) {
      best_distance = d;
      best = f.key;
    }
  }
  if (best && best_distance <= 2 && best_distance <= key.size() / 2) return best;
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string Value::shown() const {
  if (substituted) return "(value from '" + raw + "')";
  return "'" + raw + "'";
}

Location Reader::location(const YAML::Mark& mark) const {
  if (mark.is_null()) return Location{file_, 0, 0};
  return Location{file_, mark.line + 1, mark.column + 1};
}

void Reader::error(const YAML::Mark& mark, std::string message) {
  error(location(mark), std::move(message));
}

void Reader::error(const Location& where, std::string message) {
  errors_.push_back(ConfigError{where, std::move(message)});
}

std::vector<ConfigError> Reader::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  return std::move(errors_);
}

std::string Reader::kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

bool Reader::read_map(const Entry& e, const std::vector<Field>& fields) {
  if (e.value.IsNull()) return true;
  if (!e.value.IsMap()) {
    error(e.mark(), e.path + ": expected a map, got " + kind(e.value));
    return false;
  }
  std::map<std::string, YAML::Mark> seen;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    // Copies: yaml-cpp's iterator yields a temporary pair, a reference into it dangles.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      error(key.Mark(),
            "expected a key name" + (e.path.empty() ? "" : " in " + e.path) + ", got " + kind(key));
      continue;
    }
    const std::string& name = key.Scalar();
    auto [first, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      error(key.Mark(), "duplicate key '" + name + "' (first at line " +
                            std::to_string(first->second.line + 1) + ")");
      continue;
    }
    auto field =
        std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == name; });
    if (field == fields.end()) {
      std::string message = "unknown key '" + name + "'";
      if (!e.path.empty()) message += " in " + e.path;
      if (auto near = suggestion(name, fields))
        message += " (did you mean '" + std::string(*near) + "'?)";
      error(key.Mark(), std::move(message));
      continue;
    }
    field->read(Entry{value, key.Mark(), e.path.empty() ? name : e.path + "." + name});
  }
  return true;
}

void Reader::inbound_secret(const Entry& e, const Value& v) {
  if (!v.defaulted.empty()) secret_defaults_.push_back({location(e.mark()), e.path, v.defaulted});
}

std::optional<Value> Reader::scalar(const Entry& e, std::string_view expected) {
  if (!e.value.IsScalar()) {
    error(e.mark(), e.path + ": expected " + std::string(expected) + ", got " + kind(e.value));
    return std::nullopt;
  }
  Value v;
  v.raw = e.value.Scalar();
  auto s = substitute(v.raw, env_, files_);
  for (auto& message : s.errors) error(e.mark(), e.path + ": " + message);
  for (const auto& fb : s.fallbacks) {
    v.defaulted.push_back(fb.name);
    auto where = location(e.mark());
    note("environment variable " + fb.name + (fb.was_empty ? " is empty" : " is not set") +
         "; using the default from " + where.file + ":" + std::to_string(where.line) + ":" +
         std::to_string(where.column));
  }
  if (!s.errors.empty()) return std::nullopt;
  v.text = std::move(s.value);
  v.substituted = s.substituted;
  return v;
}

void Reader::read_string(const Entry& e, std::string& out, bool allow_empty) {
  auto v = scalar(e, "a string");
  if (!v) return;
  if (!allow_empty && v->text.empty()) {
    error(e.mark(),
          e.path + ": must not be empty" + (v->substituted ? " " + v->shown() : std::string()));
    return;
  }
  out = std::move(v->text);
}

void Reader::read_bool(const Entry& e, bool& out) {
  auto v = scalar(e, "true or false");
  if (!v) return;
  // YAML 1.2 booleans only: "yes", "on" and "y" are too easy to write by accident.
  static const std::vector<std::string_view> yes{"true", "True", "TRUE"};
  static const std::vector<std::string_view> no{"false", "False", "FALSE"};
  if (std::find(yes.begin(), yes.end(), v->text) != yes.end()) {
    out = true;
  } else if (std::find(no.begin(), no.end(), v->text) != no.end()) {
    out = false;
  } else {
    error(e.mark(), e.path + ": expected true or false, got " + v->shown());
  }
}

void Reader::read_duration(const Entry& e, Duration& out, bool positive) {
  constexpr std::string_view expected = "a duration like 500ms, 10s, 5m, 1h or 7d";
  auto v = scalar(e, expected);
  if (!v) return;
  auto d = parse_duration(v->text);
  if (!d) {
    std::string_view unit = v->text;
    while (!unit.empty() && unit.front() >= '0' && unit.front() <= '9') unit.remove_prefix(1);
    if (all_digits(v->text)) {
      error(e.mark(), e.path + ": a duration needs a unit (ms, s, m, h or d), got " + v->shown());
    } else if (unit.size() < v->text.size() &&
               (unit == "ms" || unit == "s" || unit == "m" || unit == "h" || unit == "d")) {
      error(e.mark(), e.path + ": duration too large, got " + v->shown());
    } else {
      error(e.mark(), e.path + ": expected " + std::string(expected) + ", got " + v->shown());
    }
    return;
  }
  if (positive && d->count() == 0) {
    error(e.mark(), e.path + ": must be greater than 0, got " + v->shown());
    return;
  }
  out = *d;
}

void Reader::read_size(const Entry& e, std::size_t& out, std::uint64_t min, std::uint64_t max) {
  constexpr std::string_view expected = "a size like 1048576, 64KiB or 1MiB";
  auto v = scalar(e, expected);
  if (!v) return;
  auto n = parse_size(v->text);
  if (!n) {
    error(e.mark(), e.path + ": expected " + std::string(expected) + ", got " + v->shown());
  } else if (*n < min) {
    error(e.mark(), e.path + ": must be at least " + std::to_string(min) +
                        (min == 1 ? " byte" : " bytes") + ", got " + v->shown());
  } else if (*n > max) {
    error(e.mark(),
          e.path + ": must be at most " + std::to_string(max) + " bytes, got " + v->shown());
  } else {
    out = static_cast<std::size_t>(*n);
  }
}

void Reader::read_count(const Entry& e, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  std::string expected = min > 0 ? "a positive integer" : "a non-negative integer";
  auto v = scalar(e, expected);
  if (!v) return;
  auto n = all_digits(v->text) ? parse_size(v->text) : std::nullopt;
  if (!n || *n < min) {
    error(e.mark(), e.path + ": expected " + expected + ", got " + v->shown());
  } else if (*n > max) {
    error(e.mark(), e.path + ": must be at most " + std::to_string(max) + ", got " + v->shown());
  } else {
    out = *n;
  }
}

std::vector<std::pair<Value, Entry>> Reader::read_string_list(const Entry& e) {
  std::vector<std::pair<Value, Entry>> out;
  if (e.value.IsSequence()) {
    std::size_t i = 0;
    for (const auto& element : e.value) {
      Entry item{element, element.Mark(), e.path + "[" + std::to_string(i++) + "]"};
      if (auto v = scalar(item, "a string")) out.emplace_back(std::move(*v), std::move(item));
    }
    return out;
  }
  if (auto v = scalar(e, "a string or a list of strings")) out.emplace_back(std::move(*v), e);
  return out;
}

}  // namespace hookd::config
