// Base64 (RFC 4648 test vectors), base64url, hex, constant-time compare, SHA-256.
#include <boost/test/unit_test.hpp>

#include "hookd/crypto/compare.hpp"
#include "hookd/crypto/encoding.hpp"

using namespace hookd::crypto;

BOOST_AUTO_TEST_SUITE(crypto_encoding)

BOOST_AUTO_TEST_CASE(rfc4648_vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    BOOST_TEST(base64_encode(plain) == encoded);
    BOOST_TEST(*base64_decode(encoded) == plain);
  }
}

BOOST_AUTO_TEST_CASE(base64_is_strict) {
  BOOST_TEST(!base64_decode("Zm9"));
  BOOST_TEST(!base64_decode("Zm9v\n"));
  BOOST_TEST(!base64_decode("Zm=v"));
  BOOST_TEST(!base64_decode("Zm9-"));
  BOOST_TEST(!base64_decode("===="));
}

BOOST_AUTO_TEST_CASE(base64url) {
  std::string bytes("\xfb\xff\xfe", 3);
  BOOST_TEST(base64url_encode(bytes) == "-__-");
  BOOST_TEST(*base64url_decode("-__-") == bytes);
  BOOST_TEST(*base64url_decode("Zm8") == "fo");
  BOOST_TEST(*base64url_decode("Zm8=") == "fo");
  BOOST_TEST(!base64url_decode("Zm8+"));
  BOOST_TEST(!base64url_decode("Z"));
}

BOOST_AUTO_TEST_CASE(hex) {
  BOOST_TEST(hex_encode(std::string("\x00\xab\xff", 3)) == "00abff");
  BOOST_TEST(*hex_decode("00ABff") == std::string("\x00\xab\xff", 3));
  BOOST_TEST(!hex_decode("0"));
  BOOST_TEST(!hex_decode("zz"));
}

BOOST_AUTO_TEST_CASE(compare_and_digest) {
  BOOST_TEST(constant_time_equal("abc", "abc"));
  BOOST_TEST(!constant_time_equal("abc", "abd"));
  BOOST_TEST(!constant_time_equal("abc", "abcd"));
  BOOST_TEST(hex_encode(sha256("abc")) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_SUITE_END()
