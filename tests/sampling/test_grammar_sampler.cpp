// Grammar masking over real vocabularies: the trie mask equals a per-token check by an
// independent matcher; generation with random allowed tokens always yields text the grammar
// (and, for JSON, nlohmann::json) accepts, including tokens that split UTF-8 characters;
// end-of-generation only when the grammar can end; special tokens masked.
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "sampling_test_support.hpp"

namespace {

const char* const json_gbnf = R"g(root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]{0,15}) ("." [0-9]{1,8})? ([eE] [-+]? [1-9] [0-9]{0,2})? ws
ws ::= | " " | "\n" [ \t]{0,8}
)g";

// The mask of `gs` against a per-token check with a separate matcher in the same state.
void check_mask(mmllm::grammar_sampler& gs, mmllm::grammar_matcher& oracle) {
  const mmllm::grammar_vocabulary& v = gs.vocabulary();
  auto mask = gs.allowed_tokens();
  REQUIRE(mask.has_value());
  const std::vector<std::uint64_t> bits = **mask;
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto id = static_cast<mmllm::token_id>(i);
    bool want = false;
    switch (v.kind(id)) {
      case mmllm::grammar_vocabulary::token_kind::eog: want = oracle.can_end(); break;
      case mmllm::grammar_vocabulary::token_kind::rejected: want = false; break;
      default: {
        auto r = oracle.allows(v.piece(id));
        REQUIRE(r.has_value());
        want = *r;
      }
    }
    const bool got = ((bits[i >> 6] >> (i & 63)) & 1u) != 0;
    if (got != want && ++mismatches < 5)
      UNSCOPED_INFO("token " << i << " [" << v.piece(id) << "] mask " << got);
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("trie masks equal per-token checks", "[sampling][grammar]") {
  for (const std::string name : {"stories260K", "llama2", "qwen3"}) {
    INFO(name);
    auto gv = mmllm::test::grammar_vocab(name);
    auto g = mmllm::test::compile_gbnf(json_gbnf);
    auto gs = mmllm::grammar_sampler::create(g, gv);
    REQUIRE(gs.has_value());
    auto oracle = mmllm::grammar_matcher::create(g);
    REQUIRE(oracle.has_value());
    // walk a fixed document token by token (tokenized text), checking the mask at some steps
    const mmllm::tokenizer& tok = mmllm::test::sampling_vocab(name);
    const std::string doc =
        "{\"k\": [1, -2.5e3, true], \"\xe4\xb8\xad\xe6\x96\x87\": {\"x\": null}, \"s\": \"a\\n\"}";
    std::vector<mmllm::token_id> ids;
    for (std::size_t pos = 0; pos < doc.size();
         ++pos) {  // one token per byte: pieces that split characters too
      const std::string one(1, doc[pos]);
      bool found = false;
      for (std::size_t i = 0; i < gv->size() && !found; ++i) {
        if (gv->kind(static_cast<mmllm::token_id>(i)) != mmllm::grammar_vocabulary::token_kind::rejected &&
            gv->piece(static_cast<mmllm::token_id>(i)) == one) {
          ids.push_back(static_cast<mmllm::token_id>(i));
          found = true;
        }
      }
      if (!found) {  // the vocabulary has no token for this byte: tokenize the character
        ids.clear();
        break;
      }
    }
    if (ids.empty()) ids = tok.encode(doc, {false, false});
    int checked = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i % 3 == 0 || i < 4) {
        check_mask(*gs, *oracle);
        ++checked;
      }
      const std::string_view piece = gv->piece(ids[i]);
      auto a = gs->accept(ids[i]);
      if (!a) {
        // SPM pieces carry a leading space the grammar's ws allows; anything else is a bug
        FAIL("token " << ids[i] << " [" << piece << "] rejected: " << a.error().what());
      }
      REQUIRE(*oracle->accept(piece));
    }
    check_mask(*gs, *oracle);
    CHECK(gs->can_end());
    CHECK(checked > 5);
  }
}

