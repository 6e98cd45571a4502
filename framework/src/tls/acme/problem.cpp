// Reading the problem documents an ACME server answers errors with (RFC 7807, RFC 8555 §6.7);
// the input is the CA's and untrusted, so anything unexpected is skipped, never thrown.
#include "hookd/tls/acme/problem.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace hookd::tls::acme {
namespace {

constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

std::string string_member(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

// The CA's words go into one log line: a newline in them must not start a forged one.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') c = ' ';
  }
  return out;
}

std::optional<Problem> from_value(const boost::json::value& value) {
  const boost::json::object* object = value.if_object();
  if (object == nullptr) return std::nullopt;
  const boost::json::value* type = object->if_contains("type");
  if (type == nullptr || !type->is_string()) return std::nullopt;

  Problem problem;
  problem.type = std::string(type->get_string());
  problem.detail = string_member(*object, "detail");
  if (const boost::json::value* status = object->if_contains("status")) {
    if (status->is_int64() && status->get_int64() >= 0 && status->get_int64() <= 999) {
      problem.status = static_cast<int>(status->get_int64());
    }
  }
  if (const boost::json::value* identifier = object->if_contains("identifier")) {
    if (const boost::json::object* id = identifier->if_object()) {
      const std::string id_type = string_member(*id, "type");
      const std::string id_value = string_member(*id, "value");
      if (!id_type.empty() && !id_value.empty()) problem.identifier = id_type + ":" + id_value;
    }
  }
  if (const boost::json::value* subproblems = object->if_contains("subproblems")) {
    if (const boost::json::array* list = subproblems->if_array()) {
      for (const boost::json::value& entry : *list) {
        if (std::optional<Problem> sub = from_value(entry)) {
          problem.subproblems.push_back(std::move(*sub));
        }
      }
    }
  }
  return problem;
}

}  // namespace

std::string Problem::short_type() const {
  std::string_view t = type;
  if (t.starts_with(kAcmeErrorPrefix) && t.size() > kAcmeErrorPrefix.size()) {
    t.remove_prefix(kAcmeErrorPrefix.size());
  }
  return std::string(t);
}

std::string Problem::summary() const {
  std::string out = one_line(short_type());
  if (!detail.empty()) out += ": " + one_line(detail);
  for (const Problem& sub : subproblems) {
    out += "; ";
    if (!sub.identifier.empty()) out += one_line(sub.identifier) + ": ";
    out += one_line(sub.short_type());
    if (!sub.detail.empty()) out += ": " + one_line(sub.detail);
  }
  return out;
}

std::optional<Problem> parse_problem(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(json, ec);
  if (ec) return std::nullopt;
  return from_value(value);
}

}  // namespace hookd::tls::acme
