// libFuzzer target: arbitrary bytes as (1) a GBNF grammar, (2) a JSON Schema and (3) a JSON
// Schema "pattern" regex. Parsing and conversion must succeed or fail with a clean error
// (never errc::internal); what the JSON Schema and regex converters produce must itself be a
// GBNF grammar the parser accepts (or hits a resource limit). Grammars that parse are run:
// a matcher over probe texts and the input itself, and a grammar sampler's masks over a small
// vocabulary of pieces (ASCII, JSON punctuation, multi-byte and split UTF-8 characters).
// Built only with MMLLM_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined); scripts/test
// fuzz seeds it from tests/fuzz/seeds/fuzz_gbnf/ (grammars and schemas).
#include <mmllm/sampling/gbnf_grammar.hpp>
#include <mmllm/sampling/grammar_matcher.hpp>
#include <mmllm/sampling/grammar_sampler.hpp>
#include <mmllm/sampling/grammar_vocabulary.hpp>
#include <mmllm/sampling/json_schema_grammar.hpp>
#include <mmllm/sampling/regex_grammar.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

void check_clean(const mmllm::error& e, const char* stage) {
  if (e.code == mmllm::errc::internal || e.message.empty()) die(stage, e.what());
}

mmllm::gbnf_limits tight_gbnf_limits() {
  mmllm::gbnf_limits l;
  l.max_repetition = 64;
  l.max_nesting = 64;
  l.max_elements = std::size_t{1} << 16;
  l.max_text = std::size_t{1} << 20;
  return l;
}

mmllm::grammar_limits tight_matcher_limits() {
  mmllm::grammar_limits l;
  l.max_stacks = 512;
  l.max_expansion = 20000;
  return l;
}

const std::shared_ptr<const mmllm::grammar_vocabulary>& small_vocab() {
  static const std::shared_ptr<const mmllm::grammar_vocabulary> v = [] {
    std::vector<std::string> pieces = {
        "",    "a",     "b", "ab",  " ",    "\n",   "{",        "}",        "[",    "]",    "\"",  ":",
        ",",   "0",     "1", "-",   ".",    "e",    "true",     "null",     "{\"",  "\":",  "\",", "\\",
        "\\n", "\\u00", "x", "yes", "\xc3", "\xa9", "\xc3\xa9", "\xe4\xb8", "\xad", "\xff", "<s>"};
    std::vector<std::uint8_t> kinds(pieces.size(), 0);
    kinds[0] = 1;                  // end of generation
    kinds[pieces.size() - 1] = 2;  // a control token
    return mmllm::grammar_vocabulary::build_from(pieces, kinds);
  }();
  return v;
}

/// Runs a grammar that parsed: matcher probes and a few sampler steps.
void exercise(const std::shared_ptr<const mmllm::gbnf_grammar>& g, std::string_view input) {
  const auto lim = tight_matcher_limits();
  auto m = mmllm::grammar_matcher::create(g, lim);
  if (!m) {
    check_clean(m.error(), "matcher");
    return;
  }
  for (const std::string_view probe : {std::string_view("{\"a\": 1}"), std::string_view("yes"),
                                       std::string_view("\xc3\xa9\xe4\xb8"), input.substr(0, 256)}) {
    mmllm::grammar_matcher copy = *m;
    auto r = copy.accept(probe);
    if (!r) check_clean(r.error(), "matcher accept");
  }
  auto s = mmllm::grammar_sampler::create(g, small_vocab(), lim);
  if (!s) {
    check_clean(s.error(), "sampler");
    return;
  }
  const std::size_t n = small_vocab()->size();
  for (std::size_t step = 0; step < 12; ++step) {
    auto mask = s->allowed_tokens();
    if (!mask) {
      check_clean(mask.error(), "mask");
      return;
    }
    // take the first allowed text token after a rotating start; stop when none is left
    const std::vector<std::uint64_t>& bits = **mask;
    mmllm::token_id pick = mmllm::no_token;
    for (std::size_t k = 0; k < n && pick == mmllm::no_token; ++k) {
      const std::size_t i = (k + step * 7 + input.size()) % n;
      if (i != 0 && ((bits[i >> 6] >> (i & 63)) & 1u) != 0) pick = static_cast<mmllm::token_id>(i);
    }
    if (pick == mmllm::no_token) return;
    auto single = s->allows(pick);
    if (!single) {
      check_clean(single.error(), "allows");
      return;
    }
    if (!*single) die("mask", "the mask allows a token allows() rejects");
    auto a = s->accept(pick);
    if (!a) {
      check_clean(a.error(), "accept");
      return;
    }
  }
}

/// Converter output must parse (unless a resource limit is hit).
void check_converted(const std::string& gbnf, const char* stage, std::string_view input) {
  auto g = mmllm::gbnf_grammar::parse(gbnf, "root", tight_gbnf_limits());
  if (!g) {
    if (g.error().code != mmllm::errc::resource_limit) die(stage, g.error().what() + "\n" + gbnf);
    return;
  }
  exercise(std::make_shared<const mmllm::gbnf_grammar>(std::move(*g)), input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (16u << 10)) return 0;
  const std::string_view src(reinterpret_cast<const char*>(data), size);

  // 1. GBNF
  auto g = mmllm::gbnf_grammar::parse(src, "root", tight_gbnf_limits());
  if (g) {
    exercise(std::make_shared<const mmllm::gbnf_grammar>(std::move(*g)), src);
  } else {
    check_clean(g.error(), "gbnf parse");
    if (g.error().message.find("gbnf") == std::string::npos) die("gbnf parse", "error without a gbnf prefix");
  }

  // 2. JSON Schema (and OpenAI response_format wrapping it)
  std::vector<std::string> warnings;
  mmllm::json_schema_options opt;
  opt.max_repetition = 64;
  opt.warnings = &warnings;
  auto js = mmllm::json_schema_to_gbnf(src, opt);
  if (js) {
    check_converted(*js, "json schema output", src);
  } else {
    check_clean(js.error(), "json schema");
  }
  if (size % 4 == 0) {
    auto rf = mmllm::response_format_to_gbnf(src);
    if (rf) {
      if (!rf->empty()) check_converted(*rf, "response_format output", src);
    } else {
      check_clean(rf.error(), "response_format");
    }
  }

  // 3. a "pattern" regex
  auto re = mmllm::regex_to_json_string_gbnf(src, 64);
  if (re) {
    check_converted("root ::= \"\\\"\" (" + re->expression + ") \"\\\"\"\n", "regex output", src);
  } else {
    check_clean(re.error(), "regex");
  }
  return 0;
}
