// libFuzzer target: arbitrary bytes as a Jinja chat template. Parses with tight limits and,
// when that succeeds, renders a conversation that exercises what chat templates touch
// (system/user/assistant/tool messages, tool calls, content parts, tools, special tokens),
// directly and through the chat_template API. Any outcome other than success or a clean,
// located error ("template:<line>:<column>: ...") aborts.
// Built only with MMLLM_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined); scripts/test
// fuzz seeds it with the fixture chat templates (fuzz_jinja.seed_dirs: templates).
#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/jinja_template.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using mmllm::errc;
using mmllm::jinja::value;

value conversation() {
  const value call = value::make_dict(
      {{"id", "call_0001"},
       {"type", "function"},
       {"function",
        value::make_dict({{"name", "get_weather"},
                          {"arguments", value::make_dict({{"location", "Paris"}, {"unit", "celsius"}})}})}});
  return value::make_list({
      value::make_dict({{"role", "system"}, {"content", "You are helpful."}}),
      value::make_dict(
          {{"role", "user"},
           {"content", value::make_list({value::make_dict({{"type", "text"}, {"text", "What is this?"}}),
                                         value::make_dict({{"type", "image"}})})}}),
      value::make_dict({{"role", "assistant"}, {"content", ""}, {"tool_calls", value::make_list({call})}}),
      value::make_dict({{"role", "tool"}, {"tool_call_id", "call_0001"}, {"content", "{\"t\": 18}"}}),
      value::make_dict({{"role", "assistant"}, {"content", "<think>\nhm\n</think>\n\nIt is 18 °C."}}),
      value::make_dict({{"role", "user"}, {"content", "Thanks! 日本語 🦙"}}),
  });
}

value tools() {
  return value::make_list({value::make_dict(
      {{"type", "function"},
       {"function",
        value::make_dict(
            {{"name", "get_weather"},
             {"description", "Get the weather."},
             {"parameters",
              value::make_dict(
                  {{"type", "object"},
                   {"properties", value::make_dict({{"location", value::make_dict({{"type", "string"}})}})},
                   {"required", value::make_list({"location"})}})}})}})});
}

mmllm::jinja::limits tight_limits() {
  mmllm::jinja::limits l;
  l.max_nesting = 64;
  l.max_call_depth = 64;
  l.max_eval_depth = 600;
  l.max_steps = 100'000;
  l.max_string_bytes = 256u << 10;
  l.max_total_bytes = 4u << 20;
  l.max_items = 10'000;
  return l;
}

void check_error(const mmllm::error& e, bool parsing) {
  const bool code_ok = parsing ? e.code == errc::malformed
                               : (e.code == errc::invalid_argument || e.code == errc::resource_limit);
  if (!code_ok || e.message.rfind("template:", 0) != 0) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (64u << 10)) return 0;
  const std::string_view src(reinterpret_cast<const char*>(data), size);
  const auto lim = tight_limits();
  mmllm::jinja::parse_options po;
  po.max_nesting = lim.max_nesting;
  auto t = mmllm::jinja::jinja_template::parse(src, po);
  if (!t) {
    check_error(t.error(), true);
    return 0;
  }
  static const value messages = conversation();
  static const value tool_list = tools();
  mmllm::jinja::render_options ro;
  ro.limits = lim;
  ro.now = mmllm::jinja::date_time{2025, 11, 25, 12, 0, 0};
  const bool gen = size % 2 == 0;
  auto out = t->render({{"messages", messages},
                        {"tools", size % 3 == 0 ? value() : tool_list},
                        {"documents", value()},
                        {"add_generation_prompt", value(gen)},
                        {"bos_token", value("<s>")},
                        {"eos_token", value("</s>")}},
                       ro);
  if (!out) {
    check_error(out.error(), false);
  } else if (out->size() > lim.max_string_bytes) {
    std::fprintf(stderr, "output exceeds the limit: %zu bytes\n", out->size());
    std::abort();
  }

  // The chat API: parse-time probes and content-part preparation.
  auto c = mmllm::chat_template::parse(src, "template", lim);
  if (!c) {
    check_error(c.error(), true);
    return 0;
  }
  mmllm::chat_template_options opt;
  opt.limits = lim;
  opt.now = ro.now;
  opt.bos_token = "<s>";
  opt.add_generation_prompt = gen;
  auto p = c->render(messages, opt);
  if (!p) check_error(p.error(), false);
  return 0;
}
