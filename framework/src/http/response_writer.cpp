// The HTTP/1.x wire form of a Response (see response_writer.hpp).
#include "hookd/http/response_writer.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace hookd::http {
namespace {

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

}  // namespace

void serialize_response(const Response& r, unsigned version, bool keep_alive, std::string& out,
                        bool to_head) {
  // 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110 8.6).
  const bool bodyless = r.status / 100 == 1 || r.status == 204 || r.status == 304;
  out.clear();
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, r.status);
  out += ' ';
  out += boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  // HTTP/1.1 is persistent unless told otherwise, HTTP/1.0 only when told so.
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n";
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n";
  if (!bodyless) {
    out += "Content-Length: ";
    append_number(out, r.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (!bodyless && !to_head) out += r.body;
}

}  // namespace hookd::http
