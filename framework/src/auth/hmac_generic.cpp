// generic: a custom sender's HMAC — header, algorithm, hex|base64, optional prefix, and a
// payload template over {body}, {timestamp} and {id}, compiled once at build time.
// The template must split one way only: placeholders are separated by literal text, an id
// containing a character of the text next to {id} is refused, and the timestamp is digits
// next to text that is not; otherwise "{timestamp}.{id}.{body}" would let the start of the
// body move into the id and a captured request pass again as a new event.
#include <array>

#include "hmac_schemes.hpp"
#include "hookd/crypto/encoding.hpp"

namespace hookd::auth::hmac {
namespace {

constexpr std::size_t kMaxPieces = 16;

struct Piece {
  enum class Kind { literal, body, timestamp, id };
  Kind kind;
  std::string text;  // literal only
};

// "{timestamp}.{body}" → [timestamp, ".", body]. An unknown {name} (lower-case letters) is
// an error so a typo does not silently sign the literal text; other braces are literal.
std::vector<Piece> compile(const std::string& payload, const config::Location& w) {
  std::vector<Piece> pieces;
  std::string literal;
  for (std::size_t i = 0; i < payload.size();) {
    std::optional<Piece::Kind> kind;
    std::size_t length = 0;
    for (auto [name, k] : {std::pair{std::string_view("{body}"), Piece::Kind::body},
                           std::pair{std::string_view("{timestamp}"), Piece::Kind::timestamp},
                           std::pair{std::string_view("{id}"), Piece::Kind::id}}) {
      if (std::string_view(payload).substr(i).starts_with(name)) {
        kind = k;
        length = name.size();
      }
    }
    if (!kind) {
      if (payload[i] == '{') {
        auto close = payload.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", i + 1);
        if (close != std::string::npos && close > i + 1 && payload[close] == '}') {
          throw BuildError(w, "hmac: payload: unknown placeholder " +
                                  payload.substr(i, close - i + 1) +
                                  " (expected {body}, {timestamp} or {id})");
        }
      }
      literal += payload[i++];
      continue;
    }
    if (!literal.empty()) pieces.push_back({Piece::Kind::literal, std::move(literal)});
    literal.clear();
    pieces.push_back({*kind, {}});
    i += length;
  }
  if (!literal.empty()) pieces.push_back({Piece::Kind::literal, std::move(literal)});
  if (pieces.size() > kMaxPieces) {
    throw BuildError(w, "hmac: payload: more than " + std::to_string(kMaxPieces) + " pieces");
  }
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].kind == Piece::Kind::literal) continue;
    if (i + 1 < pieces.size() && pieces[i + 1].kind != Piece::Kind::literal) {
      throw BuildError(w, "hmac: payload: put a separator between two placeholders (as in "
                          "\"{timestamp}.{body}\"), or the signed text splits more than one way");
    }
    if (pieces[i].kind == Piece::Kind::timestamp &&
        ((i > 0 && is_digit(pieces[i - 1].text.back())) ||
         (i + 1 < pieces.size() && is_digit(pieces[i + 1].text.front())))) {
      throw BuildError(w, "hmac: payload: the text next to {timestamp} must not be a digit");
    }
  }
  return pieces;
}

// The characters an id must not contain: those of the literal text on either side of
// each {id}, so that the id's end (and start) in the signed text is unambiguous.
std::string id_separators(const std::vector<Piece>& pieces) {
  std::string out;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].kind != Piece::Kind::id) continue;
    if (i > 0) out += pieces[i - 1].text;
    if (i + 1 < pieces.size()) out += pieces[i + 1].text;
  }
  return out;
}

bool uses(const std::vector<Piece>& pieces, Piece::Kind kind) {
  for (const auto& p : pieces) {
    if (p.kind == kind) return true;
  }
  return false;
}

class Generic final : public Check {
 public:
  Generic(KeySet keys, const config::HmacAuthConfig& c, std::vector<Piece> pieces)
      : keys_(std::move(keys)),
        header_(c.header),
        base64_(c.encoding == "base64"),
        prefix_(c.prefix),
        timestamp_header_(c.timestamp_header),
        id_header_(c.id_header),
        tolerance_(c.tolerance),
        id_separators_(id_separators(pieces)),
        pieces_(std::move(pieces)) {}

