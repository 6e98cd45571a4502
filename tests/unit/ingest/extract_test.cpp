// Extraction of event id and type: RFC 6901 pointers, headers, error messages.
#include "hookd/ingest/extract.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <set>
#include <string>

using namespace hookd;

namespace {
config::FieldRef json_field(std::string pointer) {
  return {config::FieldRef::Kind::json, pointer, "json:" + pointer};
}
config::FieldRef header_field(std::string name) {
  return {config::FieldRef::Kind::header, name, "header:" + name};
}
// One json: field of `body`, with a fresh Extractor (as for one request).
std::optional<std::string> json_get(std::string body, std::string pointer, std::string& error) {
  http::Request req;
  req.body = std::move(body);
  ingest::Extractor x(req);
  return x.get(json_field(std::move(pointer)), error);
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

// issue 24 item 14b: the parse keeps the last of a key's values, a first-wins handler the
// first; an id or type that the two would read differently is refused.
BOOST_AUTO_TEST_CASE(duplicate_keys_on_the_path_are_refused) {
  std::string err;
  BOOST_TEST(!json_get(R"({"id":"first","type":"t","id":"second"})", "/id", err));
  BOOST_TEST(err == R"(field json:/id is ambiguous: the key "id" appears more than once)");
  // Values may be personal data: never in the message.
  BOOST_TEST(err.find("first") == std::string::npos);
  BOOST_TEST(err.find("second") == std::string::npos);

  err.clear();
  BOOST_TEST(!json_get(R"({"data":{"email":"a@example.org","name":"n","email":"b@example.org"}})",
                       "/data/email", err));
  BOOST_TEST(err ==
             R"(field json:/data/email is ambiguous: the key "email" appears more than once )"
             "in /data");
  BOOST_TEST(err.find("example") == std::string::npos);

  // The object that leads there given twice: the first one's value may be another.
  err.clear();
  BOOST_TEST(
      !json_get(R"({"data":{"email":"a@example.org"},"data":{"other":1}})", "/data/email", err));
  BOOST_TEST(err ==
             R"(field json:/data/email is ambiguous: the key "data" appears more than once)");

  // A key is compared as decoded: "i\u0064" is "id", "\u0069\u0064" too.
  err.clear();
  BOOST_TEST(!json_get(R"({"id":"a","i\u0064":"b"})", "/id", err));
  BOOST_TEST(err.find("json:/id is ambiguous") != std::string::npos);
  err.clear();
  BOOST_TEST(!json_get(R"({"\u0069\u0064":"a","x":1,"id":"b"})", "/id", err));
  BOOST_TEST(err.find("json:/id is ambiguous") != std::string::npos);
  BOOST_TEST(*json_get(R"({"id":"a","i\u0065":"b","i\\d":"c"})", "/id", err) == "a");

  // Through an array: only the element the index names is on the path.
  BOOST_TEST(*json_get(R"({"items":[{"id":"a"},{"id":"b","id":"c"}]})", "/items/0/id", err) == "a");
  err.clear();
  BOOST_TEST(!json_get(R"({"items":[{"id":"a"},{"id":"b","id":"c"}]})", "/items/1/id", err));
  BOOST_TEST(err ==
             R"(field json:/items/1/id is ambiguous: the key "id" appears more than once in )"
             "/items/1");

  // Quotes, brackets and backslashes inside skipped strings do not confuse the walk.
  err.clear();
  BOOST_TEST(!json_get(R"({"note":"}\"{[","id":"a","x":"\\","y":[1,"]",{"z":"}"}],"id":"b"})",
                       "/id", err));
  BOOST_TEST(err.find("json:/id is ambiguous") != std::string::npos);
  BOOST_TEST(*json_get(R"({"s":"\",\"id\":\"b","id":"a"})", "/id", err) == "a");
}

// Senders are sloppy: a duplicate that decides neither the id nor the type is no reason to
// refuse the event.
BOOST_AUTO_TEST_CASE(duplicate_keys_off_the_path_are_accepted) {
  std::string err;
  // The same key in a nested object is another key.
  BOOST_TEST(*json_get(R"({"id":"a","x":{"id":"b"}})", "/id", err) == "a");
  // Duplicates in an object not on the path.
  const std::string body = R"({"id":"a","meta":{"k":1,"k":2},"list":[{"id":1,"id":2}],)"
                           R"("data":{"x":{"email":"z","email":"y"},"email":"e","n":[1,2]}})";
  BOOST_TEST(*json_get(body, "/id", err) == "a");
  BOOST_TEST(*json_get(body, "/data/email", err) == "e");
  // Another key given twice at the root.
  const std::string types = R"({"type":"t1","id":"a","type":"t2"})";
  BOOST_TEST(*json_get(types, "/id", err) == "a");
  err.clear();
  BOOST_TEST(!json_get(types, "/type", err));
  BOOST_TEST(err == R"(field json:/type is ambiguous: the key "type" appears more than once)");
  // Unrelated errors keep their messages.
  err.clear();
  BOOST_TEST(!json_get(R"({"id":"a","id":"b")", "/id", err));
  BOOST_TEST(err == "body is not valid JSON (needed for json:/id)");
  BOOST_TEST(!json_get(R"({"data":{"id":1},"data":2})", "/other", err));
  BOOST_TEST(err == "field json:/other is absent");
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
