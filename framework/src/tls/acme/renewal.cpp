// When to renew and when to retry, as pure functions of the certificate, the time and a
// random source; see renewal.hpp.
#include "hookd/tls/acme/renewal.hpp"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "hookd/crypto/encoding.hpp"

namespace hookd::tls::acme {
namespace {

constexpr Duration kFirstRetry = std::chrono::seconds(30);
constexpr Duration kMaxRetry = std::chrono::hours(1);

// A random point in [0, span] in the clock's own ticks, so no precision is lost.
SystemClock::duration uniform(SystemClock::duration span, std::mt19937_64& rng) {
  std::uniform_int_distribution<SystemClock::rep> pick(0,
                                                       std::max<SystemClock::rep>(0, span.count()));
  return SystemClock::duration(pick(rng));
}

// Reads `n` digits at `pos` as a number; false when they are not all digits.
bool digits(std::string_view text, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  const char* first = text.data() + pos;
  const auto [ptr, ec] = std::from_chars(first, first + n, out);
  return ec == std::errc() && ptr == first + n && first[0] != '-' && first[0] != '+';
}

// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), 'T' and 'Z' in either
// case. A leap second (:60) is read as :59, which is within a second of the truth.
std::optional<SystemClock::time_point> parse_rfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !digits(text, 11, 2, hour) || text[13] != ':' ||
      !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;

  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (text[pos] == '.') {
    const std::size_t start = ++pos;
    long long scale = 100'000'000;  // the first digit's worth in nanoseconds
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
      scale /= 10;  // digits past nanoseconds add nothing
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const auto local = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                     std::chrono::minutes(minute) + std::chrono::seconds(std::min(second, 59)) +
                     fraction;
  return std::chrono::time_point_cast<SystemClock::duration>(local - offset);
}

struct AkiFree {
  void operator()(AUTHORITY_KEYID* aki) const { AUTHORITY_KEYID_free(aki); }
};

}  // namespace

RenewalTime renewal_time(const CertifiedKey& cert, std::optional<Duration> renew_before,
                         const std::optional<RenewalWindow>& ari, std::mt19937_64& rng) {
  const auto lifetime = cert.not_after - cert.not_before;
  RenewalTime out;
  // Flagged even when ARI decides this time: the setting is still wrong for this
  // certificate and would be used the day the CA stops offering a window.
  out.renew_before_ignored = renew_before && *renew_before >= lifetime;
  if (ari) {
    out.at = ari->start + uniform(ari->end - ari->start, rng);
  } else if (renew_before && !out.renew_before_ignored) {
    out.at = cert.not_after - *renew_before;
  } else {
    out.at = cert.not_after - lifetime / 3;
  }
  return out;
}

Duration retry_delay(int failures, std::mt19937_64& rng) {
  // 30 s doubled (failures - 1) times; from the 8th failure on it is past the hour anyway,
  // and stopping there keeps the shift from overflowing.
  const int doublings = std::clamp(failures, 1, 8) - 1;
  const Duration base = std::min<Duration>(kFirstRetry * (1LL << doublings), kMaxRetry);
  // ±25 % so that many hookd instances that failed together do not retry together.
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  const auto delay =
      Duration(static_cast<Duration::rep>(static_cast<double>(base.count()) * jitter(rng)));
  return std::min(delay, kMaxRetry);
}

std::string ari_certificate_id(const CertifiedKey& cert) {
  if (!cert.leaf) return {};
  const std::unique_ptr<AUTHORITY_KEYID, AkiFree> aki(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(cert.leaf.get(), NID_authority_key_identifier, nullptr, nullptr)));
  if (!aki || aki->keyid == nullptr) return {};
  const std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki->keyid)),
                           static_cast<std::size_t>(ASN1_STRING_length(aki->keyid)));

  // The serial as its DER INTEGER content octets (with the leading zero a positive number
  // with the high bit set needs): the DER encoding minus tag and length.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.leaf.get());
  unsigned char* der = nullptr;
  const int der_len = i2d_ASN1_INTEGER(serial, &der);
  if (der_len < 2) {
    OPENSSL_free(der);
    return {};
  }
  const std::size_t header = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
  std::string serial_bytes;
  if (static_cast<std::size_t>(der_len) > header) {
    serial_bytes.assign(reinterpret_cast<const char*>(der) + header,
                        static_cast<std::size_t>(der_len) - header);
  }
  OPENSSL_free(der);
  if (serial_bytes.empty()) return {};
  return crypto::base64url_encode(key_id) + "." + crypto::base64url_encode(serial_bytes);
}

std::optional<RenewalWindow> parse_renewal_info(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto* window = doc.as_object().if_contains("suggestedWindow");
  if (window == nullptr || !window->is_object()) return std::nullopt;
  const auto* start = window->as_object().if_contains("start");
  const auto* end = window->as_object().if_contains("end");
  if (start == nullptr || end == nullptr || !start->is_string() || !end->is_string()) {
    return std::nullopt;
  }
  const auto text = [](const boost::json::value& v) {
    return std::string_view(v.get_string().data(), v.get_string().size());
  };
  const auto from = parse_rfc3339(text(*start));
  const auto to = parse_rfc3339(text(*end));
  if (!from || !to || *to <= *from) return std::nullopt;
  return RenewalWindow{*from, *to};
}

}  // namespace hookd::tls::acme
