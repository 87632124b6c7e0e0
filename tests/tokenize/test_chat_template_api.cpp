// The chat-template API: capability probing, content parts (text / media) handling,
// special tokens and extra variables, tokenizer_config selection, concurrent rendering.
// Expected prompts are what Python Jinja2 renders for the equivalent string/part messages.
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "fixtures.hpp"

#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/chat_template_json.hpp>

namespace {

using json = nlohmann::ordered_json;
using mmllm::jinja::value;

mmllm::chat_template load(const std::string& rel) {
  auto t = mmllm::chat_template::parse(mmllm::test::read_text(mmllm::test::fixture_path(rel)), rel);
  REQUIRE(t.has_value());
  return *t;
}

const json content_parts_messages = json::parse(R"([
  {"role": "system", "content": [{"type": "text", "text": "Describe images briefly."}]},
  {"role": "user", "content": [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    {"type": "text", "text": "Answer in one word."}]}
])");

}  // namespace

TEST_CASE("templates are probed for typed content", "[chat_template]") {
  auto gemma3 = load("templates/expected/gemma3/template.jinja");
  CHECK(gemma3.caps().renders_typed_content);
  CHECK(gemma3.caps().renders_string_content);
  auto qwen25 = load("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  CHECK_FALSE(qwen25.caps().renders_typed_content);  // str + list -> TypeError
  CHECK(qwen25.caps().renders_string_content);
  auto llama3 = load("templates/expected/llama3/template.jinja");
  CHECK_FALSE(llama3.caps().renders_typed_content);  // prints the Python repr of the list
  CHECK(llama3.caps().renders_string_content);
}

TEST_CASE("content parts are flattened for templates without typed content", "[chat_template]") {
  auto tmpl = load("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  mmllm::chat_template_options opt;
  opt.eos_token = "<|im_end|>";
  auto p = mmllm::render_chat_template(tmpl, content_parts_messages, opt);
  REQUIRE(p.has_value());
  // llama.cpp's server: text parts and the media marker joined with "\n"
  CHECK(p->text ==
        "<|im_start|>system\nDescribe images briefly.<|im_end|>\n<|im_start|>user\nWhat is in this picture?\n"
        "<__media__>\nAnswer in one word.<|im_end|>\n<|im_start|>assistant\n");
  REQUIRE(p->media.size() == 1);
  CHECK(p->media[0].message_index == 1);
  CHECK(p->media[0].part_index == 1);
  CHECK(p->media[0].kind == mmllm::chat_media_kind::image);
  CHECK(p->marker_count == 1);

  opt.media_marker = "<image>";
  auto custom = mmllm::apply_chat_template(tmpl, content_parts_messages, opt);
  REQUIRE(custom.has_value());
  CHECK(custom->find("What is in this picture?\n<image>\nAnswer in one word.") != std::string::npos);

  opt.content_parts = mmllm::content_parts_mode::as_is;  // what transformers would do
  auto as_is = mmllm::apply_chat_template(tmpl, content_parts_messages, opt);
  REQUIRE_FALSE(as_is.has_value());
  CHECK(as_is.error().message.find("TypeError: can only concatenate str (not \"list\") to str") !=
        std::string::npos);
}

TEST_CASE("content parts reach templates that iterate them", "[chat_template]") {
  auto tmpl = load("templates/expected/gemma3/template.jinja");
  mmllm::chat_template_options opt;
  opt.bos_token = "<bos>";
  auto p = mmllm::render_chat_template(tmpl, content_parts_messages, opt);
  REQUIRE(p.has_value());
  CHECK(p->text ==
        "<bos><start_of_turn>user\nDescribe images briefly.\n\nWhat is in this picture?<__media__>Answer in "
        "one "
        "word.<end_of_turn>\n<start_of_turn>model\n");
  CHECK(p->marker_count == 1);

  // typed media parts: the template renders its own image token, as transformers would for
  // {"type": "image"} parts (the fixture recording of gemma3 / content_parts)
  opt.media_parts = mmllm::media_parts_mode::typed;
  const json conv = json::parse(mmllm::test::read_text(
      mmllm::test::fixture_path("templates/expected/conversations.json")))["content_parts"];
  auto typed = mmllm::apply_chat_template(tmpl, conv["messages"], opt);
  REQUIRE(typed.has_value());
  CHECK(*typed ==
        mmllm::test::read_text(mmllm::test::fixture_path("templates/expected/gemma3/content_parts.gen.txt")));

  opt.content_parts = mmllm::content_parts_mode::flatten;
  opt.media_parts = mmllm::media_parts_mode::marker_text;
  auto flat = mmllm::apply_chat_template(tmpl, content_parts_messages, opt);
  REQUIRE(flat.has_value());
  CHECK(flat->find("What is in this picture?\n<__media__>\nAnswer in one word.") != std::string::npos);
}

TEST_CASE("OpenAI media part types and invalid content", "[chat_template]") {
  auto tmpl = load("templates/expected/qwen3/template.jinja");
  const json msgs = json::parse(R"([{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
      {"type": "text", "text": "Describe."},
      {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}]}])");
  mmllm::chat_template_options opt;
  opt.extra_variables.emplace_back("enable_thinking", value(false));
  auto p = mmllm::render_chat_template(tmpl, msgs, opt);
  REQUIRE(p.has_value());
  CHECK(p->text ==
        "<|im_start|>user\n<__media__>\nDescribe.\n<__media__><|im_end|>\n<|im_start|>assistant\n<think>\n\n<"
        "/think>\n\n");
  REQUIRE(p->media.size() == 2);
  CHECK(p->media[0].kind == mmllm::chat_media_kind::image);
  CHECK(p->media[1].kind == mmllm::chat_media_kind::audio);
  CHECK(p->media[1].part_index == 2);
  CHECK(p->marker_count == 2);

  auto bad =
      mmllm::apply_chat_template(tmpl, json::parse(R"([{"role": "user", "content": [{"type": "file"}]}])"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == mmllm::errc::invalid_argument);
  CHECK(bad.error().message.find("unsupported content part type 'file'") != std::string::npos);
  auto untyped =
      mmllm::apply_chat_template(tmpl, json::parse(R"([{"role": "user", "content": [{"text": "x"}]}])"));
  REQUIRE_FALSE(untyped.has_value());
  auto not_list = tmpl.apply(value("hello"));
  REQUIRE_FALSE(not_list.has_value());
  CHECK(not_list.error().code == mmllm::errc::invalid_argument);
}

