// mmllm/tokenize/chat_template_json.hpp — chat templates with nlohmann/json: pick the
// template of a tokenizer_config.json and apply a template to OpenAI-style JSON messages.
//
//   auto cfg = nlohmann::ordered_json::parse(tokenizer_config_text);
//   auto src = mmllm::chat_template_from_tokenizer_config(cfg);        // or (cfg, "tool_use")
//   auto tmpl = mmllm::chat_template::parse(src->source, src->name);
//   mmllm::chat_template_options opt = src->options();                // bos/eos/unk/pad tokens
//   auto prompt = mmllm::apply_chat_template(*tmpl, request["messages"], opt, request.value("tools",
//   nullptr));
//
// tokenizer_config.json's `chat_template` is either a string or a list of
// {"name": ..., "template": ...}; an empty name selects "default". Special tokens may be
// strings or AddedToken objects ({"content": "<s>", ...}).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "mmllm/core/result.hpp"
#include "mmllm/tokenize/chat_template.hpp"
#include "mmllm/tokenize/jinja_json.hpp"

namespace mmllm {

/// A chat template source with the special tokens its tokenizer defines.
struct chat_template_source {
  std::string name;    ///< "default", "tool_use", ...
  std::string source;  ///< Jinja text
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token;

  /// Options carrying these special tokens.
  [[nodiscard]] chat_template_options options() const {
    chat_template_options o;
    o.bos_token = bos_token;
    o.eos_token = eos_token;
    o.unk_token = unk_token;
    o.pad_token = pad_token;
    return o;
  }
};

namespace detail {
template <class Json>
std::optional<std::string> special_token(const Json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  if (it->is_string()) return it->template get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->template get<std::string>();
  }
  return std::nullopt;
}
}  // namespace detail

/// The chat template named `name` ("" = "default") of a parsed tokenizer_config.json.
template <class Json>
result<chat_template_source> chat_template_from_tokenizer_config(const Json& cfg,
                                                                 std::string_view name = {}) {
  if (!cfg.is_object()) return make_error(errc::malformed, "tokenizer_config: not a JSON object");
  auto it = cfg.find("chat_template");
  if (it == cfg.end() || it->is_null())
    return make_error(errc::not_found, "tokenizer_config: no chat_template");
  const std::string want = name.empty() ? std::string("default") : std::string(name);
  chat_template_source src;
  if (it->is_string()) {
    if (want != "default")
      return make_error(errc::not_found, "tokenizer_config: no chat template named '", want,
                        "' (only a default template)");
    src.name = "default";
    src.source = it->template get<std::string>();
  } else if (it->is_array()) {
    std::string names;
    bool found = false;
    for (const auto& e : *it) {
      if (!e.is_object()) continue;
      auto n = e.find("name");
      auto t = e.find("template");
      if (n == e.end() || t == e.end() || !n->is_string() || !t->is_string()) continue;
      const auto nm = n->template get<std::string>();
      if (!names.empty()) names += ", ";
      names += nm;
      if (nm == want && !found) {
        src.name = nm;
        src.source = t->template get<std::string>();
        found = true;
      }
    }
    if (!found)
      return make_error(errc::not_found, "tokenizer_config: no chat template named '", want,
                        "' (have: ", names, ")");
  } else {
    return make_error(errc::malformed, "tokenizer_config: chat_template is neither a string nor a list");
  }
  src.bos_token = detail::special_token(cfg, "bos_token");
  src.eos_token = detail::special_token(cfg, "eos_token");
  src.unk_token = detail::special_token(cfg, "unk_token");
  src.pad_token = detail::special_token(cfg, "pad_token");
  return src;
}

/// Renders `messages` (a JSON array of message objects); `tools` null or absent means None.
template <class Json>
result<chat_prompt> render_chat_template(const chat_template& tmpl, const Json& messages,
                                         chat_template_options opt = {}, const Json& tools = Json()) {
  auto msgs = jinja::from_json(messages, opt.limits.max_value_depth);
  if (!msgs) return std::move(msgs).error();
  if (!tools.is_null()) {
    auto t = jinja::from_json(tools, opt.limits.max_value_depth);
    if (!t) return std::move(t).error();
    opt.tools = std::move(*t);
  }
  return tmpl.render(*msgs, opt);
}

/// As render_chat_template, returning only the prompt text.
template <class Json>
result<std::string> apply_chat_template(const chat_template& tmpl, const Json& messages,
                                        chat_template_options opt = {}, const Json& tools = Json()) {
  auto p = render_chat_template(tmpl, messages, std::move(opt), tools);
  if (!p) return std::move(p).error();
  return std::move(p->text);
}

}  // namespace mmllm
