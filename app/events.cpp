// `hookd events list` and `hookd events show ID`: stored events as aligned tables or JSON
// (one object per line), read from the store while the server runs. On a terminal, what
// senders chose (ids, types, headers, bodies) and plugins said is shown with its control
// characters made visible (log/visible.hpp: an escape sequence in an id must not write the
// operator's clipboard or clear the screen); --raw, or output to a pipe, keeps the bytes. Also the store and
// table helpers the other store commands share (with_store, print_table).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "config_file.hpp"
#include "hookd/crypto/encoding.hpp"
#include "hookd/log/visible.hpp"
#include "hookd/outbox/deliveries.hpp"
#include "hookd/outbox/queries.hpp"
#include "hookd/outbox/schema.hpp"

namespace hookd::app {
namespace {

namespace json = boost::json;

// How text from the store reaches stdout.
struct Output {
  bool json = false;
  bool visible = false;  // a terminal and no --raw

  // One line of --json: serialize() escapes C0 and DEL; C1 code points (U+0080..U+009F,
  // valid raw in JSON) are escaped too on a terminal, as \u0080..\u009f.
  void json_line(const json::value& v) const {
    std::string line = json::serialize(v);
    if (visible && log::needs_escaping(line)) {
      std::string out;
      for (std::size_t i = 0; i < line.size(); ++i) {
        const auto next = i + 1 < line.size() ? static_cast<unsigned char>(line[i + 1]) : 0u;
        if (static_cast<unsigned char>(line[i]) == 0xC2 && next >= 0x80 && next < 0xA0) {
          out += fmt::format("\\u{:04x}", next);
          ++i;
        } else {
          out += line[i];
        }
      }
      line = std::move(out);
    }
    fmt::print("{}\n", line);
  }
  // A table cell or a one-line value.
  std::string text(std::string_view s) const {
    return visible ? log::visible(s) : std::string(s);
  }
  // A body: lines and tabs kept.
  std::string body(std::string_view s) const {
    return visible ? log::visible(s, log::Newlines::keep) : std::string(s);
  }
};

json::object event_json(const outbox::EventSummary& e) {
  json::array deliveries;
  for (const auto& d : e.deliveries) {
    json::object o;
    o["handler"] = d.handler;
    o["state"] = d.state;
    o["attempts"] = d.attempts;
    o["last_error"] = d.last_error ? json::value(*d.last_error) : json::value(nullptr);
    o["updated_at"] = outbox::rfc3339_us(d.updated_at_us);
    o["delivery"] = d.id;  // the number the server's log lines use
    deliveries.push_back(std::move(o));
  }
  json::object o;
  o["id"] = e.id;
  o["route"] = e.route;
  o["type"] = e.type;
  o["test"] = e.test;
  o["received_at"] = outbox::rfc3339_us(e.received_at_us);
  o["seq"] = e.seq;
  o["unmatched"] = e.unmatched;
  o["deliveries"] = std::move(deliveries);
  return o;
}

// Table cells longer than this (ids, types, route names: senders choose them) are cut with
// an ellipsis, so that one long id does not push every row off the screen. --json has them
// whole.
constexpr std::size_t kMaxCell = 40;

constexpr const char* kRawHelp =
    "Print ids, headers, bodies and messages byte for byte also on a terminal (by default a "
    "terminal shows their control characters escaped, as \\n, \\x1b, \\u009b)";

// Columns a terminal gives `s`: its UTF-8 code points (wide characters aside).
std::size_t columns(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// `s`, or its first kMaxCell - 1 code points and "…".
std::string cell(std::string_view s) {
  if (columns(s) <= kMaxCell) return std::string(s);
  std::size_t points = 0;
  std::size_t end = 0;
  for (; end < s.size(); ++end) {
    if ((static_cast<unsigned char>(s[end]) & 0xC0) != 0x80 && points++ == kMaxCell - 1) break;
  }
  return std::string(s.substr(0, end)) + "\xE2\x80\xA6";  // U+2026 …
}

std::string deliveries_summary(const outbox::EventSummary& e) {
  if (e.unmatched) return "(no handler matched)";
  std::string out;
  for (const auto& d : e.deliveries) {
    if (!out.empty()) out += ' ';
    out += d.handler + ':' + d.state;
    if (d.attempts > 0) out += fmt::format("({})", d.attempts);
  }
  return out.empty() ? "-" : out;
}

int list(sqlite3* db, const outbox::EventFilter& filter, const Output& out) {
  auto events = outbox::list_events(db, filter);
  if (out.json) {
    for (const auto& e : events) out.json_line(event_json(e));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{
      {"RECEIVED", "ROUTE", "ID", "TYPE", "TEST", "DELIVERIES (handler:state(attempts))"}};
  for (const auto& e : events) {
    rows.push_back({outbox::rfc3339_us(e.received_at_us), cell(out.text(e.route)),
                    cell(out.text(e.id)), e.type.empty() ? "-" : cell(out.text(e.type)),
                    e.test ? "test" : "", out.text(deliveries_summary(e))});
  }
  print_table(rows);
  if (events.empty()) fmt::print("(no events)\n");
  return kExitOk;
}

int show(sqlite3* db, const std::string& id, const std::optional<std::string>& route,
         const Output& out) {
  auto e = outbox::get_event(db, id, route);
  bool text = log::valid_utf8(e.body);
  if (out.json) {
    json::object o = event_json(e);
    auto& deliveries = o["deliveries"].as_array();
    for (std::size_t i = 0; i < e.deliveries.size(); ++i) {
      json::array history;
      for (const auto& a : e.deliveries[i].history) {
        json::object h;
        h["attempt"] = a.attempt;
        h["outcome"] = a.outcome;
        h["started_at"] = outbox::rfc3339_us(a.started_at_us);
        h["duration_ms"] = static_cast<double>(a.duration_us) / 1000.0;
        // `message`: what the plugin (or hookd) said, whatever the outcome; `error`: the
        // same for the attempts that failed, null for ok.
        h["message"] = a.error ? json::value(*a.error) : json::value(nullptr);
        h["error"] = a.error && a.outcome != "ok" ? json::value(*a.error) : json::value(nullptr);
        history.push_back(std::move(h));
      }
      deliveries[i].as_object()["history"] = std::move(history);
    }
    json::array headers;
    for (const auto& h : e.headers)
      headers.push_back(json::array{json::string(h.name), json::string(h.value)});
    o["headers"] = std::move(headers);
    o["body"] = text ? e.body : crypto::base64_encode(e.body);
    o["body_encoding"] = text ? "utf-8" : "base64";
    out.json_line(o);
    return kExitOk;
  }
  fmt::print("event     {}\nroute     {}{}\ntype      {}\nreceived  {}\nseq       {}\n",
             out.text(e.id), out.text(e.route), e.test ? " (test)" : "",
             e.type.empty() ? "-" : out.text(e.type), outbox::rfc3339_us(e.received_at_us), e.seq);
  fmt::print("\ndeliveries:\n");
  if (e.deliveries.empty()) {
    fmt::print("  {}\n", e.unmatched ? "none: no handler's types matched" : "none");
  } else {
    std::vector<std::vector<std::string>> rows{
        {"  HANDLER", "DELIVERY", "STATE", "ATTEMPTS", "UPDATED", "LAST ERROR"}};
    for (const auto& d : e.deliveries) {
      rows.push_back({"  " + d.handler, std::to_string(d.id), d.state, std::to_string(d.attempts),
                      outbox::rfc3339_us(d.updated_at_us), out.text(d.last_error.value_or("-"))});
    }
    print_table(rows);
    std::vector<std::vector<std::string>> attempts{
        {"  HANDLER", "#", "OUTCOME", "STARTED", "TOOK", "MESSAGE"}};
    for (const auto& d : e.deliveries) {
      for (const auto& a : d.history) {
        attempts.push_back({"  " + d.handler, std::to_string(a.attempt), a.outcome,
                            outbox::rfc3339_us(a.started_at_us),
                            fmt::format("{:.1f} ms", static_cast<double>(a.duration_us) / 1000.0),
                            out.text(a.error.value_or("-"))});
      }
    }
    if (attempts.size() > 1) {
      fmt::print("\nattempts (the latest {} per delivery):\n", outbox::kAttemptHistory);
      print_table(attempts);
    }
  }
  fmt::print("\nheaders:\n");
  for (const auto& h : e.headers) fmt::print("  {}: {}\n", out.text(h.name), out.text(h.value));
  if (text) {
    fmt::print("\nbody ({} bytes):\n{}\n", e.body.size(), out.body(e.body));
  } else {
    fmt::print("\nbody ({} bytes, not UTF-8, base64):\n{}\n", e.body.size(),
               crypto::base64_encode(e.body));
  }
  return kExitOk;
}

}  // namespace

int with_store(const std::string& config_path, bool writable,
               const std::function<int(const config::Config&, sqlite3*)>& body) {
  // The store and the route names only: no secret of the config has to be at hand.
  auto cfg = load_config(config_path, config::Scope::store);
  if (!cfg) return kExitUserError;
  try {
    outbox::Connection db = outbox::open_store(cfg->storage.path, writable);
    return body(*cfg, db.get());
  } catch (const outbox::QueryError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitUserError;
  } catch (const outbox::SchemaError& e) {
    fmt::print(stderr, "{}: {}\n", cfg->storage.path, e.what());
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", cfg->storage.path, e.what());
    return kExitRuntimeError;
  }
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], columns(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - columns(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

Command add_events(CLI::App& app) {
  auto* sub = app.add_subcommand("events",
                                 "List stored events or show one (works while the "
                                 "server runs)");
  sub->require_subcommand(1);
  struct Options {
    std::string config = kDefaultConfig;
    std::string route;
    std::string state;
    std::string type;
    std::int64_t limit = 50;
    std::string id;
    bool json = false;
    bool raw = false;
  };
  auto o = std::make_shared<Options>();
  auto* list_cmd = sub->add_subcommand(
      "list",
      "List stored events, newest first (cells over 40 characters are cut with …; "
      "--json has them whole)");
  list_cmd->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  list_cmd->add_option("--route", o->route, "Only events of this route");
  list_cmd->add_option("--state", o->state,
                       "Only events with a delivery in this state (pending, running, done, dead)");
  list_cmd->add_option("--type", o->type, "Only events of this type (exact, or prefix.*)");
  list_cmd->add_option("--limit", o->limit, "At most this many events (0: all)")
      ->capture_default_str();
  list_cmd->add_flag("--json", o->json, "One JSON object per line");
  list_cmd->add_flag("--raw", o->raw, kRawHelp);

  auto* show_cmd = sub->add_subcommand("show", "One event: headers, body and its deliveries");
  show_cmd->add_option("id", o->id, "Event id")->required();
  show_cmd->add_option("-c,--config", o->config, "Config file")->capture_default_str();
  show_cmd->add_option("--route", o->route, "The event's route (needed when the id is on several)");
  show_cmd->add_flag("--json", o->json, "One JSON object");
  show_cmd->add_flag("--raw", o->raw, kRawHelp);

  auto opt = [](const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
  };
  return {sub, [o, list_cmd, opt] {
            const Output out{o->json, !o->raw && ::isatty(STDOUT_FILENO) == 1};
            return with_store(o->config, false, [&](const config::Config&, sqlite3* db) {
              if (list_cmd->parsed()) {
                return list(db, {opt(o->route), opt(o->state), opt(o->type), o->limit}, out);
              }
              return show(db, o->id, opt(o->route), out);
            });
          }};
}

}  // namespace hookd::app