TEST_CASE("special tokens, tools, extra variables and the clock", "[chat_template]") {
  auto tmpl = load("templates/meta-llama-Llama-3.2-3B-Instruct.jinja");
  const json msgs = json::parse(R"([{"role": "user", "content": "Hello!"}])");
  mmllm::chat_template_options opt;
  opt.bos_token = "<|begin_of_text|>";
  opt.now = mmllm::jinja::date_time{2024, 2, 29, 8, 5, 0};
  auto p = mmllm::apply_chat_template(tmpl, msgs, opt);
  REQUIRE(p.has_value());
  CHECK(
      *p ==
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
      "Today Date: 29 Feb 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n");
  opt.add_generation_prompt = false;
  opt.bos_token.reset();  // unset special tokens are undefined: they print as nothing
  opt.extra_variables.emplace_back("date_string", value("1 Jan 2000"));
  auto q = mmllm::apply_chat_template(tmpl, msgs, opt);
  REQUIRE(q.has_value());
  CHECK(q->rfind("<|start_header_id|>system", 0) == 0);
  CHECK(q->find("Today Date: 1 Jan 2000") != std::string::npos);
  CHECK(q->find("assistant") == std::string::npos);

  // a template that iterates tools fails without them, like it does under transformers
  auto hermes = load("templates/NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja");
  auto err = mmllm::apply_chat_template(hermes, msgs);
  REQUIRE_FALSE(err.has_value());
  CHECK(err.error().message.find("TypeError: 'NoneType' object is not iterable") != std::string::npos);
  auto tools = json::parse(R"([{"type": "function", "function": {"name": "f", "description": "d",
      "parameters": {"type": "object", "properties": {}}}}])");
  auto with_tools = mmllm::apply_chat_template(hermes, msgs, {}, tools);
  REQUIRE(with_tools.has_value());
  CHECK(with_tools->find(
            "{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"f() - d\n\n\", "
            "\"parameters\": {}} </tools>") != std::string::npos);
}

TEST_CASE("named templates of tokenizer_config.json", "[chat_template]") {
  const json cfg = json::parse(R"({
    "bos_token": {"__type": "AddedToken", "content": "<BOS_TOKEN>", "lstrip": false},
    "eos_token": "<|END_OF_TURN_TOKEN|>",
    "chat_template": [
      {"name": "default", "template": "D{{ bos_token }}"},
      {"name": "tool_use", "template": "T{{ eos_token }}"},
      {"name": "rag", "template": "R"}]})");
  auto d = mmllm::chat_template_from_tokenizer_config(cfg);
  REQUIRE(d.has_value());
  CHECK(d->name == "default");
  CHECK(d->source == "D{{ bos_token }}");
  CHECK(d->bos_token.value_or("") == "<BOS_TOKEN>");
  CHECK(d->eos_token.value_or("") == "<|END_OF_TURN_TOKEN|>");
  CHECK_FALSE(d->unk_token.has_value());
  auto t = mmllm::chat_template_from_tokenizer_config(cfg, "tool_use");
  REQUIRE(t.has_value());
  auto tmpl = mmllm::chat_template::parse(t->source, t->name);
  REQUIRE(tmpl.has_value());
  CHECK(tmpl->apply(value::make_list({}), t->options()).value_or("") == "T<|END_OF_TURN_TOKEN|>");
  auto missing = mmllm::chat_template_from_tokenizer_config(cfg, "nope");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == mmllm::errc::not_found);
  CHECK(missing.error().message.find("default, tool_use, rag") != std::string::npos);
}

TEST_CASE("one parsed template renders from several threads", "[chat_template]") {
  auto tmpl = load("templates/meetkai-functionary-medium-v3.2.jinja");
  const json conv = json::parse(mmllm::test::read_text(
      mmllm::test::fixture_path("templates/expected/conversations.json")))["tools_available"];
  const std::string want = mmllm::test::read_text(mmllm::test::fixture_path(
      "templates/expected/meetkai-functionary-medium-v3.2/tools_available.gen.txt"));
  mmllm::chat_template_options opt;
  opt.bos_token = "<|begin_of_text|>";
  opt.eos_token = "<|eot_id|>";
  opt.content_parts = mmllm::content_parts_mode::as_is;
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto out = mmllm::apply_chat_template(tmpl, conv["messages"], opt, conv["tools"]);
        if (out && *out == want) ++ok[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  for (int n : ok) CHECK(n == 25);
}
