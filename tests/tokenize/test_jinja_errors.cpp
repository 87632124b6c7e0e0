// Errors of the Jinja engine: syntax and run-time errors name line and column and carry the
// Python exception text; hostile templates hit the resource limits and fail cleanly.
#include <chrono>
#include <string>

#include "catch.hpp"

#include <mmllm/tokenize/jinja_template.hpp>

namespace {

using mmllm::errc;
using mmllm::jinja::value;

struct outcome {
  bool ok = false;
  std::string text;  // output or error message
  errc code = errc::internal;
};

outcome run(const std::string& src, const mmllm::jinja::limits& lim = {}) {
  mmllm::jinja::parse_options po;
  po.max_nesting = lim.max_nesting;
  auto t = mmllm::jinja::jinja_template::parse(src, po);
  if (!t) return {false, t.error().message, t.error().code};
  mmllm::jinja::render_options ro;
  ro.limits = lim;
  ro.now = mmllm::jinja::date_time{2025, 11, 25, 12, 0, 0};
  auto out = t->render(
      {{"messages", value::make_list({value::make_dict({{"role", "user"}, {"content", "hi"}})})}}, ro);
  if (!out) return {false, out.error().message, out.error().code};
  return {true, *out, errc::internal};
}

}  // namespace

TEST_CASE("syntax errors give line and column", "[jinja][errors]") {
  auto e = run("{{ 'abc }}");
  CHECK_FALSE(e.ok);
  CHECK(e.code == errc::malformed);
  CHECK(e.text == "template:1:4: syntax error: unexpected char ''' (unterminated string)");

  e = run("line1\n{% if true %}\nx");
  CHECK(e.text ==
        "template:3:2: syntax error: unexpected end of template. Jinja was looking for the following tags: "
        "'elif' or "
        "'else' or 'endif'. The innermost block that needs to be closed is 'if'.");
  CHECK(run("{% foo %}").text == "template:1:4: syntax error: encountered unknown tag 'foo'.");
  CHECK(run("{% endif %}").text == "template:1:4: syntax error: encountered unknown tag 'endif'.");
  CHECK(run("a\n  {{ x|nosuch }}").text == "template:2:8: syntax error: no filter named 'nosuch'");
  CHECK(run("{{ x is nosuch }}").text == "template:1:6: syntax error: no test named 'nosuch'");
  CHECK(run("{{ 1 + }}").text == "template:1:8: syntax error: unexpected end of print statement");
  CHECK(run("{{ 1 2 }}").text ==
        "template:1:6: syntax error: expected end of print statement '}}', got integer");
  CHECK(run("{{ f(a=1, 2) }}").text ==
        "template:1:5: syntax error: invalid syntax for function call expression");
  CHECK(run("{% macro m(a=1, b) %}{% endmacro %}").text ==
        "template:1:18: syntax error: non-default argument follows default argument");
  CHECK(run("{% break %}").text == "template:1:4: syntax error: 'break' outside of a loop");
  CHECK(run("{# never closed").text == "template:1:1: syntax error: missing end of comment tag");
  CHECK(run("{% raw %}x").text == "template:1:10: syntax error: missing end of raw directive");
  CHECK(run("{{ (1 ]) }}").text == "template:1:7: syntax error: unexpected ']', expected ')'");
  CHECK(run("{% include 'x' %}").text.find("not supported") != std::string::npos);
  // columns count code points
  CHECK(run("héllo {{ 1 + }}").text == "template:1:14: syntax error: unexpected end of print statement");
}

TEST_CASE("run-time errors carry location and the Python exception", "[jinja][errors]") {
  auto e = run("\n\n  {{ 'a' + 1 }}");
  CHECK(e.code == errc::invalid_argument);
  CHECK(e.text == "template:3:10: TypeError: can only concatenate str (not \"int\") to str");
  CHECK(run("{% macro m() %}\n  {{ raise_exception('bad role') }}\n{% endmacro %}\n{{ m() }}").text ==
        "template:2:21: TemplateError: bad role");
  CHECK(run("{{ messages[0].nope.deeper }}").text ==
        "template:1:20: UndefinedError: 'dict object' has no attribute 'nope'");
  CHECK(run("{% for m in none %}{% endfor %}").text ==
        "template:1:13: TypeError: 'NoneType' object is not iterable");
  CHECK(run("{{ x.y }}").text == "template:1:5: UndefinedError: 'x' is undefined");
  CHECK(run("{{ [1].append(2) }}").text ==
        "template:1:14: SecurityError: access to attribute 'append' of 'list' object is unsafe.");
  CHECK(run("{% set d = {[1]: 2} %}").text == "template:1:13: TypeError: unhashable type: 'list'");
  CHECK(run("{{ {'a': 1} + 1 }}").text ==
        "template:1:13: TypeError: unsupported operand type(s) for +: 'dict' and 'int'");
  CHECK(run("{% set x.y = 1 %}").text ==
        "template:1:8: TemplateRuntimeError: cannot assign attribute on non-namespace object");
  CHECK(run("{% for a, b in [[1,2,3]] %}{% endfor %}").text ==
        "template:1:8: ValueError: too many values to unpack (expected 2)");
  CHECK(run("{{ 'ab' ~ 1 + 2 }}").text ==
        "template:1:13: TypeError: can only concatenate str (not \"int\") to str");
  CHECK(run("{{ 1/0 }}").text == "template:1:5: ZeroDivisionError: division by zero");
  CHECK(run("{{ 'a' < 1 }}").text ==
        "template:1:10: TypeError: '<' not supported between instances of 'str' and 'int'");
  CHECK(run("{{ 10 ** 20 }}").text == "template:1:7: OverflowError: integer result does not fit in 64 bits");
  CHECK(run("{{ 'x'[::0] }}").text == "template:1:7: ValueError: slice step cannot be zero");
  CHECK(run("{{ '%d' % 'x' }}").text ==
        "template:1:9: TypeError: %d format: a real number is required, not str");
  CHECK(run("{{ range(1000000) }}").text ==
        "template:1:9: OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE "
        "(100000).");
  CHECK(run("{{ 1 if false }}").ok);  // undefined result prints as nothing
}

