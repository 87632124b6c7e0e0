// Jinja semantics against known Python Jinja2 3.1 behaviour (with Hugging Face's settings:
// trim_blocks, lstrip_blocks, loopcontrols, transformers' tojson). Each expected string is
// what Python produces for the template.
#include <string>
#include <utility>

#include "catch.hpp"

#include <mmllm/tokenize/jinja_template.hpp>

namespace {

using mmllm::jinja::value;

value messages() {
  return value::make_list({value::make_dict({{"role", "system"}, {"content", " sys msg "}}),
                           value::make_dict({{"role", "user"}, {"content", "hi there"}})});
}

std::string render(const std::string& src, const mmllm::jinja::variables& vars = {}) {
  auto t = mmllm::jinja::jinja_template::parse(src);
  if (!t) return "PARSE ERROR: " + t.error().message;
  mmllm::jinja::render_options ro;
  ro.now = mmllm::jinja::date_time{2025, 11, 25, 12, 0, 0};
  auto out = t->render(vars, ro);
  if (!out) return "ERROR: " + out.error().message;
  return *out;
}

std::string render_ctx(const std::string& src) {
  return render(src, {{"x", value("<v>")}, {"messages", messages()}});
}

}  // namespace

TEST_CASE("printing values like Python str()", "[jinja]") {
  CHECK(render("{{ [1,'a'] }}") == "[1, 'a']");
  CHECK(render("{{ 1/2 }} {{ 10/5 }}") == "0.5 2.0");
  CHECK(render("{{ 'x' * 3 }} {{ 3 * 'ab' }} {{ [1,2] * 2 }}") == "xxx ababab [1, 2, 1, 2]");
  CHECK(render("{{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 1.0 }} {{ 100.0 }} {{ 123456789.0 * 1000 }}") ==
        "1e+16 1e-05 0.30000000000000004 1.0 100.0 123456789000.0");
  CHECK(render("{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}") == "True False None True None");
  CHECK(render("{{ {'a': 1, 'b': [1, 2.5, 'x', none, true]} }}") ==
        "{'a': 1, 'b': [1, 2.5, 'x', None, True]}");
  CHECK(render("{{ ('a',) }} {{ () }} {{ (1, 2) }}") == "('a',) () (1, 2)");
  CHECK(render("{{ [\"it's\", 'say \"hi\"', 'both \\' \"'] }}") == "[\"it's\", 'say \"hi\"', 'both \\' \"']");
  CHECK(render("{{ ['a\\nb\\tc\\\\'] }}") == "['a\\nb\\tc\\\\']");
  CHECK(render("{{ {1: 'a', 1.0: 'b', true: 'c'} }}") == "{1: 'c'}");
  CHECK(render("{{ {'b':1,'a':2}.items() }} {{ {'b':1}.keys() }} {{ {'b':1}.values() }}") ==
        "dict_items([('b', 1), ('a', 2)]) dict_keys(['b']) dict_values([1])");
  CHECK(render("{{ x }}|{{ x is defined }}") == "|False");  // undefined prints as nothing
}

TEST_CASE("arithmetic, comparison and membership follow Python", "[jinja]") {
  CHECK(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}") ==
        "3 -4 1 2 3.0 0.5");
  CHECK(render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }} {{ 2.0 ** 0.5 }}") ==
        "1024 0.5 64 1.4142135623730951");
  // `~` binds tighter than + and -; unary minus tighter than **
  CHECK(render(
            "{{ 'a' ~ 'b' | upper }} {{ -2 ** 2 }} {{ 2 + 3 * 4 }} {{ 'ab' ~ (1 + 2) }} {{ (1 + 2) ~ 3 }}") ==
        "aB 4 14 ab3 33");
  CHECK(render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ true "
               "== 1 }}") == "True False True True True True");
  CHECK(render("{{ 'a' in 'abc' }} {{ 1 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}") ==
        "True True True True");
  CHECK(render("{{ 'a' ~ 1 ~ none ~ [1] }}") == "a1None[1]");
  CHECK(render("{{ 1 if true else 2 }} {{ 1 if false else 2 }} {{ (1 if false) is defined }}") ==
        "1 2 False");
  CHECK(render("{{ not true }} {{ not 0 }} {{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 'z' }}") ==
        "False True x y ");
}

