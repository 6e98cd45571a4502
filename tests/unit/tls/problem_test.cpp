// Problem documents as CAs send them: RFC 8555 §6.7 / §6.7.1 examples, and input that is
// not a problem document at all.
#include <boost/test/unit_test.hpp>
#include <string>

#include "hookd/tls/acme/problem.hpp"

using namespace hookd::tls::acme;

BOOST_AUTO_TEST_SUITE(acme_problem)

BOOST_AUTO_TEST_CASE(bad_nonce) {
  auto p = parse_problem(R"({
    "type": "urn:ietf:params:acme:error:badNonce",
    "detail": "JWS has an invalid anti-replay nonce",
    "status": 400
  })");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->type == "urn:ietf:params:acme:error:badNonce");
  BOOST_TEST(p->short_type() == "badNonce");
  BOOST_TEST(p->detail == "JWS has an invalid anti-replay nonce");
  BOOST_TEST(p->status == 400);
  BOOST_TEST(p->identifier.empty());
  BOOST_TEST(p->subproblems.empty());
  BOOST_TEST(p->summary() == "badNonce: JWS has an invalid anti-replay nonce");
}

// RFC 8555 §6.7.1.
BOOST_AUTO_TEST_CASE(subproblems) {
  auto p = parse_problem(R"({
    "type": "urn:ietf:params:acme:error:malformed",
    "detail": "Some of the identifiers requested were rejected",
    "subproblems": [
      {
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "Invalid underscore in DNS name \"_example.org\"",
        "identifier": {"type": "dns", "value": "_example.org"}
      },
      {
        "type": "urn:ietf:params:acme:error:rejectedIdentifier",
        "detail": "This CA will not issue for \"example.net\"",
        "identifier": {"type": "dns", "value": "example.net"}
      }
    ]
  })");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->status == 0);
  BOOST_REQUIRE(p->subproblems.size() == 2u);
  BOOST_TEST(p->subproblems[0].identifier == "dns:_example.org");
  BOOST_TEST(p->subproblems[1].short_type() == "rejectedIdentifier");
  BOOST_TEST(p->subproblems[1].detail == "This CA will not issue for \"example.net\"");
  BOOST_TEST(p->summary() ==
             "malformed: Some of the identifiers requested were rejected; "
             "dns:_example.org: malformed: Invalid underscore in DNS name \"_example.org\"; "
             "dns:example.net: rejectedIdentifier: This CA will not issue for \"example.net\"");
}

BOOST_AUTO_TEST_CASE(not_a_problem_document) {
  for (const char* junk : {"", "not json", "null", "[]", "{}", R"({"type":5})",
                           R"({"detail":"no type"})", R"({"type":"x")", "<html>502</html>"}) {
    BOOST_TEST(!parse_problem(junk).has_value(), junk);
  }
}

BOOST_AUTO_TEST_CASE(odd_but_usable_documents) {
  // A non-ACME type stays whole; members of the wrong type are ignored, not fatal.
  auto p = parse_problem(
      R"({"type":"about:blank","status":"500","detail":7,"subproblems":[1,{"type":"t"}]})");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->short_type() == "about:blank");
  BOOST_TEST(p->status == 0);
  BOOST_TEST(p->detail.empty());
  BOOST_REQUIRE(p->subproblems.size() == 1u);
  BOOST_TEST(p->summary() == "about:blank; t");

  // The prefix alone is not shortened to nothing.
  Problem bare{"urn:ietf:params:acme:error:", "", 0, "", {}};
  BOOST_TEST(bare.short_type() == "urn:ietf:params:acme:error:");
}

BOOST_AUTO_TEST_CASE(summary_stays_on_one_line) {
  auto p = parse_problem(
      R"({"type":"urn:ietf:params:acme:error:serverInternal","detail":"a\nFAKE LOG LINE\r"})");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->detail == "a\nFAKE LOG LINE\r");  // kept as sent
  BOOST_TEST(p->summary() == "serverInternal: a FAKE LOG LINE ");
}

BOOST_AUTO_TEST_SUITE_END()
