// tokenizer.json components not covered by the fixture tokenizers, on small hand-written
// tokenizers whose expected output follows from the Hugging Face definitions by hand.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

using ids = std::vector<mmllm::token_id>;

TEST_CASE("WordPiece with BertNormalizer, BertPreTokenizer, BertProcessing", "[tokenize][json]") {
  const std::string json = R"({
    "version": "1.0",
    "added_tokens": [
      {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
    ],
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "un": 4, "##aff": 5, "##able": 6, "cafe": 7, "!": 8,
                "\u4e2d": 9, "a": 10}}
  })";
  auto tok = mmllm::load_tokenizer_json(
      json, R"({"unk_token": "[UNK]", "sep_token": "[SEP]", "cls_token": "[CLS]"})");
  REQUIRE(tok);
  // lowercase + accent stripping: "UNAFFÁBLE" → "unaffable" → un ##aff ##able; "!" split off;
  // CJK characters are isolated; an uncovered word is [UNK].
  CHECK(tok->encode("UNAFFÁBLE! Café\u4e2dxyz", {.add_special = true}) == ids{2, 4, 5, 6, 8, 7, 9, 1, 3});
  CHECK(tok->encode("a", {.add_special = false}) == ids{10});
  mmllm::decode_options skip;
  skip.skip_special = true;
  CHECK(tok->decode(ids{2, 4, 5, 6, 8, 10, 3}, skip) == "unaffable! a");
}

TEST_CASE("Unigram with Metaspace: best-scoring segmentation and unknown fusion", "[tokenize][json]") {
  const std::string json = R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581", -2.0], ["\u2581ab", -3.0],
      ["\u2581a", -1.0], ["b", -1.0], ["c", -5.0], ["\u2581abc", -10.0]]}
  })";
  auto tok = mmllm::load_tokenizer_json(json);
  REQUIRE(tok);
  // "▁ab": ▁ab (-3) beats ▁a + b (-2)? No: -2 > -3, so ▁a b.
  CHECK(tok->encode("ab", {.add_special = false}) == ids{3, 4});
  // "▁abc": ▁abc (-10) vs ▁a b c (-7): the latter.
  CHECK(tok->encode("abc", {.add_special = false}) == ids{3, 4, 5});
  // "xy" is not covered: ▁ then one fused <unk> for "xy".
  CHECK(tok->encode("xy", {.add_special = false}) == ids{1, 0});
  // pieces " a", "b", " ", " a"; the first loses its prefix space
  CHECK(tok->decode(ids{3, 4, 1, 3}) == "ab  a");
}

TEST_CASE("BPE with NFKC, Digits, Split and byte-level decoding", "[tokenize][json]") {
  // Byte-level alphabet for the few bytes used: 'a' 'b' '1' '2' and ' ' → 'Ġ'.
  const std::string json = R"({
    "added_tokens": [{"id": 9, "content": "<eos>", "special": true, "rstrip": true}],
    "normalizer": {"type": "NFKC"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Digits", "individual_digits": true},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "merges": ["a b", "Ġ ab"],
      "vocab": {"a": 0, "b": 1, "1": 2, "2": 3, "Ġ": 4, "ab": 5, "Ġab": 6}}
  })";
  auto tok = mmllm::load_tokenizer_json(json);
  REQUIRE(tok);
  // NFKC turns "①②" into "12"; Digits isolates each digit; " ab" merges to Ġab.
  CHECK(tok->encode("ab\u2460\u2461 ab", {.add_special = false}) == ids{5, 2, 3, 6});
  // rstrip: the spaces after <eos> are consumed.
  CHECK(tok->encode("ab<eos>   ab", {.add_special = false, .parse_special = true}) == ids{5, 9, 5});
  CHECK(tok->decode(ids{5, 2, 6, 9}) == "ab1 ab<eos>");
}

TEST_CASE("malformed and unsupported tokenizer.json are errors", "[tokenize][json]") {
  CHECK(mmllm::load_tokenizer_json("{").error().code == mmllm::errc::malformed);
  CHECK(mmllm::load_tokenizer_json(R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}})").error().code ==
        mmllm::errc::unsupported);
  CHECK(mmllm::load_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "UnicodeScripts"}})")
            .error()
            .code == mmllm::errc::unsupported);
  CHECK(!mmllm::load_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})"));
  // A sparse id must not make the loader allocate a huge table.
  CHECK(mmllm::load_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 99999999}, "merges": []}})")
            .error()
            .code == mmllm::errc::malformed);
}
