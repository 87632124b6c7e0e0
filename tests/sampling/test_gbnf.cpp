// GBNF parsing and matching: acceptance of strings by small grammars (expected results
// recorded from llama.cpp's test-gbnf-validator on the same grammars and strings), byte-wise
// feeding with split UTF-8, parse errors with positions, limits on hostile grammars, and
// printing a grammar back.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"

#include <mmllm/sampling/gbnf_grammar.hpp>
#include <mmllm/sampling/grammar_matcher.hpp>

using mmllm::errc;

namespace {

const std::map<std::string, std::string>& grammars() {
  static const std::map<std::string, std::string> g = {
      {"arith", R"g(root ::= expr
expr ::= term ([-+*/] term)*
term ::= num | "(" space expr ")" space
num ::= [0-9]+ space
space ::= " "?
)g"},
      {"json", R"g(root ::= value
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::=
  "{" ws (
    string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]{0,15}) ("." [0-9]+)? ([eE] [-+]? [1-9] [0-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)g"},
      {"rep", R"g(root ::= "a"{2,4} "b"{3} ("c" | "d"){0,2} x{1,}
x ::= "x"
)g"},
      {"unicode", R"g(root ::= [ぁ-ゟ]+ "!"? emoji*
emoji ::= [\U0001F600-\U0001F64F] | "\u00e9"
)g"},
      {"classes", R"g(root ::= [^\n]+ "\n" . [a-c0-9_-]* [^abc]
)g"},
      {"nested", R"g(root ::= "(" inner ")"
inner ::= ( "a" | "b" ( "c" | inner ) )?   # comment
)g"},
      {"opt", R"g(root ::= "a"? "b"* "c"+ ("d" "e")? "f"{0} "g"{2}
)g"},
  };
  return g;
}

struct accept_case {
  const char* grammar;
  const char* text;
  bool ok;
};

// Expected values: llama.cpp 583cb834 test-gbnf-validator on the same grammar and string.
const accept_case peer_cases[] = {
    {"arith", "1+2", true},
    {"arith", "(1 + 2)*3", false},
    {"arith", "((7))", true},
    {"arith", "1+", false},
    {"arith", "", false},
    {"arith", "12 *  3", false},
    {"arith", "(1", false},
    {"arith", "a", false},
    {"json", "{}", true},
    {"json", "{\"a\": 1}", true},
    {"json", "[1, 2.5, -3e10, true, null, \"x\\n\\u00e9\"]", true},
    {"json", "{\"a\":{\"b\":[]}}", true},
    {"json", "{\"a\" 1}", false},
    {"json", "[01]", false},
    {"json", "\"\xc3\xa9\xe4\xb8\xad\"", true},
    {"json", "[1,]", false},
    {"json", "tru", false},
    {"json", "\"\x01\"", false},
    {"json", "{\n  \"k\": \"v\"\n}", true},
    {"json", "-0.5E+3", true},
    {"rep", "aabbbx", true},
    {"rep", "aaaabbbcdxxx", true},
    {"rep", "abbbx", false},
    {"rep", "aaaaabbbx", false},
    {"rep", "aabbbcccx", false},
    {"rep", "aabbb", false},
    {"rep", "aabbbdcx", true},
    {"unicode", "\xe3\x81\x81\xe3\x81\x82", true},
    {"unicode", "\xe3\x81\x81!\xf0\x9f\x98\x80\xc3\xa9", true},
    {"unicode", "a", false},
    {"unicode", "\xe3\x81\x81!!", false},
    {"unicode", "\xe3\x81\x81\xf0\x9f\x99\x90", false},
    {"classes", "hello\nxab_-9z", true},
    {"classes", "x\n\nd", true},
    {"classes", "\n\nd", false},
    {"classes", "hi\nxa", false},
    {"classes", "hi\nx\xc3\xa9", true},
    {"nested", "()", true},
    {"nested", "(a)", true},
    {"nested", "(bc)", true},
    {"nested", "(bbbba)", true},
    {"nested", "(bb)", true},
    {"nested", "(ba", false},
    {"nested", "(bbc)", true},
    {"opt", "cgg", true},
    {"opt", "abbbcccdegg", true},
    {"opt", "acg", false},
    {"opt", "bcdegg", true},
    {"opt", "adegg", false},
    {"opt", "cfgg", false},
};

std::shared_ptr<const mmllm::gbnf_grammar> compile(const std::string& text) {
  auto g = mmllm::gbnf_grammar::parse(text);
  if (!g) FAIL(g.error().what());
  return std::make_shared<const mmllm::gbnf_grammar>(std::move(*g));
}

bool accepts(const std::shared_ptr<const mmllm::gbnf_grammar>& g, const std::string& text) {
  auto r = mmllm::grammar_accepts(g, text);
  REQUIRE(r.has_value());
  return *r;
}

mmllm::error parse_error(const std::string& text, const mmllm::gbnf_limits& lim = {}) {
  auto g = mmllm::gbnf_grammar::parse(text, "root", lim);
  REQUIRE(!g.has_value());
  return g.error();
}

}  // namespace

TEST_CASE("grammars accept what llama.cpp accepts", "[sampling][gbnf]") {
  std::map<std::string, std::shared_ptr<const mmllm::gbnf_grammar>> compiled;
  for (const auto& [name, text] : grammars()) compiled[name] = compile(text);
  for (const accept_case& c : peer_cases) {
    INFO(c.grammar << " [" << c.text << "]");
    CHECK(accepts(compiled.at(c.grammar), c.text) == c.ok);
  }
}

TEST_CASE("byte-wise feeding equals whole-string matching", "[sampling][gbnf]") {
  for (const accept_case& c : peer_cases) {
    auto g = compile(grammars().at(c.grammar));
    auto m = mmllm::grammar_matcher::create(g);
    REQUIRE(m.has_value());
    const std::string text = c.text;
    bool alive = true;
    for (const char ch : text) {
      auto before = m->state();
      auto allowed = m->allows(std::string_view(&ch, 1));
      REQUIRE(allowed.has_value());
      CHECK(m->state() == before);  // allows() does not change the state
      auto r = m->accept(std::string_view(&ch, 1));
      REQUIRE(r.has_value());
      CHECK(*r == *allowed);
      if (!*r) {
        alive = false;
        break;
      }
    }
    INFO(c.grammar << " [" << c.text << "]");
    CHECK((alive && m->can_end()) == c.ok);
  }
}

TEST_CASE("split UTF-8: a partial character is kept only when it can still match", "[sampling][gbnf]") {
  auto g = compile(R"(root ::= [ぁ-ゟ] "x" | "é")");
  auto m = mmllm::grammar_matcher::create(g);
  REQUIRE(m.has_value());
  CHECK(*m->allows("\xe3"));       // could become ぁ..ゟ (U+3041..U+309F)
  CHECK(*m->allows("\xe3\x81"));   // U+3040..U+307F overlaps
  CHECK(!*m->allows("\xe3\x80"));  // U+3000..U+303F: no
  CHECK(!*m->allows("\xe4"));      // U+4000..: no
  CHECK(*m->allows("\xc3"));       // é = C3 A9
  CHECK(!*m->allows("\xc3\xa8"));
  CHECK(!*m->allows("\x81"));      // a continuation byte cannot start a character
  CHECK(!*m->allows("\xc0\xa9"));  // overlong
  REQUIRE(*m->accept("\xe3\x81"));
  CHECK(!m->can_end());
  CHECK(!m->partial().empty());
  REQUIRE(*m->accept("\x81x"));
  CHECK(m->can_end());
  CHECK(m->finished());
  // a negated class: any completion outside [^...] that is not excluded
  auto n = compile(R"(root ::= [^\u0400-\u04FF])");
  auto mn = mmllm::grammar_matcher::create(n);
  CHECK(!*mn->allows("\xd0"));  // D0 xx = U+0400..U+043F: all excluded
  CHECK(*mn->allows("\xd5"));   // U+0540..: allowed
}

TEST_CASE("parse errors name the place and the problem", "[sampling][gbnf]") {
  auto msg = [](const mmllm::error& e) { return e.message; };
  using Catch::Matchers::Contains;
  CHECK_THAT(msg(parse_error("root ::= \"a")),
             Contains("line 1, column 10") && Contains("unterminated string"));
  CHECK_THAT(msg(parse_error("root ::= foo\n")), Contains("undefined rule 'foo'"));
  CHECK_THAT(msg(parse_error("foo ::= \"a\"\n")), Contains("no 'root' rule"));
  CHECK_THAT(msg(parse_error("root ::= \"a\"\nroot ::= \"b\"\n")),
             Contains("line 2, column 1") && Contains("twice"));
  CHECK_THAT(msg(parse_error("root ::= []\n")), Contains("empty character class"));
  CHECK_THAT(msg(parse_error("root ::= [z-a]\n")), Contains("reversed"));
  CHECK_THAT(msg(parse_error("root ::= \"\\q\"\n")), Contains("unknown escape"));
  CHECK_THAT(msg(parse_error("root ::= * \"a\"\n")), Contains("without a preceding item"));
  CHECK_THAT(msg(parse_error("root ::= (\"a\" | \"b\"\n")), Contains("unbalanced '('"));
  CHECK_THAT(msg(parse_error("root ::= \"a\" )\n")), Contains("unbalanced ')'"));
  CHECK_THAT(msg(parse_error("root ::= \"x\"{2,1}\n")), Contains("n < m"));
  CHECK_THAT(msg(parse_error("root \"a\"\n")), Contains("expecting '::='"));
  CHECK_THAT(msg(parse_error("root ::= \"a\" b ::= \"c\"\n")),
             Contains("expecting a newline before rule 'b'"));
  CHECK_THAT(msg(parse_error("root ::= \"\xff\"\n")), Contains("invalid UTF-8"));
  CHECK_THAT(msg(parse_error("root ::= \"\\U00110000\"\n")), Contains("U+10FFFF"));
  CHECK_THAT(msg(parse_error("root ::= \"a\" \"b\" ::=\n")), Contains("line 1"));
  CHECK(parse_error("root ::= foo\n").code == errc::malformed);
}

TEST_CASE("left recursion is rejected, also through nullable rules", "[sampling][gbnf]") {
  using Catch::Matchers::Contains;
  CHECK_THAT(parse_error("root ::= root \"a\" | \"b\"\n").message, Contains("left recursion"));
  CHECK_THAT(parse_error("root ::= a \"x\"\na ::= b a\nb ::= \"\" | \"y\"\n").message,
             Contains("left recursion") && Contains("(a -> a)"));
  CHECK_THAT(parse_error("root ::= (\"\" | root) \"a\"\n").message, Contains("left recursion"));
  // right recursion and recursion after a terminal are fine
  auto g = compile("root ::= \"a\" root | \"b\"\n");
  CHECK(accepts(g, "aaab"));
  auto g2 = compile("root ::= x root | \"z\"\nx ::= \"w\" | \"y\"\n");
  CHECK(accepts(g2, "ywz"));
  // x may be empty: root may start with root (llama.cpp rejects this too)
  CHECK_THAT(parse_error("root ::= x root | \"z\"\nx ::= \"\" | \"y\"\n").message,
             Contains("left recursion"));
}

TEST_CASE("hostile grammars hit limits, not the stack or memory", "[sampling][gbnf]") {
  CHECK(parse_error("root ::= \"a\"{0,1000000}\n").code == errc::resource_limit);
  CHECK(parse_error("root ::= \"a\"{2001}\n").code == errc::resource_limit);
  CHECK(parse_error("root ::= \"a\"{99999999999999999999999}\n").code == errc::resource_limit);
  std::string deep = "root ::= " + std::string(5000, '(') + "\"a\"" + std::string(5000, ')') + "\n";
  CHECK(parse_error(deep).code == errc::resource_limit);
  mmllm::gbnf_limits small;
  small.max_elements = 1000;
  CHECK(parse_error("root ::= \"abcdefghij\"{200}\n", small).code == errc::resource_limit);
  CHECK(parse_error("root ::= (\"ab\"{0,600}){0,600}\n", small).code == errc::resource_limit);
  // a long chain of rules: the matcher's expansion limit
  std::string chain = "root ::= r0\n";
  for (int i = 0; i < 3000; ++i) {
    chain += 'r';
    chain += std::to_string(i);
    chain += " ::= r";
    chain += std::to_string(i + 1);
    chain += " \"x\"\n";
  }
  chain += "r3000 ::= \"y\"\n";
  auto g = compile(chain);
  mmllm::grammar_limits lim;
  lim.max_expansion = 1000;
  auto m = mmllm::grammar_matcher::create(g, lim);
  REQUIRE(!m.has_value());
  CHECK(m.error().code == errc::resource_limit);
  auto m2 = mmllm::grammar_matcher::create(g);  // default limits suffice
  REQUIRE(m2.has_value());
  std::string input(3001, 'x');
  input[0] = 'y';
  CHECK(*m2->accept(input));
  CHECK(m2->can_end());
  // ambiguity: the number of live stacks grows with the input
  auto amb = compile("root ::= s\ns ::= \"a\" s \"b\" | \"a\" s | \"\"\n");
  mmllm::grammar_limits lim2;
  lim2.max_stacks = 50;
  auto ma = mmllm::grammar_matcher::create(amb, lim2);
  REQUIRE(ma.has_value());
  auto r = ma->accept(std::string(200, 'a'));
  REQUIRE(!r.has_value());
  CHECK(r.error().code == errc::resource_limit);
}

TEST_CASE("compaction keeps the matching result", "[sampling][gbnf]") {
  auto g = compile(grammars().at("json"));
  mmllm::grammar_limits lim;
  lim.compact_stacks = 40;
  lim.compact_states = 20;
  lim.compact_transitions = 30;
  const std::string doc = R"({"a": [1, 2, {"b": "c\n"}], "d": -1.5e3, "e": [[[]]], "f": "\u00e9"})";
  auto m = mmllm::grammar_matcher::create(g, lim);
  REQUIRE(m.has_value());
  const auto gen0 = m->generation();
  for (const char ch : doc) REQUIRE(*m->accept(std::string_view(&ch, 1)));
  CHECK(m->can_end());
  CHECK(m->generation() > gen0);
  CHECK(m->stack_count() < 200);
  m->reset();
  CHECK(*m->accept("[true]"));
  CHECK(m->can_end());
}

TEST_CASE("copies continue independently", "[sampling][gbnf]") {
  auto g = compile(grammars().at("rep"));
  auto m = mmllm::grammar_matcher::create(g);
  REQUIRE(*m->accept("aab"));
  mmllm::grammar_matcher fork = *m;
  REQUIRE(*fork.accept("bbx"));
  CHECK(fork.can_end());
  CHECK(!m->can_end());
  CHECK(!*m->accept("x"));
  CHECK(*m->accept("bbdx"));
  CHECK(m->can_end());
}

TEST_CASE("a grammar printed back parses to the same language", "[sampling][gbnf]") {
  for (const auto& [name, text] : grammars()) {
    auto g = compile(text);
    const std::string printed = g->to_string();
    INFO(printed);
    auto g2 = compile(printed);
    for (const accept_case& c : peer_cases)
      if (name == c.grammar) CHECK(accepts(g2, c.text) == c.ok);
  }
}
