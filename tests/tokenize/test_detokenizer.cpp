// Streaming detokenization: the concatenated stream equals the whole decode for random
// token sequences and random chunkings; incomplete UTF-8 is held back; peer and Hugging
// Face first-token / clean-up / skip rules survive the chunking.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

namespace {

std::vector<mmllm::token_id> random_ids(const mmllm::tokenizer& tok, mmllm::test::test_rng& rng,
                                        std::size_t n) {
  std::vector<mmllm::token_id> ids;
  // Pieces that stress the rules: spaces, apostrophes, punctuation, partial UTF-8.
  std::vector<mmllm::token_id> interesting;
  for (const char* t : {" ",      " '",     "'",        " .",       ".",        ",",       " ,",     "s",
                        "t",      "re",     " n",       "<0xE2>",   "<0x9C>",   "<0x85>",  "<0xF0>", "<0x9F>",
                        "<0xA6>", "<0x99>", "\xC4\xA0", "\xC3\xA2", "\xC2\x80", "\xC4\xB2"}) {
    const mmllm::token_id id = tok.find_token(t);
    if (id != mmllm::no_token) interesting.push_back(id);
  }
  const auto bytes = tok.encode("\xE2\x9C\x85 \xF0\x9F\xA6\x99 'll ?", {.add_special = false});
  interesting.insert(interesting.end(), bytes.begin(), bytes.end());
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = rng.below(10);
    if (k < 5 && !interesting.empty())
      ids.push_back(interesting[rng.below(interesting.size())]);
    else if (k < 6)
      ids.push_back(tok.bos() != mmllm::no_token ? tok.bos() : 0);
    else
      ids.push_back(static_cast<mmllm::token_id>(rng.below(tok.size())));
  }
  return ids;
}

void check_stream(const mmllm::tokenizer& tok, std::uint64_t seed) {
  mmllm::test::test_rng rng(seed);
  for (int i = 0; i < 300; ++i) {
    const auto ids = random_ids(tok, rng, 1 + rng.below(24));
    mmllm::decode_options opt;
    opt.skip_special = rng.below(2) == 0;
    opt.remove_bos_eos = rng.below(2) == 0;
    opt.clean_up_spaces = static_cast<int>(rng.below(3)) - 1;
    const std::string whole = tok.decode(ids, opt);
    const bool whole_valid = mmllm::utf8_is_valid(whole);
    mmllm::detokenizer d(tok, opt);
    std::string streamed;
    for (std::size_t p = 0; p < ids.size();) {
      const std::size_t n = 1 + rng.below(4);
      const std::size_t take = std::min(n, ids.size() - p);
      const std::string chunk = d.push(std::span<const mmllm::token_id>(ids.data() + p, take));
      // A stream never emits a broken character (when the text has none).
      if (whole_valid) CHECK(mmllm::utf8_is_valid(chunk));
      streamed += chunk;
      p += take;
    }
    streamed += d.finish();
    INFO("ids " << ids.size() << " whole [" << mmllm::test::show(whole) << "] streamed ["
                << mmllm::test::show(streamed) << "]");
    REQUIRE(streamed == whole);
  }
}

}  // namespace

TEST_CASE("streaming equals whole decode: peer vocabularies", "[tokenize][detokenize][property]") {
  check_stream(mmllm::test::gguf_vocab("llama-spm"), 1);
  check_stream(mmllm::test::gguf_vocab("gpt-2"), 2);  // clean_spaces on by default
  check_stream(mmllm::test::gguf_vocab("bert-bge"), 3);
  check_stream(mmllm::test::gguf_vocab("deepseek-coder"), 4);
}

TEST_CASE("streaming equals whole decode: tokenizer.json", "[tokenize][detokenize][property]") {
  check_stream(mmllm::test::hf_tokenizer("llama3"), 5);  // clean_up_tokenization_spaces
  check_stream(mmllm::test::hf_tokenizer("qwen3"), 6);
  check_stream(mmllm::test::hf_tokenizer("gemma3"), 7);
  check_stream(mmllm::test::hf_tokenizer("llama2"), 8);  // Strip decoder at the start
}

TEST_CASE("an emoji split over byte tokens appears only when complete", "[tokenize][detokenize]") {
  const mmllm::tokenizer& tok = mmllm::test::gguf_vocab("llama-spm");
  const auto ids = tok.encode("\U0001F999!", {.add_special = false});
  // "▁" + 4 byte tokens + "!"
  REQUIRE(ids.size() >= 5);
  mmllm::detokenizer d(tok);
  std::vector<std::string> out;
  for (const mmllm::token_id id : ids) out.push_back(d.push(id));
  out.push_back(d.finish());
  std::string all;
  for (const auto& o : out) {
    CHECK(mmllm::utf8_is_valid(o));
    all += o;
  }
  CHECK(all == "\U0001F999!");
  // The character arrives with its last byte token, not before.
  std::size_t first_nonempty = 0;
  while (first_nonempty < out.size() && out[first_nonempty].empty()) ++first_nonempty;
  CHECK(out[first_nonempty].find("\U0001F999") != std::string::npos);

  // Hugging Face byte-level: the same with byte-level pieces.
  const mmllm::tokenizer& l3 = mmllm::test::hf_tokenizer("llama3");
  const auto ids3 = l3.encode("\xE2\x9C\x85\xE2\x9C\x85", {.add_special = false});
  mmllm::detokenizer d3(l3);
  std::string acc;
  for (const mmllm::token_id id : ids3) {
    const std::string o = d3.push(id);
    CHECK(mmllm::utf8_is_valid(o));
    acc += o;
  }
  acc += d3.finish();
  CHECK(acc == "\xE2\x9C\x85\xE2\x9C\x85");
}

TEST_CASE("peer pieces: special rendering, lstrip of the first piece", "[tokenize][detokenize]") {
  const mmllm::tokenizer& tok = mmllm::test::gguf_vocab("llama-spm");
  CHECK(tok.token_to_piece(1) == "<s>");
  CHECK(tok.token_to_piece(1, false).empty());
  CHECK(tok.token_to_piece(tok.find_token("<0x0A>")) == "\n");
  const mmllm::token_id hello = tok.find_token("\xE2\x96\x81Hello");
  REQUIRE(hello != mmllm::no_token);
  CHECK(tok.token_to_piece(hello) == " Hello");
  CHECK(tok.token_to_piece(hello, true, 1) == "Hello");  // llama_token_to_piece's lstrip
  const auto ids = tok.encode("Hello", {.add_special = true});
  CHECK(tok.decode(ids) == "<s> Hello");  // the space prefix stays after a rendered BOS
  mmllm::decode_options rm;
  rm.remove_bos_eos = true;
  CHECK(tok.decode(ids, rm) == " Hello");  // peer: removing BOS keeps the next space
  CHECK(tok.decode(std::vector<mmllm::token_id>(ids.begin() + 1, ids.end())) == "Hello");
  mmllm::decode_options skip;
  skip.skip_special = true;
  CHECK(tok.decode(ids, skip) == " Hello");  // the hidden BOS takes the first-piece rule
  CHECK(tok.decode(std::vector<mmllm::token_id>{2}, skip).empty());
}