TEST_CASE("hostile templates hit limits and fail cleanly", "[jinja][errors][limits]") {
  mmllm::jinja::limits lim;
  lim.max_steps = 200'000;
  lim.max_string_bytes = 1u << 20;
  lim.max_total_bytes = 8u << 20;
  lim.max_items = 1u << 16;
  const auto start = std::chrono::steady_clock::now();

  auto check_limit = [&](const std::string& src) {
    INFO(src.substr(0, 120));
    auto e = run(src, lim);
    CHECK_FALSE(e.ok);
    CHECK(e.code == errc::resource_limit);
    CHECK(e.text.find("template:") == 0);
  };
  // huge loops
  check_limit("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  // string blow-ups
  check_limit("{{ 'x' * 1000000000 }}");
  check_limit("{{ 'xy' * 9223372036854775807 }}");
  check_limit(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  check_limit(
      "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}");
  check_limit("{{ 'abc'|replace('', 'x' * 100000) }}{% for i in range(100) %}{{ 'y' * 100000 }}{% endfor %}");
  check_limit("{% for i in range(60000) %}{{ 'x' * 1000 }}{% endfor %}");
  // list blow-ups
  check_limit(
      "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");
  check_limit("{{ [1, 2] * 100000000 }}");
  // deeply nested values and shared structure (exponential repr)
  check_limit("{% set ns = namespace(l=[]) %}{% for i in range(10000) %}{% set ns.l = [ns.l] %}{% endfor %}");
  check_limit(
      "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}"
      "{{ ns.l }}");
  check_limit(
      "{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}"
      "{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}");
  check_limit("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}");
  // recursion
  check_limit("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  check_limit("{% macro f(n) %}{{ f(n + 1) ~ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  check_limit("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}");
  // deep syntactic nesting
  auto e = run("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", lim);
  CHECK(e.code == errc::malformed);
  CHECK(e.text.find("nesting exceeds") != std::string::npos);
  std::string ifs;
  for (int i = 0; i < 3000; ++i) ifs += "{% if true %}";
  e = run(ifs, lim);
  CHECK(e.code == errc::malformed);
  CHECK(e.text.find("nesting exceeds") != std::string::npos);
  e = run("{{ " + std::string(5000, '-') + "1 }}", lim);
  CHECK(e.code == errc::malformed);
  e = run("{{ " + std::string(20000, '[') + " }}", lim);
  CHECK(e.code == errc::malformed);
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  CHECK(run("{{ " + nots + "1 }}", lim).code == errc::malformed);
  // long left-associative chains build deep trees without nesting in the source
  std::string plus = "{{ 1", filters = "{{ 'x'", attrs = "{{ messages", calls = "{{ range";
  for (int i = 0; i < 20000; ++i) {
    plus += " + 1";
    filters += "|e";
    attrs += ".a";
    calls += "()";
  }
  for (const auto* src : {&plus, &filters, &attrs, &calls}) {
    e = run(*src + " }}", lim);
    CHECK(e.code == errc::malformed);
    CHECK(e.text.find("nested deeper than") != std::string::npos);
  }
  // elif chains stay flat: many branches are fine
  std::string elifs = "{% if false %}a";
  for (int i = 0; i < 5000; ++i) elifs += "{% elif false %}b";
  elifs += "{% else %}c{% endif %}";
  e = run(elifs, lim);
  CHECK(e.ok);
  CHECK(e.text == "c");

  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(secs < 60.0);
}

TEST_CASE("limits do not get in the way of ordinary templates", "[jinja][limits]") {
  auto ok = run("{% for i in range(1000) %}{{ i }}{% endfor %}");
  CHECK(ok.ok);
  CHECK(ok.text.size() == 2890);
  // 50 nested macro calls within the default 2 MiB stack budget, also in unoptimized
  // sanitizer builds (CI's meson stage, -O0 + ASan: tens of KB of stack per call level)
  CHECK(run("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(50) }}").ok);
}