TEST_CASE("strings: methods, slicing and Unicode", "[jinja]") {
  CHECK(
      render(
          "{{ '  hi  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
          "{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}") ==
      "hi|hi|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']");
  CHECK(
      render("{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x','lo')) }} {{ 'hello world'.title() }} "
             "{{ 'hELLO'.capitalize() }} {{ 'abc'.upper() }}") == "True True Hello World Hello ABC");
  CHECK(render("{{ 'abcdef'[1:3] }} {{ 'abcdef'[::-1] }} {{ [1,2,3,4][-2:] }} {{ [1,2,3,4][::2] }} {{ "
               "'héllo'[1] }} "
               "{{ 'héllo'[-1] }} {{ [1,2,3][5:] }}") == "bc fedcba [3, 4] [1, 3] é o []");
  CHECK(render("{{ 'abc'.find('c') }} {{ 'abc'.rfind('z') }} {{ 'a-b-c'.count('-') }} {{ 'ab'.zfill(5) }} "
               "{{ 'a'.ljust(3,'.') }}| {{ 'a=b'.partition('=') }}") == "2 -1 2 000ab a..| ('a', '=', 'b')");
  CHECK(render("{{ '<think>x</think>\\n\\nanswer'.split('</think>')[-1].lstrip('\\n') }}") == "answer");
  CHECK(render("{{ 'é'.upper() }} {{ 'ÉCOLE'.lower() }} {{ 'straße'.upper() }} {{ 'ПРИВЕТ'.lower() }}") ==
        "É école STRASSE привет");
  CHECK(render("{{ 'héllo'|length }} {{ '日本語'[1:] }} {{ '日本語'|reverse }}") == "5 本語 語本日");
  CHECK(render("{{ '{}-{}'.format(1, 'a') }} {{ '{0:>5}|{1:.3f}|{x}'.format('ab', 2.5, x=3) }} {{ "
               "'{:,}'.format(1234567) }}") == "1-a    ab|2.500|3 1,234,567");
  CHECK(render("{{ '%s' % 'a' }} {{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 5 }} {{ '%(x)s' % {'x': 1} }} {{ "
               "'%r' % 'a' }}") == "a a and b 5% 1 'a'");
  CHECK(render("{{ 'a\\u00e9\\x41\\101\\t|' }}") == "aéAA\t|");
}

TEST_CASE("loops: loop variables, filters, else, break/continue, recursion", "[jinja]") {
  CHECK(
      render("{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
             "{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}") ==
      "1032TrueFalse3|2121FalseFalse3|3210FalseTrue3|");
  CHECK(render("{% for x in 'abc' %}{{ loop.cycle('odd','even') }}{{ x }}{% endfor %}") == "oddaevenboddc");
  CHECK(render("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}") == "-2;1-3;2-;");
  CHECK(render("{% for x in [1,2,3,4] if x is odd %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}"
               "{% for x in [] %}{% else %}empty{% endfor %}") == "1232empty");
  CHECK(render("{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break "
               "%}{% endif %}"
               "{{ x }}{% endfor %}") == "13");
  CHECK(render("{% for a, b in [[1,2],[3,4]] %}{{ a }}{{ b }}{% endfor %}{% for k, v in {'x': 1}.items() "
               "%}{{ k }}={{ v }}"
               "{% endfor %}") == "1234x=1");
  CHECK(render("{% for x in [1,1,2,2,1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}") == "121");
  CHECK(render("{% for x in [1,2] %}{% for y in [3,4] %}{{ loop.index }}{{ x }}{{ y }} {% endfor %}{{ "
               "loop.index }}|"
               "{% endfor %}") == "113 214 1|123 224 2|");
  const value tree = value::make_list(
      {value::make_dict({{"n", 1},
                         {"c", value::make_list({value::make_dict({{"n", 2}, {"c", value::make_list({})}}),
                                                 value::make_dict({{"n", 3}})})}}),
       value::make_dict({{"n", 4}})});
  CHECK(render("{% for item in tree recursive %}<{{ item.n }}{% if item.c %}:{{ loop(item.c) }}{% endif %}>"
               "{% endfor %}",
               {{"tree", tree}}) == "<1:<2><3>><4>");
  CHECK(render("{% for i in messages[::-1] %}{{ i.role }} {% endfor %}", {{"messages", messages()}}) ==
        "user system ");
}

TEST_CASE("scoping: set in loops vs namespace, macros", "[jinja]") {
  CHECK(render("{% set a = 0 %}{% for i in [1,2,3] %}{% set a = a + i %}{{ a }}{% endfor %}{{ a }}") ==
        "1230");
  CHECK(render("{% set ns = namespace(a=0) %}{% for i in [1,2,3] %}{% set ns.a = ns.a + i %}{% endfor %}{{ "
               "ns.a }}") == "6");
  CHECK(render("{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}") == "2");
  CHECK(render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}") == "3");
  CHECK(render("{% macro m(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ m(1) }} {{ m(1, c=3) }} "
               "{{ m(1,2,3) }}") == "1-2-x 1-2-3 1-2-3");
  CHECK(render("{% macro m(a) %}{{ a }}|{{ varargs }}|{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}") ==
        "1|(2, 3)|{'x': 4}");
  CHECK(render("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}") == "[]");
  CHECK(render("{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}inner{% endcall %}") == "<inner>");
  CHECK(render("{% macro m(x) %}<{{ caller(x*2) }}>{% endmacro %}{% call(v) m(5) %}v={{ v }}{% endcall %}") ==
        "<v=10>");
  CHECK(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}") ==
        "54321");
  // macros see the scope they were defined in at call time (namespace shared)
  CHECK(render("{% set ns = namespace(v=1) %}{% macro g() %}{{ ns.v }}{% endmacro %}{% set ns.v = 7 %}{{ g() "
               "}}") == "7");
  CHECK(render("{% set x %}  block {{ 1 }} {% endset %}[{{ x }}]{% set y | upper %}abc{% endset %}{{ y }}") ==
        "[  block 1 ]ABC");
  CHECK(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}") == "12");
  CHECK(render("{% filter upper %}hello {{ 'x' }}{% endfilter %}") == "HELLO X");
}

