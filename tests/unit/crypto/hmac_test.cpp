// HmacKey: RFC 2202 / RFC 4231 vectors, Stripe's HMAC-primitive vectors, feeding in
// pieces, and per-thread context reuse (correctness only; nothing here measures time).
#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hookd/crypto/encoding.hpp"
#include "hookd/crypto/hmac.hpp"

using namespace hookd::crypto;

namespace {

std::string hex_mac(const HmacKey& key, std::string_view data) {
  return hex_encode(key.mac(data).view());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_hmac)

BOOST_AUTO_TEST_CASE(algorithm_names_and_sizes) {
  BOOST_TEST((parse_mac_algorithm("sha1") == MacAlgorithm::sha1));
  BOOST_TEST((parse_mac_algorithm("sha256") == MacAlgorithm::sha256));
  BOOST_TEST((parse_mac_algorithm("sha512") == MacAlgorithm::sha512));
  BOOST_TEST(!parse_mac_algorithm("SHA256"));
  BOOST_TEST(!parse_mac_algorithm("md5"));
  BOOST_TEST(mac_size(MacAlgorithm::sha1) == 20u);
  BOOST_TEST(mac_size(MacAlgorithm::sha256) == 32u);
  BOOST_TEST(mac_size(MacAlgorithm::sha512) == 64u);
}

// RFC 4231 test cases 1, 2 and 6 (SHA-256, SHA-512); RFC 2202 cases 1 and 2 (SHA-1).
BOOST_AUTO_TEST_CASE(rfc_vectors) {
  const std::string k1(20, '\x0b');
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha256, k1), "Hi There") ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha512, k1), "Hi There") ==
             "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
             "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha1, k1), "Hi There") ==
             "b617318655057264e28bc0b6fb378c8ef146be00");

  const std::string jefe = "what do ya want for nothing?";
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha256, "Jefe"), jefe) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha512, "Jefe"), jefe) ==
             "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
             "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha1, "Jefe"), jefe) ==
             "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

  // A key longer than the block size is hashed first (RFC 4231 case 6).
  BOOST_TEST(hex_mac(HmacKey(MacAlgorithm::sha256, std::string(131, '\xaa')),
                     "Test Using Larger Than Block-Size Key - Hash Key First") ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// stripe-node test/crypto/helpers.ts, key `test_secret`. The emoji vector is the four
// UTF-8 bytes of U+1F600 alone (the quotes in signature-vectors.md delimit it).
BOOST_AUTO_TEST_CASE(stripe_primitive_vectors) {
  HmacKey key(MacAlgorithm::sha256, "test_secret");
  BOOST_TEST(hex_mac(key, "") ==
             "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd");
  BOOST_TEST(hex_mac(key, R"({"obj1":"hello","obj2":"world"})") ==
             "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363");
  BOOST_TEST(hex_mac(key, "\xF0\x9F\x98\x80") ==
             "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43");
}

BOOST_AUTO_TEST_CASE(pieces_equal_concatenation) {
  HmacKey key(MacAlgorithm::sha256, "k");
  std::string body(3000, 'x');
  auto whole = key.mac("1614265330." + body);
  auto pieces = key.mac({"1614265330", ".", body});
  BOOST_TEST(whole.view() == pieces.view());
  // Empty pieces change nothing.
  BOOST_TEST(key.mac({"", "1614265330", "", ".", body, ""}).view() == whole.view());
  BOOST_TEST(whole.size == 32u);
}

BOOST_AUTO_TEST_CASE(verify_is_exact) {
  HmacKey key(MacAlgorithm::sha256, "Jefe");
  auto mac = std::string(key.mac("what do ya want for nothing?").view());
  BOOST_TEST(key.verify({"what do ya want", " for nothing?"}, mac));
  std::string flipped = mac;
  flipped[5] ^= 0x01;
  BOOST_TEST(!key.verify({"what do ya want for nothing?"}, flipped));
  BOOST_TEST(!key.verify({"what do ya want for nothing?"}, mac.substr(0, 31)));
  BOOST_TEST(!key.verify({"what do ya want for nothing!"}, mac));
}

// The cached per-thread context must never leak one key's state into another's MAC:
// interleave keys, reuse each many times, and destroy / create keys in between.
BOOST_AUTO_TEST_CASE(reused_contexts_stay_correct) {
  HmacKey a(MacAlgorithm::sha256, "Jefe");
  HmacKey b(MacAlgorithm::sha1, std::string(20, '\x0b'));
  for (int i = 0; i < 50; ++i) {
    BOOST_TEST(hex_mac(a, "what do ya want for nothing?") ==
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    BOOST_TEST(hex_mac(b, "Hi There") == "b617318655057264e28bc0b6fb378c8ef146be00");
    // A short-lived key (as after a reload) whose cached context is dropped later.
    std::optional<HmacKey> temp(std::in_place, MacAlgorithm::sha256, "test_secret");
    BOOST_TEST(hex_mac(*temp, "") ==
               "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd");
  }
  // Copies share the key.
  HmacKey copy = a;
  BOOST_TEST(copy.mac("x").view() == a.mac("x").view());
}

BOOST_AUTO_TEST_CASE(concurrent_use_from_many_threads) {
  HmacKey a(MacAlgorithm::sha256, "Jefe");
  HmacKey b(MacAlgorithm::sha512, "Jefe");
  const std::string data = "what do ya want for nothing?";
  const std::string want_a = hex_mac(a, data), want_b = hex_mac(b, data);
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (hex_mac(a, data) != want_a || hex_mac(b, data) != want_b) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) BOOST_TEST(f == 0);
}

BOOST_AUTO_TEST_SUITE_END()
