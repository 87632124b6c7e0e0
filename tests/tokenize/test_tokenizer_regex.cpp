// The regex engine against Python's `regex` module (expected matches below were produced
// with it), error reporting, and the hand-written pre-tokenizer fast paths against the
// engine on random Unicode text.
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

#include <mmllm/tokenize/pre_tokenizer.hpp>
#include <mmllm/tokenize/tokenizer_regex.hpp>

namespace {

std::vector<std::pair<std::size_t, std::size_t>> matches(
    std::string_view pattern, std::string_view text, mmllm::regex_flavor f = mmllm::regex_flavor::unicode) {
  auto re = mmllm::tokenizer_regex::compile(pattern, f);
  REQUIRE(re);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  re->for_each_match(text, [&](std::size_t b, std::size_t e) { out.emplace_back(b, e); });
  return out;
}

using spans = std::vector<std::pair<std::size_t, std::size_t>>;

}  // namespace

TEST_CASE("regex engine agrees with Python regex on tokenizer patterns", "[tokenize][regex]") {
  // Byte offsets from Python `regex.finditer` (oracle).
  CHECK(matches(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
                "Hello world!!  It's 2024...\n\n  d\u00e9j\u00e0 vu \U0001F999") == spans{{0, 5},
                                                                                          {5, 11},
                                                                                          {11, 13},
                                                                                          {13, 14},
                                                                                          {14, 17},
                                                                                          {17, 19},
                                                                                          {19, 24},
                                                                                          {24, 27},
                                                                                          {27, 30},
                                                                                          {30, 37},
                                                                                          {37, 40},
                                                                                          {40, 45}});
  CHECK(
      matches(
          R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
          "I'LL pay 1234567 \u20ac for\r\n\tTHAT's ok!?\n\n") == spans{{0, 1},
                                                                       {1, 4},
                                                                       {4, 8},
                                                                       {8, 9},
                                                                       {9, 12},
                                                                       {12, 15},
                                                                       {15, 16},
                                                                       {16, 20},
                                                                       {20, 24},
                                                                       {24, 26},
                                                                       {26, 31},
                                                                       {31, 33},
                                                                       {33, 36},
                                                                       {36, 40}});
  CHECK(matches("\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
                "a,b  \uFF01\uFF01 \u201Cx\u201D \u3002") == spans{{0, 3}, {4, 11}, {11, 19}, {19, 23}});
  CHECK(matches(R"([\p{P}\$\+<=>\^~\|`]+)", "a+b=<c>|~`d!?") == spans{{1, 2}, {3, 5}, {6, 10}, {11, 13}});
  CHECK(matches(R"((?=(\d{3})+(?!\d)))", "1234567") == spans{{1, 1}, {4, 4}});
  CHECK(matches(R"(x*+x|a{2,3}?|\bfoo\b|(?>ab|a)c)", "xxx aaaa foo food ac abc") ==
        spans{{4, 6}, {6, 8}, {9, 12}, {18, 20}, {21, 24}});
  CHECK(matches(R"([^\w\s]+|\w+)", "na\u00efve \u216B_x\u00b2 -- ok") ==
        spans{{0, 6}, {7, 12}, {12, 14}, {15, 17}, {18, 20}});
  CHECK(matches(R"(\p{Lu}\p{Ll}+|\P{L}+)", "Hello WORLD \u00c9t\u00e9") ==
        spans{{0, 5}, {5, 6}, {11, 12}, {12, 17}});
}

TEST_CASE("regex engine: errors are reported, never ignored", "[tokenize][regex]") {
  CHECK(mmllm::tokenizer_regex::compile("(?<=a)b").error().code == mmllm::errc::unsupported);
  CHECK(mmllm::tokenizer_regex::compile("\\p{Greek}").error().code == mmllm::errc::unsupported);
  CHECK(mmllm::tokenizer_regex::compile("[a-z&&[^b]]").error().code == mmllm::errc::unsupported);
  CHECK(mmllm::tokenizer_regex::compile("(ab").error().code == mmllm::errc::malformed);
  CHECK(mmllm::tokenizer_regex::compile("[z-a]").error().code == mmllm::errc::malformed);
  CHECK(mmllm::tokenizer_regex::compile("*").error().code == mmllm::errc::malformed);
  // Nullable loop bodies terminate.
  CHECK(matches("(a*)*b", "aaab") == spans{{0, 4}});
  CHECK(matches("(?:)*x", "x") == spans{{0, 1}});
}