TEST_CASE("whitespace control with trim_blocks and lstrip_blocks", "[jinja]") {
  CHECK(render("a\n  {%- if true %}\n  b\n  {% endif %}\n  c\n") == "a  b\n  c");
  CHECK(render("  {% if true %}\n    x\n  {% endif %}\n") == "    x\n");
  CHECK(render("{{ 'a' }}  {% if true %}b{% endif %}") == "a  b");  // not at line start: no lstrip
  CHECK(render("x {%+ if true %}y{% endif %}") == "x y");
  CHECK(render("{% if true +%}\nz{% endif %}") == "\nz");
  CHECK(render("{# comment #}\nA\n  {# c2 #}\nB") == "A\nB");
  CHECK(render("{%- set x = 5 -%}\n\n   {{- x -}}   \n\n") == "5");
  CHECK(render("{{- ' a ' -}}") == " a ");
  CHECK(render("{% raw %}{{ not }}{% endraw %}\nX") == "{{ not }}X");
  CHECK(render("\r\nx\r\n{% if true %}\r\ny\r\n{% endif %}\r\n") == "\nx\ny\n");
  CHECK(render("trailing\n") == "trailing");
  CHECK(render("trailing\n\n") == "trailing\n");
  CHECK(render("{%- for m in messages %}\n  {{- m.role }}: {{ m.content }}\n{% endfor %}",
               {{"messages", messages()}}) == "system:  sys msg \nuser: hi there\n");
}

TEST_CASE("filters", "[jinja]") {
  CHECK(render("{{ [3,1,2]|sort }} {{ ['b','A','c']|sort }} {{ ['b','A','c']|sort(case_sensitive=true) }} "
               "{{ [3,1,2]|sort(reverse=true) }}") == "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1]");
  CHECK(render("{{ [1,2,3]|join(',') }} {{ [1,2,3]|sum }} {{ [1,2,3]|first }} {{ [1,2,3]|last }} {{ "
               "[1,2,3]|length }}") == "1,2,3 6 1 3 3");
  CHECK(render("{{ [{'a':1},{'a':2}]|map(attribute='a')|list }} {{ ['a','b']|map('upper')|join }}") ==
        "[1, 2] AB");
  CHECK(render("{{ [{'t':'x','v':1},{'t':'y','v':2}]|selectattr('t','equalto','y')|list }} "
               "{{ [1,2,3,4]|select('odd')|list }} {{ [1,2,3,4]|reject('odd')|list }}") ==
        "[{'t': 'y', 'v': 2}] [1, 3] [2, 4]");
  CHECK(render("{{ {'b':1,'a':2}|dictsort }} {{ {'b':1,'a':2}|items|list }}") ==
        "[('a', 2), ('b', 1)] [('b', 1), ('a', 2)]");
  CHECK(render("{{ [1,2,2,3,1]|unique|list }} {{ ['a','A','b']|unique|list }}") == "[1, 2, 3] ['a', 'b']");
  CHECK(render("{{ 'hello'|replace('l','L') }} {{ 'aaa'|replace('a','b',2) }}") == "heLLo bba");
  CHECK(render("{{ '  x  '|trim }}|{{ 'xxyxx'|trim('x') }}") == "x|y");
  CHECK(render("{{ 'hello world'|title }} {{ \"they're bill's\"|title }} {{ 'HELLO'|lower }} {{ "
               "'abc'|capitalize }}") == "Hello World They're Bill's hello Abc");
  CHECK(render("{{ 3.7|int }} {{ '42'|int }} {{ 'x'|int }} {{ '3.5'|int }} {{ '0x1A'|int(base=16) }} {{ "
               "'3.5'|float }} "
               "{{ 'a'|float }} {{ 2|float }}") == "3 42 0 3 26 3.5 0.0 2.0");
  CHECK(render("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3.14159|round(2, 'floor') }} {{ "
               "3|round }}") == "2.0 4.0 2.67 3.14 3");
  CHECK(render("{{ 'line1\\nline2\\n\\nline3'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}") ==
        "line1\n  line2\n\n  line3|  a\n  b");
  CHECK(render("{{ 'hello world foo bar'|truncate(9) }}|{{ 'hello world'|truncate(5, true) }}|{{ "
               "'hello'|truncate(20) }}") == "hello...|he...|hello");
  CHECK(
      render(
          "{{ x|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|default('d') }}") ==
      "d  d None");
  CHECK(render("{{ [1,2,3,4,5]|batch(2)|list }} {{ [1,2,3,4,5]|slice(2)|list }}") ==
        "[[1, 2], [3, 4], [5]] [[1, 2, 3], [4, 5]]");
  CHECK(render("{{ '%s-%d-%.2f'|format('a', 3, 1.5) }} {{ '%05.1f|%-4d|%x'|format(3.14159, 7, 255) }}") ==
        "a-3-1.50 003.1|7   |ff");
  CHECK(render("{{ [3,1,2]|max }} {{ [3,1,2]|min }} {{ ['b','A']|max }}") == "3 1 b");
  CHECK(render("{% for g in [{'g':'x','v':1},{'g':'y','v':2},{'g':'x','v':3}]|groupby('g') %}{{ g.grouper }}:"
               "{{ g.list|map(attribute='v')|list }};{% endfor %}") == "x:[1, 3];y:[2];");
  CHECK(render("{{ 'a b  c'|wordcount }} [{{ 'x'|center(5) }}] {{ '<b>x</b>'|striptags }} {{ '<a&b>'|e }}") ==
        "3 [  x  ] x &lt;a&amp;b&gt;");
  CHECK(render("{{ range(5)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }}") ==
        "[0, 1, 2, 3, 4] [1, 4, 7] [5, 3, 1]");
}

