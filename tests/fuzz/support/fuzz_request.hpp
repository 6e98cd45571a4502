// The fuzz targets' request framing: how one fuzzer input becomes an http::Request and the
// time of an auth check. Text, so that seeds can be written and read by hand:
//
//   POST /hook?x=1 203.0.113.7 1614265330      method, target, peer, unix time (each optional)
//   Webhook-Id: msg_1                           header lines "Name: value" (one space dropped)
//   Webhook-Signature: v1,...
//                                               an empty line, then
//   {"body": "bytes up to the end"}             the body, verbatim (CR, LF and NUL included)
//
// Lines end at '\n'; a '\r' before it is kept in the header value (it is what a client
// could send, and it must not confuse the items).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hookd/auth/check.hpp"
#include "hookd/http/request.hpp"

namespace hookd::fuzz {

struct FramedRequest {
  http::Request request;  // method, target and headers view the input; body, peer are copies
  auth::Context context;  // `now` from the first line, else 1614265330 (the vectors' era)
};

// Never fails: any bytes give some request. The views stay valid while `input` does.
FramedRequest frame_request(std::string_view input);

std::string_view as_text(const std::uint8_t* data, std::size_t size);

}  // namespace hookd::fuzz
