// hookd's bundled `jofi` handler: keeps JOFI participants' assessment status in its own
// SQLite file and records (and mails, when `smtp` is set) a notification per completion.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "hookd/plugin.hpp"
#include "mail.hpp"
#include "plugin_config.hpp"
#include "settings.hpp"
#include "smtp_client.hpp"
#include "store.hpp"

namespace hookd::plugins::jofi {
namespace {

constexpr std::string_view kCompleted = "test_taker.assessment_completed";

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a pointer finds: nothing (absent or null), a scalar as text, or something else.
struct Found {
  enum class Kind { absent, scalar, other } kind = Kind::absent;
  std::string text;
};

Found find(const boost::json::value& doc, const std::string& pointer) {
  boost::system::error_code ec;
  const boost::json::value* v = doc.find_pointer(pointer, ec);
  Found out;
  if (v == nullptr || v->is_null()) return out;
  out.kind = Found::Kind::scalar;
  if (v->is_string()) {
    out.text = std::string(v->get_string());
  } else if (v->is_int64()) {
    out.text = std::to_string(v->get_int64());
  } else if (v->is_uint64()) {
    out.text = std::to_string(v->get_uint64());
  } else if (v->is_double()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v->get_double());
    out.text = buf;
  } else if (v->is_bool()) {
    out.text = v->get_bool() ? "true" : "false";
  } else {
    out.kind = Found::Kind::other;
  }
  return out;
}

// An optional field: absent, null, empty or not a scalar all read as "not given".
std::optional<std::string> optional_field(const boost::json::value& doc,
                                          const std::string& pointer) {
  Found f = find(doc, pointer);
  if (f.kind != Found::Kind::scalar || f.text.empty()) return std::nullopt;
  return std::move(f.text);
}

// "invited" for test_taker.invited, "completed" for test_taker.assessment_completed.
std::string status_from_type(std::string_view type) {
  std::string_view suffix = type.substr(type.rfind('.') + 1);
  if (suffix.substr(0, 11) == "assessment_") suffix.remove_prefix(11);
  return std::string(suffix);
}

}  // namespace

class Jofi {
 public:
  explicit Jofi(std::string_view yaml) {
    Settings settings = read_settings(yaml);
    smtp_ = std::move(settings.smtp);
    pointers_ = std::move(settings.pointers);
    try {
      store_ = std::make_unique<Store>(settings.database);
    } catch (const StoreError& e) {
      throw ConfigError(std::string("jofi: database: ") + e.what());
    }
  }

  Outcome handle(const Event& event) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(event.body(), ec);
    if (ec) return Outcome::fail("jofi: body is not JSON: " + ec.message());

    std::string type(event.type());
    if (type.empty()) type = optional_field(doc, pointers_.type).value_or("");
    if (type.rfind("invitation.", 0) != 0 && type.rfind("test_taker.", 0) != 0) {
      return Outcome::ok("jofi: ignored event type '" + type + "'");
    }

    Progress p;
    p.route = std::string(event.route());
    p.event_id = std::string(event.id());
    p.event_type = type;
    p.received_at_us = event.received_at_us();
    p.completed = type == kCompleted;
    for (auto [name, pointer, field] :
         {std::tuple{"participant_id", &pointers_.participant_id, &p.participant_id},
          {"assessment_id", &pointers_.assessment_id, &p.assessment_id}}) {
      const Found f = find(doc, *pointer);
      if (f.kind == Found::Kind::other || (f.kind == Found::Kind::scalar && f.text.empty())) {
        return Outcome::fail("jofi: " + std::string(name) + " at " + *pointer +
                             " must be a non-empty string or number");
      }
      if (f.kind == Found::Kind::absent) {
        return Outcome::fail("jofi: missing " + std::string(name) + " at JSON pointer " + *pointer);
      }
      *field = f.text;
    }
    p.status = optional_field(doc, pointers_.status).value_or(status_from_type(type));
    p.participant_email = optional_field(doc, pointers_.participant_email);
    p.participant_name = optional_field(doc, pointers_.participant_name);
    p.assessment_name = optional_field(doc, pointers_.assessment_name);
    p.score = optional_field(doc, pointers_.score);

    try {
      const bool applied = store_->apply(p, now_us());
      const std::string done = applied ? "jofi: applied" : "jofi: already applied";
      if (!p.completed) return Outcome::ok(done);
      if (!smtp_) return Outcome::ok(done + "; notification recorded (no smtp configured)");
      return mail(p.route, p.event_id, done);
    } catch (const StoreError& e) {
      return Outcome::retry(std::string("jofi: ") + e.what());
    }
  }

 private:
  // Mails the event's notification unless it was sent already; a failure leaves it unsent
  // for the next attempt of the same event.
  Outcome mail(const std::string& route, const std::string& event_id, const std::string& done) {
    const auto lease = 2 * smtp_->settings.timeout + std::chrono::seconds(5);
    const std::int64_t now = now_us();
    const Claim claim =
        store_->claim(route, event_id, now,
                      now + std::chrono::duration_cast<std::chrono::microseconds>(lease).count());
    switch (claim.state) {
      case Claim::State::none:
        return Outcome::ok(done);
      case Claim::State::sent:
        return Outcome::ok(done + "; notification mailed before");
      case Claim::State::busy:
        return Outcome::retry("jofi: notification is being sent by another attempt",
                              std::chrono::milliseconds((claim.busy_until_us - now) / 1000 + 1));
      case Claim::State::claimed:
        break;
    }
    const Notification& n = claim.notification;
    try {
      smtp_send(smtp_->settings, smtp_->envelope_from, smtp_->envelope_to,
                compose_mail(n, smtp_->from, smtp_->to, now_us()));
    } catch (const SmtpError& e) {
      store_->mark_failed(n.id, e.what());
      return Outcome::retry(e.what());
    }
    store_->mark_sent(n.id, now_us());
    return Outcome::ok(done + "; notification mailed");
  }

  std::optional<Smtp> smtp_;
  Pointers pointers_;
  std::unique_ptr<Store> store_;
};

}  // namespace hookd::plugins::jofi

HOOKD_PLUGIN(hookd::plugins::jofi::Jofi, "jofi")