TEST_CASE("regex flavors reproduce the peer's std::regex set-ups", "[tokenize][regex]") {
  // Collapsed text: \p{S} lacks '~'.
  CHECK(matches(R"(\p{S}+)", "+~+", mmllm::regex_flavor::peer_collapsed) == spans{{0, 1}, {2, 3}});
  CHECK(matches(R"(\p{S}+)", "+~+") == spans{{0, 3}});
  // Wide text: U+3000 reads as U+000B, so a literal U+3000 in a class no longer matches it.
  CHECK(matches("[\u3000-\u3002]+", "\u3000\u3001", mmllm::regex_flavor::peer_wide) == spans{{3, 6}});
  CHECK(matches("[\u3000-\u3002]+", "\u3000\u3001") == spans{{0, 6}});
  // std::regex \d is ASCII.
  CHECK(matches(R"(\d+)", "12\u0661", mmllm::regex_flavor::peer_wide) == spans{{0, 2}});
  CHECK(matches(R"(\d+)", "12\u0661") == spans{{0, 4}});
}

TEST_CASE("pre-tokenizer fast paths equal the regex engine on random Unicode text",
          "[tokenize][regex][property]") {
  const char* patterns[] = {
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))",
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
  };
  mmllm::test::test_rng rng(3);
  for (const char* p : patterns) {
    auto fast = mmllm::split_rule::from_pattern(p);
    auto slow = mmllm::split_rule::regex_only(p);
    REQUIRE(fast);
    REQUIRE(slow);
    REQUIRE(fast->rule_kind() != mmllm::split_rule::kind::regex);
    for (int i = 0; i < 2000; ++i) {
      const std::string s = mmllm::test::random_unicode_text(rng, 30);
      std::vector<mmllm::text_span> a, b;
      fast->split(s, {0, static_cast<std::uint32_t>(s.size())}, a);
      slow->split(s, {0, static_cast<std::uint32_t>(s.size())}, b);
      bool same = a.size() == b.size();
      for (std::size_t k = 0; same && k < a.size(); ++k)
        same = a[k].begin == b[k].begin && a[k].end == b[k].end;
      INFO("pattern " << p << " text [" << mmllm::test::show(s) << "]");
      REQUIRE(same);
    }
  }
}

TEST_CASE("split behaviours follow Hugging Face", "[tokenize][regex]") {
  const std::string t = "a--b-c";
  auto run = [&](mmllm::split_behavior b, bool invert) {
    const mmllm::split_rule r = mmllm::split_rule::from_literal("-", b, invert);
    std::vector<mmllm::text_span> out;
    r.split(t, {0, static_cast<std::uint32_t>(t.size())}, out);
    std::vector<std::string> pieces;
    for (const auto& s : out) pieces.emplace_back(t.substr(s.begin, s.end - s.begin));
    return pieces;
  };
  using v = std::vector<std::string>;
  CHECK(run(mmllm::split_behavior::removed, false) == v{"a", "b", "c"});
  CHECK(run(mmllm::split_behavior::isolated, false) == v{"a", "-", "-", "b", "-", "c"});
  CHECK(run(mmllm::split_behavior::merged_with_previous, false) == v{"a-", "-", "b-", "c"});
  CHECK(run(mmllm::split_behavior::merged_with_next, false) == v{"a", "-", "-b", "-c"});
  CHECK(run(mmllm::split_behavior::contiguous, false) == v{"a", "--", "b", "-", "c"});
  CHECK(run(mmllm::split_behavior::removed, true) == v{"-", "-", "-"});
}