TEST_CASE("random generation under a JSON grammar gives valid JSON", "[sampling][grammar]") {
  for (const std::string name : {"stories260K", "llama2", "qwen3"}) {
    INFO(name);
    auto gv = mmllm::test::grammar_vocab(name);
    auto g = mmllm::test::compile_gbnf(json_gbnf);
    int complete = 0, partial = 0;
    const int runs = name == "qwen3" ? 12 : 20;
    for (int seed = 0; seed < runs; ++seed) {
      auto gs = mmllm::grammar_sampler::create(g, gv);
      REQUIRE(gs.has_value());
      const auto out = mmllm::test::generate(*gs, static_cast<std::uint64_t>(seed) * 7919 + 3, 400, 120);
      INFO("seed " << seed << ": " << out.text);
      CHECK(out.complete);
      if (!out.complete) continue;
      ++complete;
      partial += out.partial_steps;
      auto accepted = mmllm::grammar_accepts(g, out.text);
      REQUIRE(accepted.has_value());
      CHECK(*accepted);
      CHECK_NOTHROW(nlohmann::json::parse(out.text));
      CHECK(nlohmann::json::parse(out.text).is_object());
    }
    CHECK(complete == runs);
    if (name == "qwen3") CHECK(partial > 0);  // byte-level tokens that split characters were taken
  }
}

TEST_CASE("end of generation, special tokens and rejections", "[sampling][grammar]") {
  const std::vector<std::string> pieces = {"a",
                                           "b",
                                           "ab",
                                           "",
                                           "<s>",
                                           "\xe4\xb8",
                                           "\xad",
                                           "\xad"
                                           "x",
                                           "\xff",
                                           "\"",
                                           "c"};
  std::vector<std::uint8_t> kinds(pieces.size(), 0);
  kinds[3] = 1;  // EOG
  kinds[4] = 2;  // control
  auto gv = mmllm::grammar_vocabulary::build_from(pieces, kinds);
  auto gs = mmllm::grammar_sampler::create("root ::= \"a\" [b\xe4\xb8\xad]* \"x\"?\n", gv);
  REQUIRE(gs.has_value());
  auto allows = [&](mmllm::token_id t) { return *gs->allows(t); };
  CHECK(allows(0));
  CHECK(allows(2));  // "ab": a token spanning two grammar elements
  CHECK(!allows(1));
  CHECK(!allows(3));  // EOG: not complete yet
  CHECK(!allows(4));  // control token
  CHECK(!allows(8));  // invalid UTF-8
  REQUIRE(gs->accept(2).has_value());
  CHECK(allows(3));
  CHECK(allows(5));   // first two bytes of 中
  CHECK(!allows(6));  // a continuation byte cannot start a character
  REQUIRE(gs->accept(5).has_value());
  CHECK(!allows(3));  // no end inside a character
  CHECK(!allows(0));
  CHECK(allows(6));
  CHECK(allows(7));  // completes 中 and adds "x"
  mmllm::grammar_sampler fork = *gs;
  REQUIRE(gs->accept(7).has_value());
  CHECK(gs->finished());
  CHECK(allows(3));
  CHECK(!allows(1));
  REQUIRE(fork.accept(6).has_value());
  CHECK(fork.can_end());
  CHECK(!fork.finished());
  auto bad = fork.accept(0);
  REQUIRE(!bad.has_value());
  CHECK(bad.error().message.find("not allowed") != std::string::npos);
  // masking a candidate list
  mmllm::candidate_buffer buf;
  mmllm::candidate_list& c = buf.fill(std::vector<float>(pieces.size(), 1.0f));
  REQUIRE(fork.apply(c).has_value());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool ok = *fork.allows(static_cast<mmllm::token_id>(i));
    CHECK((c.data[i].logit == 1.0f) == ok);
  }
  gs->reset();
  CHECK(allows(0));
  CHECK(!allows(3));
}

TEST_CASE("special tokens of real vocabularies are masked unless asked for", "[sampling][grammar]") {
  const mmllm::tokenizer& tok = mmllm::test::sampling_vocab("qwen3");
  const mmllm::token_id im_start = tok.find_token("<|im_start|>");
  REQUIRE(im_start != mmllm::no_token);
  auto gv = mmllm::test::grammar_vocab("qwen3");
  CHECK(gv->kind(im_start) == mmllm::grammar_vocabulary::token_kind::rejected);
  const mmllm::token_id im_end = tok.find_token("<|im_end|>");
  CHECK(gv->kind(im_end) == mmllm::grammar_vocabulary::token_kind::eog);
  auto as_text = mmllm::grammar_vocabulary::build(tok, {.special_tokens_as_text = true});
  auto gs = mmllm::grammar_sampler::create("root ::= \"<|im_start|>\" [a-z]+\n", as_text);
  REQUIRE(gs.has_value());
  CHECK(*gs->allows(im_start));
}
