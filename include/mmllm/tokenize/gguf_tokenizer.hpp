// mmllm/tokenize/gguf_tokenizer.hpp — a tokenizer from GGUF `tokenizer.ggml.*` metadata.
//
// Reads what the peer (llama.cpp 583cb834, llama_vocab::impl::load) reads — model, pre,
// tokens, scores, token_type, merges, the special token ids, add_bos/add_eos/add_sep,
// add_space_prefix, remove_extra_whitespaces — applies the same defaults per model and
// `tokenizer.ggml.pre` type, the same text-based detection of EOT/EOG/FIM tokens, and the
// same per-model attribute fix-ups, and returns a tokenizer with peer rules.
//
//   auto reader = mmllm::gguf_reader::open("model.gguf");
//   auto tok = mmllm::load_gguf_tokenizer(*reader);   // result<mmllm::tokenizer>
//
// Supported models: "llama" (SentencePiece, SPM), "gpt2" (byte-level BPE with every
// pre-tokenizer type the peer knows), "bert" (WordPiece). "t5" (Unigram with a precompiled
// charsmap), "rwkv" and "plamo2" give errc::unsupported.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"
#include "pre_tokenizer.hpp"
#include "token_roles.hpp"
#include "tokenizer.hpp"
#include "vocabulary.hpp"

namespace mmllm {

namespace detail {

/// Peer defaults and flags per `tokenizer.ggml.pre` name for byte-level BPE vocabularies.
inline void peer_quirk_bpe_pre_flags(std::string_view pre, tokenizer_config& c) {
  auto is = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), pre) != names.end();
  };
  c.clean_spaces = true;
  if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"})) {
    c.ignore_merges = true;
    c.add_bos = true;
  } else if (is({"tekken"})) {
    c.clean_spaces = false;
    c.ignore_merges = true;
    c.add_bos = true;
  } else if (is({"chameleon"})) {
    c.add_bos = true;
    c.clean_spaces = false;
  } else if (is({"jina-v1-en", "jina-v2-code", "roberta-bpe"})) {
    c.add_sep = true;
  } else if (is({"glm4", "chatglm-bpe"})) {
    c.specials.bos = no_token;
  } else if (is({"deepseek-llm",     "deepseek-coder", "deepseek-v3", "command-r",       "qwen2",
                 "deepseek-r1-qwen", "poro-chat",      "viking",      "smollm",          "gpt-4o",
                 "llama4",           "superbpe",       "trillion",    "granite-docling", "bailingmoe",
                 "bailingmoe2",      "llada-moe",      "seed-coder",  "hunyuan",         "hunyuan-dense",
                 "kimi-k2",          "grok-2",         "afmoe",       "minimax-m2"})) {
    c.clean_spaces = false;
  }
}

template <class T>
result<std::optional<T>> gguf_opt(const gguf_reader& r, std::string_view key) {
  return r.get_optional<T>(key);
}

}  // namespace detail

