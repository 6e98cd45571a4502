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
// `to_head`: the answer to a HEAD request, with the Content-Length a GET would get and no
// body (RFC 9110 9.3.2: body bytes would be read as the start of the next response).
void serialize_response(const Response& r, unsigned version, bool keep_alive, std::string& out,
                        bool to_head = false);

}  // namespace hookd::http
