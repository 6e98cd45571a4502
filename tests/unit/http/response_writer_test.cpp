// serialize_response: the same bytes as Beast's serializer for the equivalent message, and
// no body or Content-Length where HTTP forbids one.
#include "hookd/http/response_writer.hpp"

#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>

using namespace hookd;
namespace bhttp = boost::beast::http;

namespace {

// What the session sent before it serialized by hand.
std::string with_beast(const http::Response& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  return os.str();
}

}  // namespace

BOOST_AUTO_TEST_CASE(same_bytes_as_beast) {
  auto accepted = http::Response::json(202, R"({"status":"accepted","id":"a"})");
  auto unavailable = http::Response::error(503, "storage unavailable, retry later");
  unavailable.headers.emplace_back("Retry-After", "5");
  auto unauthorized = http::Response::error(401, "unauthorized");
  unauthorized.headers.emplace_back("WWW-Authenticate", R"(Basic realm="hooks")");
  auto empty = http::Response::json(200, "");
  auto odd = http::Response::json(299, "{}");  // no reason phrase Beast knows
  for (const auto* r : {&accepted, &unavailable, &unauthorized, &empty, &odd}) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {false, true}) {
        std::string out = "left over from the previous response";
        http::serialize_response(*r, version, keep_alive, out);
        BOOST_TEST(
            out == with_beast(*r, version, keep_alive),
            "status " << r->status << " version " << version << " keep-alive " << keep_alive);
      }
    }
  }
}

// The answer to HEAD: the head a GET would get, Content-Length included, and not one byte
// of body, which a client (a pooling proxy) would read as the start of the next response.
BOOST_AUTO_TEST_CASE(an_answer_to_head_has_no_body) {
  const auto not_found = http::Response::error(404, "not found");
  std::string get;
  http::serialize_response(not_found, 11, true, get);
  std::string head;
  http::serialize_response(not_found, 11, true, head, true);
  BOOST_TEST(head == get.substr(0, get.size() - not_found.body.size()));
  BOOST_TEST(head.ends_with("Content-Length: " + std::to_string(not_found.body.size()) +
                            "\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(no_body_where_forbidden) {
  http::Response r;
  r.status = 204;
  r.body = "ignored";
  std::string out;
  http::serialize_response(r, 11, true, out);
  BOOST_TEST(out == "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n\r\n");
}