/// Loads the tokenizer stored in a GGUF file's metadata with the peer's rules.
inline result<tokenizer> load_gguf_tokenizer(const gguf_reader& r) {
  tokenizer_config c;
  c.rules = tokenizer_rules::peer;
  MMLLM_TRY_ASSIGN(const std::string_view model, r.get<std::string_view>("tokenizer.ggml.model"));
  MMLLM_TRY_ASSIGN(const std::optional<std::string_view> pre_opt,
                   r.get_optional<std::string_view>("tokenizer.ggml.pre"));
  const std::string_view pre = pre_opt.value_or("");
  c.pre_type = std::string(pre);
  special_tokens& sp = c.specials;
  if (model == "llama") {
    c.model = tokenizer_model::spm;
    sp.bos = 1, sp.eos = 2, sp.unk = 0;
    c.add_space_prefix = true;
    c.add_bos = true;
  } else if (model == "bert") {
    c.model = tokenizer_model::wordpiece;
    sp.bos = 101, sp.unk = 100, sp.sep = 102, sp.pad = 0, sp.mask = 103;
    c.add_sep = true;
    c.add_bos = true;
    c.clean_spaces = true;
  } else if (model == "gpt2") {
    c.model = tokenizer_model::bpe;
    c.byte_level = true;
    sp.bos = 11, sp.eos = 11;
    detail::peer_quirk_bpe_pre_flags(pre, c);
    MMLLM_TRY_ASSIGN(auto patterns, peer_pre_tokenizer_patterns(pre));
    for (const std::string_view p : patterns) {
      if (p == "\\p{AFMoE_digits}" || p == "\\p{Han}+")
        return make_error(errc::unsupported, "tokenizer: pre-tokenizer '", pre, "' is not supported");
      MMLLM_TRY_ASSIGN(split_rule rule,
                       split_rule::from_pattern(p, split_behavior::isolated, false, peer_regex_flavor(p)));
      c.pre_rules.push_back(std::move(rule));
    }
  } else if (model == "no_vocab" || model == "none") {
    return make_error(errc::unsupported, "tokenizer: the model file has no vocabulary");
  } else {
    return make_error(errc::unsupported, "tokenizer: tokenizer model '", model, "' is not supported");
  }
  MMLLM_TRY_ASSIGN(const std::optional<std::string_view> tmpl,
                   r.get_optional<std::string_view>("tokenizer.chat_template"));
  if (tmpl) c.chat_template = std::string(*tmpl);
  MMLLM_TRY_ASSIGN(const std::optional<bool> space_prefix,
                   r.get_optional<bool>("tokenizer.ggml.add_space_prefix"));
  if (space_prefix) c.add_space_prefix = *space_prefix;
  MMLLM_TRY_ASSIGN(const std::optional<bool> extra_ws,
                   r.get_optional<bool>("tokenizer.ggml.remove_extra_whitespaces"));
  if (extra_ws) c.remove_extra_whitespaces = *extra_ws;

  // tokens, scores, types
  MMLLM_TRY_ASSIGN(const gguf_array tokens_arr, r.get<gguf_array>("tokenizer.ggml.tokens"));
  MMLLM_TRY_ASSIGN(const std::span<const std::string_view> tokens, tokens_arr.strings());
  std::vector<float> scores;
  if (const gguf_value* v = r.find("tokenizer.ggml.scores")) {
    MMLLM_TRY_ASSIGN(const gguf_array a, v->get<gguf_array>());
    MMLLM_TRY_ASSIGN(const auto nums, a.numbers<float>());
    scores = nums.to_vector();
    if (scores.size() != tokens.size())
      return make_error(errc::malformed, "tokenizer: scores and tokens differ in length");
  }
  std::vector<std::int32_t> types;
  if (const gguf_value* v = r.find("tokenizer.ggml.token_type")) {
    MMLLM_TRY_ASSIGN(const gguf_array a, v->get<gguf_array>());
    MMLLM_TRY_ASSIGN(const auto nums, a.numbers<std::int32_t>());
    types = nums.to_vector();
    if (types.size() != tokens.size())
      return make_error(errc::malformed, "tokenizer: token types and tokens differ in length");
  }
  if (tokens.empty()) return make_error(errc::malformed, "tokenizer: empty token list");
  vocabulary vocab;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::uint32_t attr = token_attr::normal;
    if (!types.empty()) {
      switch (types[i]) {
        case 2: attr = token_attr::unknown; break;
        case 5: attr = token_attr::unused; break;
        case 1: attr = token_attr::normal; break;
        case 3: attr = token_attr::control; break;
        case 4: attr = token_attr::user_defined; break;
        case 6: attr = token_attr::byte; break;
        default: attr = token_attr::undefined; break;
      }
    }
    // Peer quirk: an empty token text becomes "[EMPTY_<id>]".
    const std::string text = tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : std::string(tokens[i]);
    vocab.add(text, scores.empty() ? 0.0f : scores[i], attr);
  }
  vocab.finalize(true);
  const auto n_tokens = static_cast<std::uint32_t>(vocab.size());

  // special token ids: keys override the defaults when in range
  struct key_id {
    std::string_view key;
    token_id* id;
  };
  const key_id keys[] = {
      {"tokenizer.ggml.bos_token_id", &sp.bos},         {"tokenizer.ggml.eos_token_id", &sp.eos},
      {"tokenizer.ggml.eot_token_id", &sp.eot},         {"tokenizer.ggml.eom_token_id", &sp.eom},
      {"tokenizer.ggml.unknown_token_id", &sp.unk},     {"tokenizer.ggml.seperator_token_id", &sp.sep},
      {"tokenizer.ggml.padding_token_id", &sp.pad},     {"tokenizer.ggml.mask_token_id", &sp.mask},
      {"tokenizer.ggml.fim_pre_token_id", &sp.fim_pre}, {"tokenizer.ggml.fim_suf_token_id", &sp.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &sp.fim_mid}, {"tokenizer.ggml.fim_pad_token_id", &sp.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &sp.fim_rep}, {"tokenizer.ggml.fim_sep_token_id", &sp.fim_sep},
      {"tokenizer.ggml.prefix_token_id", &sp.fim_pre},  {"tokenizer.ggml.suffix_token_id", &sp.fim_suf},
      {"tokenizer.ggml.middle_token_id", &sp.fim_mid},  {"tokenizer.ggml.cls_token_id", &sp.cls},
  };
  for (const key_id& k : keys) {
    const gguf_value* v = r.find(k.key);
    if (v == nullptr) continue;
    auto id = v->as<std::uint32_t>();
    if (!id) return make_error(errc::malformed, "tokenizer: key '", k.key, "': ", id.error().message);
    if (*id < n_tokens) *k.id = static_cast<token_id>(*id);
  }
  for (const auto& [key, flag] :
       {std::pair<std::string_view, bool*>{"tokenizer.ggml.add_bos_token", &c.add_bos},
        {"tokenizer.ggml.add_eos_token", &c.add_eos},
        {"tokenizer.ggml.add_sep_token", &c.add_sep}}) {
    MMLLM_TRY_ASSIGN(const std::optional<bool> b, r.get_optional<bool>(key));
    if (b) *flag = *b;
  }

  // Text-based roles (peer quirk); ids are visited in order (the peer visits a hash map).
  using roles = detail::peer_quirk_token_roles;
  auto force_control = [&](token_id id) { vocab.set_attr(id, token_attr::control); };
  for (token_id id = 0; id < static_cast<token_id>(n_tokens); ++id) {
    const std::string_view t = vocab.text(id);
    auto detect = [&](token_id& slot, const auto& list) {
      if (slot == no_token && roles::in(t, list)) {
        slot = id;
        if ((vocab.attr(id) & token_attr::control) == 0) force_control(id);
      }
    };
    detect(sp.eot, roles::eot);
    detect(sp.eom, roles::eom);
    detect(sp.fim_pre, roles::fim_pre);
    detect(sp.fim_suf, roles::fim_suf);
    detect(sp.fim_mid, roles::fim_mid);
    detect(sp.fim_pad, roles::fim_pad);
    detect(sp.fim_rep, roles::fim_rep);
    detect(sp.fim_sep, roles::fim_sep);
  }
  std::vector<token_id>& eog = c.end_of_generation;
  auto add_eog = [&](token_id id) {
    if (id != no_token && std::find(eog.begin(), eog.end(), id) == eog.end()) eog.push_back(id);
  };
  add_eog(sp.fim_pad);
  add_eog(sp.fim_rep);
  add_eog(sp.fim_sep);
  for (token_id id = 0; id < static_cast<token_id>(n_tokens); ++id) {
    if (roles::in(vocab.text(id), roles::eog)) {
      add_eog(id);
      if ((vocab.attr(id) & token_attr::control) == 0) force_control(id);
    }
  }
  for (token_id id = 0; id < static_cast<token_id>(n_tokens); ++id)
    if (roles::in(vocab.text(id), roles::gpt_oss_user_defined)) vocab.set_attr(id, token_attr::user_defined);
  add_eog(sp.eos);
  add_eog(sp.eot);
  add_eog(sp.eom);
  {
    // o200k_harmony: with <|return|> and <|call|>, <|end|> is not end-of-generation.
    token_id end_id = no_token;
    bool has_return = false, has_call = false;
    for (const token_id id : eog) {
      const std::string_view t = vocab.text(id);
      has_return |= t == "<|return|>";
      has_call |= t == "<|call|>";
      if (t == "<|end|>") end_id = id;
    }
    if (has_return && has_call && end_id != no_token) {
      eog.erase(std::find(eog.begin(), eog.end(), end_id));
      vocab.set_attr(end_id, token_attr::user_defined);
    }
  }

  // Per-model attribute fix-ups (peer quirk: keyed on names).
  MMLLM_TRY_ASSIGN(const std::optional<std::string_view> name_opt,
                   r.get_optional<std::string_view>("general.name"));
  MMLLM_TRY_ASSIGN(const std::optional<std::string_view> arch_opt,
                   r.get_optional<std::string_view>("general.architecture"));
  std::string name(name_opt.value_or(""));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char ch) { return static_cast<char>(std::tolower(ch)); });
  const std::string_view arch = arch_opt.value_or("");
  auto contains_any = [](std::string_view s, std::initializer_list<std::string_view> subs) {
    return std::any_of(subs.begin(), subs.end(),
                       [&](std::string_view x) { return s.find(x) != std::string_view::npos; });
  };
  if (contains_any(pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains_any(arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    const token_id m = vocab.find("<mask>");
    if (m != no_token) vocab.set_attr(m, vocab.attr(m) | token_attr::lstrip);
  } else if (contains_any(name, {"phi-3", "phi3"})) {
    for (token_id id = 0; id < static_cast<token_id>(n_tokens); ++id)
      if ((vocab.attr(id) & (token_attr::control | token_attr::user_defined | token_attr::unknown)) != 0)
        vocab.set_attr(id, vocab.attr(id) | token_attr::rstrip);
    // (the peer aborts when one of these is missing; mmllm skips it)
    if (const token_id id = vocab.find("</s>"); id != no_token)
      vocab.set_attr(id, vocab.attr(id) | token_attr::rstrip);
    for (const std::string_view t : {"<unk>", "<s>", "<|endoftext|>"})
      if (const token_id id = vocab.find(t); id != no_token)
        vocab.set_attr(id, vocab.attr(id) & ~token_attr::rstrip);
  }

  // merges
  std::vector<std::pair<std::string_view, std::string_view>> merges;
  if (c.model == tokenizer_model::bpe) {
    const gguf_value* mv = r.find("tokenizer.ggml.merges");
    if (mv == nullptr)
      return make_error(errc::malformed, "tokenizer: cannot find tokenizer merges in model file");
    MMLLM_TRY_ASSIGN(const gguf_array ma, mv->get<gguf_array>());
    MMLLM_TRY_ASSIGN(const std::span<const std::string_view> ms, ma.strings());
    merges.reserve(ms.size());
    for (const std::string_view m : ms) {
      const std::size_t sp_pos = m.find(' ', 1);
      if (sp_pos == std::string_view::npos) {
        merges.emplace_back(std::string_view(), std::string_view());
      } else {
        merges.emplace_back(m.substr(0, sp_pos), m.substr(sp_pos + 1));
      }
    }
  }

  // Newline token: SPM <0x0A> (or "\n"); WordPiece: pad; BPE: first token of "\n" (set by create).
  if (c.model == tokenizer_model::spm) {
    sp.nl = vocab.find("<0x0A>");
    if (sp.nl == no_token) sp.nl = vocab.find("\n");
    if (sp.nl == no_token) sp.nl = sp.pad;
  } else if (c.model == tokenizer_model::wordpiece) {
    sp.nl = sp.pad;
  }
  return tokenizer::create(std::move(vocab), merges, std::move(c));
}

/// Opens a GGUF file and loads its tokenizer.
inline result<tokenizer> load_gguf_tokenizer(std::string_view path) {
  MMLLM_TRY_ASSIGN(const gguf_reader reader, gguf_reader::open(path));
  return load_gguf_tokenizer(reader);
}

}  // namespace mmllm