TEST_CASE("tojson is transformers' json.dumps", "[jinja]") {
  CHECK(render("{{ {'a': 'x', 'b': [1, 2]}|tojson }} {{ {'a': 'é'}|tojson }}") ==
        "{\"a\": \"x\", \"b\": [1, 2]} {\"a\": \"é\"}");
  CHECK(render("{{ [1, 2]|tojson(indent=2) }}") == "[\n  1,\n  2\n]");
  CHECK(render("{{ {'a': {'b': []}}|tojson(indent=4) }}") == "{\n    \"a\": {\n        \"b\": []\n    }\n}");
  CHECK(render("{{ 'a\"b\\\\c\\n'|tojson }} {{ 1.0|tojson }} {{ none|tojson }} {{ true|tojson }}") ==
        "\"a\\\"b\\\\c\\n\" 1.0 null true");
  CHECK(render("{{ [1, 2]|tojson(separators=(',', ':')) }} {{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}") ==
        "[1,2] {\"a\": 2, \"b\": 1}");
  CHECK(render("{{ [1]|map('string')|tojson }}")
            .find("TypeError: Object of type generator is not JSON serializable") != std::string::npos);
}

TEST_CASE("tests, defined-ness and attribute access", "[jinja]") {
  CHECK(render_ctx("{{ x is defined }} {{ y is defined }} {{ none is none }} {{ 3 is odd }} {{ 4 is even }} "
                   "{{ 6 is divisibleby 3 }}") == "True False True True True True");
  CHECK(render_ctx(
            "{{ x is string }} {{ x is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} "
            "{{ {} is mapping }} {{ [] is iterable }} {{ 'x' is iterable }} {{ undefined_var is iterable }} "
            "{{ {} is sequence }}") == "True False True True True True True True True True");
  CHECK(render_ctx("{{ messages[0]['role'] }} {{ messages[0].content }}|{{ messages[5] }}|{{ "
                   "messages[0]['nope'] }}|") == "system  sys msg |||");
  CHECK(render_ctx("{{ (messages|last).role }} {{ messages|length }} {{ "
                   "messages|map(attribute='role')|join(',') }}") == "user 2 system,user");
  CHECK(render_ctx("{{ 'abc'[0] }} {{ 'abc'.0 }} {{ [1,2].1 }}") == "a a 2");
  CHECK(render_ctx("{{ [1, 2, 3].index(2) }} {{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b') }} {{ {'a': "
                   "1}.get('b', 5) }}") == "1 1 None 5");
  CHECK(render_ctx("{{ x|e }} {{ '<&>'|safe }} {{ '<'|safe + '<' }} {{ '<' + '<'|safe }}") ==
        "&lt;v&gt; <&> <&lt; &lt;<");
  CHECK(render("{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %p %-d') }}") ==
        "25 Nov 2025 2025-11-25 12:00:00 Tuesday November 329 PM 25");
  CHECK(render("{{ namespace(a=1).a }} {{ dict(a=1, b=2) }} {{ raise_exception is defined }}") ==
        "1 {'a': 1, 'b': 2} True");
}
