// mmllm-template: renders a chat template with a conversation and prints the prompt.
//
//   mmllm-template TEMPLATE [CONVERSATION.json] [options]
//
// TEMPLATE is a Jinja file, or a tokenizer_config.json (its chat_template and special tokens
// are used). CONVERSATION.json holds {"messages": [...], "tools": [...]} or a bare messages
// array ("-" or absent: stdin). Options:
//   --pick NAME            use the conversation NAME of a file holding several (an object of them)
//   --template-name NAME   a named template of tokenizer_config.json (default: "default")
//   --no-generation-prompt add_generation_prompt = false
//   --bos TEXT / --eos TEXT special tokens
//   --var NAME=JSON        an extra template variable, e.g. --var enable_thinking=false
//   --as-is                pass content parts unchanged (as transformers does)
//   --marker TEXT          media marker (default <__media__>)
//   --caps                 print what the template handles instead of rendering
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/chat_template_json.hpp>
#include <mmllm/tokenize/jinja_json.hpp>

namespace {

using json = nlohmann::ordered_json;

std::optional<std::string> slurp(const std::string& path) {
  if (path == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int usage() {
  std::fprintf(stderr,
               "usage: mmllm-template TEMPLATE [CONVERSATION.json] [--pick NAME] [--template-name NAME]\n"
               "       [--no-generation-prompt] [--bos TEXT] [--eos TEXT] [--var NAME=JSON] [--as-is]\n"
               "       [--marker TEXT] [--caps]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string pick, template_name;
  bool caps_only = false;
  mmllm::chat_template_options opt;
  std::vector<std::pair<std::string, std::string>> vars;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (a == "--pick" || a == "--template-name" || a == "--bos" || a == "--eos" || a == "--var" ||
        a == "--marker") {
      auto v = value();
      if (!v) return usage();
      if (a == "--pick") pick = *v;
      if (a == "--template-name") template_name = *v;
      if (a == "--bos") opt.bos_token = *v;
      if (a == "--eos") opt.eos_token = *v;
      if (a == "--marker") opt.media_marker = *v;
      if (a == "--var") {
        const auto eq = v->find('=');
        if (eq == std::string::npos) return usage();
        vars.emplace_back(v->substr(0, eq), v->substr(eq + 1));
      }
    } else if (a == "--no-generation-prompt") {
      opt.add_generation_prompt = false;
    } else if (a == "--as-is") {
      opt.content_parts = mmllm::content_parts_mode::as_is;
    } else if (a == "--caps") {
      caps_only = true;
    } else if (a == "-h" || a == "--help") {
      return usage();
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty() || positional.size() > 2) return usage();

  const auto source_text = slurp(positional[0]);
  if (!source_text) {
    std::fprintf(stderr, "mmllm-template: cannot read %s\n", positional[0].c_str());
    return 1;
  }
  std::string source = *source_text, name = positional[0];
  if (positional[0].size() > 5 && positional[0].substr(positional[0].size() - 5) == ".json") {
    const json cfg = json::parse(source, nullptr, false);
    auto src = mmllm::chat_template_from_tokenizer_config(cfg, template_name);
    if (!src) {
      std::fprintf(stderr, "mmllm-template: %s\n", src.error().what().c_str());
      return 1;
    }
    source = src->source;
    name = src->name;
    if (!opt.bos_token) opt.bos_token = src->bos_token;
    if (!opt.eos_token) opt.eos_token = src->eos_token;
    opt.unk_token = src->unk_token;
    opt.pad_token = src->pad_token;
  }
  auto tmpl = mmllm::chat_template::parse(source, name);
  if (!tmpl) {
    std::fprintf(stderr, "mmllm-template: %s\n", tmpl.error().what().c_str());
    return 1;
  }
  if (caps_only) {
    std::printf("renders_string_content: %s\nrenders_typed_content: %s\n",
                tmpl->caps().renders_string_content ? "true" : "false",
                tmpl->caps().renders_typed_content ? "true" : "false");
    return 0;
  }

  const auto conv_text = slurp(positional.size() > 1 ? positional[1] : "-");
  if (!conv_text) {
    std::fprintf(stderr, "mmllm-template: cannot read the conversation\n");
    return 1;
  }
  json conv = json::parse(*conv_text, nullptr, false);
  if (conv.is_discarded()) {
    std::fprintf(stderr, "mmllm-template: the conversation is not valid JSON\n");
    return 1;
  }
  if (!pick.empty()) {
    if (!conv.is_object() || !conv.contains(pick)) {
      std::fprintf(stderr, "mmllm-template: no conversation named '%s'\n", pick.c_str());
      return 1;
    }
    conv = conv[pick];
  }
  json messages = conv.is_array() ? conv : conv.value("messages", json::array());
  json tools = conv.is_object() ? conv.value("tools", json()) : json();
  for (const auto& [k, v] : vars) {
    const json j = json::parse(v, nullptr, false);
    auto val = mmllm::jinja::from_json(j.is_discarded() ? json(v) : j);
    if (!val) {
      std::fprintf(stderr, "mmllm-template: --var %s: %s\n", k.c_str(), val.error().what().c_str());
      return 1;
    }
    opt.extra_variables.emplace_back(k, *val);
  }
  auto out = mmllm::apply_chat_template(*tmpl, messages, opt, tools);
  if (!out) {
    std::fprintf(stderr, "mmllm-template: %s\n", out.error().what().c_str());
    return 1;
  }
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}