  Result check(const http::Request& request, const Context& context) const override {
    auto header = request.header(header_);
    if (!header) return missing();
    std::string_view timestamp, id;
    std::optional<std::int64_t> seconds;
    if (!timestamp_header_.empty()) {
      auto t = request.header(timestamp_header_);
      if (!t) return missing();
      timestamp = trim(*t);
      seconds = parse_unix_seconds(timestamp);
      if (!seconds) return bad_signature();
    }
    if (!id_header_.empty()) {
      auto i = request.header(id_header_);
      if (!i) return missing();
      id = trim(*i);
      if (id.empty() || id.find_first_of(id_separators_) != std::string_view::npos) {
        return bad_signature();
      }
    }
    std::string_view value = trim(*header);
    if (!value.starts_with(prefix_)) return bad_signature();
    value.remove_prefix(prefix_.size());
    auto presented = base64_ ? crypto::base64_decode(value) : crypto::hex_decode(value);
    if (!presented) return bad_signature();

    std::array<std::string_view, kMaxPieces> parts;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      switch (pieces_[i].kind) {
        case Piece::Kind::literal:
          parts[i] = pieces_[i].text;
          break;
        case Piece::Kind::body:
          parts[i] = request.body;
          break;
        case Piece::Kind::timestamp:
          parts[i] = timestamp;
          break;
        case Piece::Kind::id:
          parts[i] = id;
          break;
      }
    }
    auto macs = keys_.macs(std::span<const std::string_view>(parts.data(), pieces_.size()));
    if (!matches(macs, *presented)) return bad_signature();
    if (seconds && !within_tolerance(*seconds, context, tolerance_)) return stale();
    Result r;
    r.message_id = id;  // signed: the route dedupes on it
    return r;
  }
  Result check_head(const http::Request& head, const Context&) const override {
    for (const std::string* name : {&header_, &timestamp_header_, &id_header_}) {
      if (!name->empty() && !head.header(*name)) return missing();
    }
    return Result::ok();
  }

 private:
  KeySet keys_;
  std::string header_;
  bool base64_;
  std::string prefix_;
  std::string timestamp_header_;
  std::string id_header_;
  config::Duration tolerance_;
  std::string id_separators_;
  std::vector<Piece> pieces_;
};

}  // namespace

std::unique_ptr<Check> make_generic(const config::HmacAuthConfig& c, const config::Location& w) {
  if (c.header.empty()) throw BuildError(w, "hmac: generic needs 'header' (the signature header)");
  auto algorithm = crypto::parse_mac_algorithm(c.algorithm);
  if (!algorithm) {
    throw BuildError(w,
                     "hmac: algorithm: expected sha256, sha512 or sha1, got '" + c.algorithm + "'");
  }
  if (c.encoding != "hex" && c.encoding != "base64") {
    throw BuildError(w, "hmac: encoding: expected hex or base64, got '" + c.encoding + "'");
  }
  auto pieces = compile(c.payload, w);
  if (!uses(pieces, Piece::Kind::body)) {
    throw BuildError(w, "hmac: payload: must contain {body}, or the body is not authenticated");
  }
  bool ts = uses(pieces, Piece::Kind::timestamp), id = uses(pieces, Piece::Kind::id);
  if (ts != !c.timestamp_header.empty()) {
    throw BuildError(w, ts ? "hmac: payload uses {timestamp} but no 'timestamp_header' is set"
                           : "hmac: timestamp_header is set but the payload does not contain "
                             "{timestamp}, so the timestamp would not be signed");
  }
  if (id != !c.id_header.empty()) {
    throw BuildError(w, id ? "hmac: payload uses {id} but no 'id_header' is set"
                           : "hmac: id_header is set but the payload does not contain {id}");
  }
  return std::make_unique<Generic>(plain_keys(c, *algorithm, w), c, std::move(pieces));
}

}  // namespace hookd::auth::hmac
