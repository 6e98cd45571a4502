// The small, Beast-free view of an HTTP request and the response the layers above
// net/ produce. Auth, ingest and the admin endpoints see only these types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd::http {

// A request as read by a session. Views point into the session's parser and stay valid
// while the request is being handled. `body` is owned here so it can be moved into the
// outbox without a copy.
struct Request {
  std::string_view method;
  std::string_view target;  // path and query as sent
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // in arrival order
  std::string body;
  std::string peer;  // the client's IP address, textual

  std::string_view path() const;
  // First header with this name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  bool close = false;  // close the connection after this response

  static Response json(unsigned status, std::string body);
  // `{"error":"<message>"}`, with the message JSON-escaped.
  static Response error(unsigned status, std::string_view message);
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace hookd::http
