// Extraction of event id and type: RFC 6901 pointers, headers, error messages.
#include "hookd/ingest/extract.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

using namespace hookd;

namespace {
config::FieldRef json_field(std::string pointer) {
  return {config::FieldRef::Kind::json, pointer, "json:" + pointer};
}
config::FieldRef header_field(std::string name) {
  return {config::FieldRef::Kind::header, name, "header:" + name};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ingest_extract)

BOOST_AUTO_TEST_CASE(rfc6901_examples) {
  // The examples of RFC 6901 section 5.
  auto doc = boost::json::parse(R"({"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,
                                    "i\\j":5,"k\"l":6," ":7,"m~n":8})");
  using ingest::resolve_pointer;
  BOOST_TEST(resolve_pointer(doc, "") == &doc);
  BOOST_TEST(*resolve_pointer(doc, "/foo/0") == boost::json::value("bar"));
  BOOST_TEST(*resolve_pointer(doc, "/") == boost::json::value(0));
  BOOST_TEST(*resolve_pointer(doc, "/a~1b") == boost::json::value(1));
  BOOST_TEST(*resolve_pointer(doc, "/c%d") == boost::json::value(2));
  BOOST_TEST(*resolve_pointer(doc, "/i\\j") == boost::json::value(5));
  BOOST_TEST(*resolve_pointer(doc, "/ ") == boost::json::value(7));
  BOOST_TEST(*resolve_pointer(doc, "/m~0n") == boost::json::value(8));
  BOOST_TEST(resolve_pointer(doc, "/foo/2") == nullptr);
  BOOST_TEST(resolve_pointer(doc, "/foo/01") == nullptr);
  BOOST_TEST(resolve_pointer(doc, "/foo/-") == nullptr);
  BOOST_TEST(resolve_pointer(doc, "/nope") == nullptr);
  BOOST_TEST(resolve_pointer(doc, "foo") == nullptr);
}

BOOST_AUTO_TEST_CASE(json_fields) {
  http::Request req;
  req.body = R"({"id":"evt_1","n":42,"data":{"participant_id":"p-9"},"f":1.5,"e":""})";
  ingest::Extractor x(req);
  std::string err;
  BOOST_TEST(*x.get(json_field("/id"), err) == "evt_1");
  BOOST_TEST(*x.get(json_field("/n"), err) == "42");
  BOOST_TEST(*x.get(json_field("/data/participant_id"), err) == "p-9");
  BOOST_TEST(!x.get(json_field("/f"), err));
  BOOST_TEST(err.find("json:/f") != std::string::npos);
  BOOST_TEST(!x.get(json_field("/e"), err));
  BOOST_TEST(err.find("empty") != std::string::npos);
  BOOST_TEST(!x.get(json_field("/missing"), err));
  BOOST_TEST(err == "field json:/missing is absent");
}

BOOST_AUTO_TEST_CASE(body_not_json) {
  http::Request req;
  req.body = "id=1";
  ingest::Extractor x(req);
  std::string err;
  BOOST_TEST(!x.get(json_field("/id"), err));
  BOOST_TEST(err == "body is not valid JSON (needed for json:/id)");
}

BOOST_AUTO_TEST_CASE(header_fields_are_case_insensitive) {
  http::Request req;
  req.headers = {{"x-github-delivery", "abc"}, {"X-Empty", ""}};
  ingest::Extractor x(req);
  std::string err;
  BOOST_TEST(*x.get(header_field("X-GitHub-Delivery"), err) == "abc");
  BOOST_TEST(!x.get(header_field("X-Empty"), err));
  BOOST_TEST(!x.get(header_field("X-Missing"), err));
  BOOST_TEST(err.find("header:X-Missing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(generated_ids_are_uuid_v7_and_unique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = ingest::generate_event_id();
    BOOST_TEST_REQUIRE(id.size() == 36u);
    BOOST_TEST(id[14] == '7');
    BOOST_TEST((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
