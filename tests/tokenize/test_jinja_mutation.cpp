// Bounded mutation test of the Jinja engine: every fixture chat template, mutated many times
// with a fixed seed (byte flips, deletions, duplicated spans, injected tag and expression
// fragments), must parse and render under tight limits to either output or a clean error
// that names a line and column inside the template. Complements the libFuzzer target
// tests/fuzz/fuzz_jinja.cpp with a deterministic run in every CI build.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/jinja_template.hpp>

namespace {

using mmllm::errc;
using mmllm::jinja::value;

struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

constexpr std::array<std::string_view, 40> fragments = {"{{",
                                                        "}}",
                                                        "{%",
                                                        "%}",
                                                        "{#",
                                                        "#}",
                                                        "{%-",
                                                        "-%}",
                                                        "(",
                                                        ")",
                                                        "[",
                                                        "]",
                                                        "{",
                                                        "}",
                                                        "'",
                                                        "\"",
                                                        "|",
                                                        ".",
                                                        ",",
                                                        " if ",
                                                        " else ",
                                                        " in ",
                                                        " not ",
                                                        " is defined",
                                                        "{% for x in messages %}",
                                                        "{% endfor %}",
                                                        "{% if true %}",
                                                        "{% endif %}",
                                                        "loop.index",
                                                        "namespace(a=1)",
                                                        " * 99999999",
                                                        "|tojson",
                                                        "|join",
                                                        "range(100000)",
                                                        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
                                                        "~",
                                                        "**",
                                                        "\xff",
                                                        "\xe2\x82",
                                                        "{% raw %}"};

std::string mutate(const std::string& src, rng& r) {
  std::string s = src;
  const std::size_t n_ops = 1 + r.below(4);
  for (std::size_t k = 0; k < n_ops; ++k) {
    const std::size_t pos = r.below(s.size() + 1);
    switch (r.below(5)) {
      case 0:
        if (!s.empty()) s[r.below(s.size())] = static_cast<char>(r.next() & 0xFF);
        break;
      case 1: s.erase(pos, r.below(16)); break;
      case 2: {
        const std::size_t from = r.below(s.size() + 1);
        s.insert(pos, s.substr(from, r.below(64)));
        break;
      }
      default: s.insert(pos, fragments[r.below(fragments.size())]); break;
    }
  }
  return s;
}

value conversation() {
  const value call = value::make_dict(
      {{"id", "call_0001"},
       {"type", "function"},
       {"function", value::make_dict({{"name", "get_weather"},
                                      {"arguments", value::make_dict({{"location", "Paris"}})}})}});
  return value::make_list({
      value::make_dict({{"role", "system"}, {"content", "You are helpful."}}),
      value::make_dict({{"role", "user"}, {"content", "Hello"}}),
      value::make_dict({{"role", "assistant"}, {"content", ""}, {"tool_calls", value::make_list({call})}}),
      value::make_dict({{"role", "tool"}, {"tool_call_id", "call_0001"}, {"content", "{\"t\": 18}"}}),
      value::make_dict({{"role", "user"}, {"content", "Thanks"}}),
  });
}

/// "template:<line>:<column>: ..." with the position inside the (normalised) source.
bool located_inside(const std::string& msg, const std::string& src) {
  if (msg.rfind("template:", 0) != 0) return false;
  std::size_t p = 9;
  auto number = [&](std::size_t& v) {
    const std::size_t start = p;
    v = 0;
    while (p < msg.size() && msg[p] >= '0' && msg[p] <= '9')
      v = v * 10 + static_cast<std::size_t>(msg[p++] - '0');
    return p > start && p < msg.size() && msg[p++] == ':';
  };
  std::size_t line = 0, col = 0;
  if (!number(line) || !number(col)) return false;
  std::size_t lines = 1;
  for (char c : src) lines += (c == '\n' || c == '\r') ? 1 : 0;
  return line >= 1 && line <= lines && col >= 1 && col <= src.size() + 1;
}

}  // namespace

TEST_CASE("mutated chat templates fail cleanly or render within limits", "[jinja][mutation]") {
  std::vector<std::string> sources;
  for (const auto& e : std::filesystem::directory_iterator(mmllm::test::fixture_path("templates")))
    if (e.path().extension() == ".jinja") sources.push_back(mmllm::test::read_text(e.path()));
  for (const char* name : {"llama3", "qwen3", "gemma3"})
    sources.push_back(mmllm::test::read_text(
        mmllm::test::fixture_path(std::string("templates/expected/") + name + "/template.jinja")));
  REQUIRE(sources.size() == 20);

  mmllm::jinja::limits lim;
  lim.max_nesting = 64;
  lim.max_call_depth = 32;
  lim.max_steps = 50'000;
  lim.max_string_bytes = 256u << 10;
  lim.max_total_bytes = 4u << 20;
  lim.max_items = 10'000;
  const value messages = conversation();
  rng r{0x9E3779B97F4A7C15ull};
  int parsed = 0, rendered = 0, runtime_errors = 0, syntax_errors = 0, bad = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 500; ++round) {
    for (const auto& original : sources) {
      const std::string src = mutate(original, r);
      mmllm::jinja::parse_options po;
      po.max_nesting = lim.max_nesting;
      auto t = mmllm::jinja::jinja_template::parse(src, po);
      if (!t) {
        ++syntax_errors;
        if (t.error().code != errc::malformed || !located_inside(t.error().message, src)) {
          ++bad;
          UNSCOPED_INFO("bad syntax error: " << t.error().message);
        }
        continue;
      }
      ++parsed;
      mmllm::jinja::render_options ro;
      ro.limits = lim;
      ro.now = mmllm::jinja::date_time{2025, 11, 25, 12, 0, 0};
      auto out = t->render({{"messages", messages},
                            {"tools", value()},
                            {"add_generation_prompt", value(round % 2 == 0)},
                            {"bos_token", value("<s>")},
                            {"eos_token", value("</s>")}},
                           ro);
      if (out) {
        ++rendered;
        if (out->size() > lim.max_string_bytes) ++bad;
      } else {
        ++runtime_errors;
        const auto code = out.error().code;
        if ((code != errc::invalid_argument && code != errc::resource_limit) ||
            !located_inside(out.error().message, src)) {
          ++bad;
          UNSCOPED_INFO("bad run-time error: " << out.error().message);
        }
      }
    }
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("parsed " << parsed << ", rendered " << rendered << ", run-time errors " << runtime_errors
                 << ", syntax errors " << syntax_errors << ", " << secs << " s");
  CHECK(bad == 0);
  CHECK(parsed > 1000);  // the mutations keep many templates valid
  CHECK(rendered > 300);
  CHECK(secs < 120.0);
}
