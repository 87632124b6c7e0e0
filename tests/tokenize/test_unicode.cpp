// Unicode support: UTF-8 codec edge cases (Unicode Standard, table 3-7 and the
// "maximal subpart" substitution practice), general categories and White_Space (UCD
// facts), normalization (examples from UAX #15 and invariants), and the peer's "NFD".
#include <string>

#include "catch.hpp"
#include "tokenize_support.hpp"

#include <mmllm/tokenize/unicode.hpp>

using mmllm::normalization_form;
using mmllm::unicode_category;

TEST_CASE("UTF-8 decoding follows the standard's well-formedness table", "[tokenize][unicode]") {
  CHECK(mmllm::utf8_is_valid("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99"));
  CHECK_FALSE(mmllm::utf8_is_valid("\xC0\xAF"));          // overlong
  CHECK_FALSE(mmllm::utf8_is_valid("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(mmllm::utf8_is_valid("\xF4\x90\x80\x80"));  // > U+10FFFF
  CHECK_FALSE(mmllm::utf8_is_valid("\xE2\x82"));          // truncated
  // Maximal subparts: "\xE2\x82" + "A" → U+FFFD A; "\xF0\x80" → two U+FFFD.
  CHECK(mmllm::utf8_sanitize("\xE2\x82"
                             "A") ==
        "\xEF\xBF\xBD"
        "A");
  CHECK(mmllm::utf8_sanitize("\xF0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(mmllm::utf8_incomplete_tail("ab\xF0\x9F\xA6") == 3);
  CHECK(mmllm::utf8_incomplete_tail("ab\xF0\x9F\xA6\x99") == 0);
  CHECK(mmllm::utf8_incomplete_tail("ab\xE0\x80") == 0);  // can never complete
  CHECK(mmllm::utf8_incomplete_tail("\xC3") == 1);
  std::string s;
  for (const char32_t c : {U'\0', U'\x7F', U'\x80', U'\x7FF', U'\x800', U'\xFFFF', U'\x10000', U'\x10FFFF'})
    mmllm::utf8_append(s, c);
  CHECK(mmllm::utf8_to_code_points(s) ==
        std::u32string{0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF});
}

TEST_CASE("general categories and White_Space", "[tokenize][unicode]") {
  CHECK(mmllm::unicode_category_of(U'A') == unicode_category::Lu);
  CHECK(mmllm::unicode_category_of(U'\u01C5') == unicode_category::Lt);
  CHECK(mmllm::unicode_category_of(U'\u02B0') == unicode_category::Lm);
  CHECK(mmllm::unicode_category_of(U'\u4E2D') == unicode_category::Lo);
  CHECK(mmllm::unicode_category_of(U'\u0301') == unicode_category::Mn);
  CHECK(mmllm::unicode_category_of(U'\u0661') == unicode_category::Nd);
  CHECK(mmllm::unicode_category_of(U'\u216B') == unicode_category::Nl);
  CHECK(mmllm::unicode_category_of(U'\u00BD') == unicode_category::No);
  CHECK(mmllm::unicode_category_of(U'~') == unicode_category::Sm);
  CHECK(mmllm::unicode_category_of(U'\U0001F999') == unicode_category::So);
  CHECK(mmllm::unicode_category_of(U'\u200B') == unicode_category::Cf);
  CHECK(mmllm::unicode_category_of(U'\uE000') == unicode_category::Co);
  CHECK(mmllm::unicode_category_of(U'\u0378') == unicode_category::Cn);
  CHECK(mmllm::unicode_category_of(0x110000) == unicode_category::Cn);
  // Unicode 15.1 additions (the peer's table version): CJK Extension I, U+31EF.
  CHECK(mmllm::unicode_category_of(U'\U0002EBF0') == unicode_category::Lo);
  CHECK(mmllm::unicode_category_of(U'\u31EF') == unicode_category::So);
  for (const char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\x85', U'\xA0', U'\u1680', U'\u2000',
                           U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'})
    CHECK(mmllm::unicode_is_white_space(c));
  for (const char32_t c : {U'\u200B', U'\uFEFF', U'\x1C', U'a'})
    CHECK_FALSE(mmllm::unicode_is_white_space(c));
  CHECK(mmllm::unicode_to_lower_simple(U'\u0130') == U'i');
  CHECK(mmllm::unicode_to_lower("\xC4\xB0"
                                "ABC\xC3\x89") ==
        "i\xCC\x87"
        "abc\xC3\xA9");
}

TEST_CASE("normalization forms (UAX #15 examples and invariants)", "[tokenize][unicode]") {
  auto n = [](std::string_view s, normalization_form f) { return mmllm::unicode_normalize(s, f); };
  // e + combining acute ⇄ é
  CHECK(n("e\xCC\x81", normalization_form::nfc) == "\xC3\xA9");
  CHECK(n("\xC3\xA9", normalization_form::nfd) == "e\xCC\x81");
  // ſ + combining dot above: NFC composes to ẛ, NFKC to ṡ.
  CHECK(n("\xC5\xBF\xCC\x87", normalization_form::nfc) == "\xE1\xBA\x9B");
  CHECK(n("\xE1\xBA\x9B", normalization_form::nfkc) == "\xE1\xB9\xA1");
  // canonical ordering: dot below (220) before dot above (230)
  CHECK(n("q\xCC\x87\xCC\xA3", normalization_form::nfc) == "q\xCC\xA3\xCC\x87");
  // Hangul: 한 ⇄ ᄒ ᅡ ᆫ
  CHECK(n("\xED\x95\x9C", normalization_form::nfd) == "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB");
  CHECK(n("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", normalization_form::nfc) == "\xED\x95\x9C");
  // compatibility: ﬁ → fi, ① → 1, Ω (ohm) → Ω in every form
  CHECK(n("\xEF\xAC\x81", normalization_form::nfkd) == "fi");
  CHECK(n("\xE2\x91\xA0", normalization_form::nfkc) == "1");
  CHECK(n("\xE2\x84\xA6", normalization_form::nfc) == "\xCE\xA9");
  // invariants on random text: NFC(NFD(x)) == NFC(x), NFD idempotent, NFKC(NFC(x)) == NFKC(x)
  mmllm::test::test_rng rng(5);
  for (int i = 0; i < 500; ++i) {
    const std::string s = mmllm::test::random_unicode_text(rng, 24);
    INFO("[" << mmllm::test::show(s) << "]");
    CHECK(n(n(s, normalization_form::nfd), normalization_form::nfc) == n(s, normalization_form::nfc));
    CHECK(n(n(s, normalization_form::nfd), normalization_form::nfd) == n(s, normalization_form::nfd));
    CHECK(n(n(s, normalization_form::nfc), normalization_form::nfkc) == n(s, normalization_form::nfkc));
  }
}

TEST_CASE("the peer's one-code-point NFD", "[tokenize][unicode]") {
  CHECK(mmllm::peer_quirk_nfd_first_code_point(U'\u00E9') == U'e');
  CHECK(mmllm::peer_quirk_nfd_first_code_point(U'\u1E9B') == U'\u017F');
  CHECK(mmllm::peer_quirk_nfd_first_code_point(U'\uD55C') == U'\u1112');  // Hangul → leading consonant
  CHECK(mmllm::peer_quirk_nfd_first_code_point(U'a') == U'a');
}
