// HTTP/1.x wire form of a Response, written into a caller's reused buffer: a session sends
// each answer as one buffer (one TLS record) without building a Beast message per response.
#pragma once

#include <string>

#include "hookd/http/request.hpp"

namespace hookd::http {

// Replaces `out` with the status line, Content-Type, the extra headers, Connection when the
// version's default is not what `keep_alive` asks for, Content-Length and the body (no body
// and no Content-Length for 1xx, 204 and 304). `version` is 10 or 11, as Beast counts.
// The same bytes as Beast's serializer for the equivalent message; reuses out's capacity.
void serialize_response(const Response& r, unsigned version, bool keep_alive, std::string& out);

}  // namespace hookd::http
