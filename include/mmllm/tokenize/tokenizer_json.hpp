// mmllm/tokenize/tokenizer_json.hpp — a tokenizer from Hugging Face tokenizer.json files.
//
// Builds a tokenizer with Hugging Face rules from the text of a tokenizer.json and (optional)
// tokenizer_config.json: models BPE (byte_fallback, ignore_merges, fuse_unk,
// continuing_subword_prefix, end_of_word_suffix; merges as "a b" strings or [a, b] pairs),
// WordPiece and Unigram; normalizers, pre-tokenizers, post-processors (TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel, Sequence) and decoders (see hf_pipeline.hpp);
// added tokens with lstrip/rstrip/special. The config supplies the special tokens
// (bos/eos/unk/pad/…), additional_special_tokens, clean_up_tokenization_spaces and the
// chat template. Unknown component types give errc::unsupported.
//
//   std::string json = read_file("tokenizer.json"), cfg = read_file("tokenizer_config.json");
//   mmllm::result<mmllm::tokenizer> tok = mmllm::load_tokenizer_json(json, cfg);
//   auto tok2 = mmllm::load_tokenizer_json_dir("path/to/model");   // reads both files
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "hf_pipeline.hpp"
#include "json_reader.hpp"
#include "pre_tokenizer.hpp"
#include "token_roles.hpp"
#include "tokenizer.hpp"
#include "tokenizer_regex.hpp"
#include "vocabulary.hpp"

namespace mmllm {

namespace detail {

struct hf_model_data {
  std::string type;
  std::vector<std::pair<std::string, std::int64_t>> vocab;  // BPE / WordPiece
  std::vector<std::pair<std::string, double>> pieces;       // Unigram
  std::vector<std::pair<std::string, std::string>> merges;
  json_value options;  // the remaining scalar members
};

inline result<void> read_hf_model(json_cursor& c, hf_model_data& m) {
  std::vector<std::pair<std::string, json_value>> opts;
  std::string buf;
  MMLLM_TRY(c.read_object([&](std::string_view key) -> result<void> {
    if (key == "vocab") {
      if (c.peek() == '{') {
        return c.read_object([&](std::string_view tok) -> result<void> {
          MMLLM_TRY_ASSIGN(const double id, c.read_number());
          if (id < 0 || id > 1e8 || id != static_cast<double>(static_cast<std::int64_t>(id)))
            return c.fail("bad token id");
          m.vocab.emplace_back(std::string(tok), static_cast<std::int64_t>(id));
          return ok();
        });
      }
      return c.read_array([&]() -> result<void> {  // Unigram: [piece, score]
        std::string piece;
        double score = 0;
        int k = 0;
        MMLLM_TRY(c.read_array([&]() -> result<void> {
          if (k++ == 0) {
            MMLLM_TRY_ASSIGN(const std::string_view s, c.read_string(buf));
            piece = std::string(s);
            return ok();
          }
          MMLLM_TRY_ASSIGN(score, c.read_number());
          return ok();
        }));
        m.pieces.emplace_back(std::move(piece), score);
        return ok();
      });
    }
    if (key == "merges") {
      return c.read_array([&]() -> result<void> {
        if (c.peek() == '[') {
          std::string a, b;
          int k = 0;
          MMLLM_TRY(c.read_array([&]() -> result<void> {
            MMLLM_TRY_ASSIGN(const std::string_view s, c.read_string(buf));
            (k++ == 0 ? a : b) = std::string(s);
            return ok();
          }));
          m.merges.emplace_back(std::move(a), std::move(b));
          return ok();
        }
        MMLLM_TRY_ASSIGN(const std::string_view s, c.read_string(buf));
        // "a b": split at spaces, keep the first two parts (transformers.js split(' ', 2)).
        const std::size_t sp = s.find(' ');
        if (sp == std::string_view::npos) {
          m.merges.emplace_back(std::string(s), std::string());
        } else {
          const std::size_t sp2 = s.find(' ', sp + 1);
          m.merges.emplace_back(
              std::string(s.substr(0, sp)),
              std::string(
                  s.substr(sp + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp - 1)));
        }
        return ok();
      });
    }
    MMLLM_TRY_ASSIGN(json_value v, c.read_value());
    if (key == "type") m.type = v.as_string();
    opts.emplace_back(std::string(key), std::move(v));
    return ok();
  }));
  m.options = json_value::make_object(std::move(opts));
  return ok();
}

inline result<std::shared_ptr<const tokenizer_regex>> hf_regex(std::string_view pattern) {
  MMLLM_TRY_ASSIGN(tokenizer_regex re, tokenizer_regex::compile(pattern));
  return std::make_shared<const tokenizer_regex>(std::move(re));
}

inline error hf_unsupported(std::string_view what, std::string_view type) {
  return make_error(errc::unsupported, "tokenizer.json: ", what, " type '", type, "' is not supported");
}

inline result<void> parse_normalizer(const json_value& n, std::vector<hf::normalizer_step>& out) {
  if (n.is_null()) return ok();
  const std::string_view type = n.string_or("type", "");
  using k = hf::normalizer_step::kind;
  hf::normalizer_step s;
  if (type == "Sequence") {
    if (const json_value* list = n.find("normalizers"))
      for (const json_value& x : list->items()) MMLLM_TRY(parse_normalizer(x, out));
    return ok();
  }
  if (type == "NFC")
    s.type = k::nfc;
  else if (type == "NFD")
    s.type = k::nfd;
  else if (type == "NFKC")
    s.type = k::nfkc;
  else if (type == "NFKD")
    s.type = k::nfkd;
  else if (type == "Lowercase")
    s.type = k::lowercase;
  else if (type == "StripAccents")
    s.type = k::strip_accents;
  else if (type == "Strip") {
    s.type = k::strip;
    s.left = n.bool_or("strip_left", true);
    s.right = n.bool_or("strip_right", true);
  } else if (type == "Replace") {
    s.type = k::replace;
    s.to = std::string(n.string_or("content", ""));
    const json_value* p = n.find("pattern");
    if (p == nullptr) return make_error(errc::malformed, "tokenizer.json: Replace without a pattern");
    if (const json_value* re = p->find("Regex")) {
      MMLLM_TRY_ASSIGN(s.pattern, hf_regex(re->as_string()));
    } else {
      s.from = std::string(p->string_or("String", ""));
    }
  } else if (type == "Prepend") {
    s.type = k::prepend;
    s.from = std::string(n.string_or("prepend", ""));
  } else if (type == "BertNormalizer") {
    s.type = k::bert;
    s.clean_text = n.bool_or("clean_text", true);
    s.handle_chinese_chars = n.bool_or("handle_chinese_chars", true);
    s.lowercase = n.bool_or("lowercase", true);
    const json_value* sa = n.find("strip_accents");
    s.strip_accents = (sa == nullptr || sa->is_null()) ? -1 : (sa->as_bool() ? 1 : 0);
  } else if (type == "Precompiled") {
    // transformers.js's rendition of SentencePiece's default nmt_nfkc rules.
    s.type = k::replace;
    MMLLM_TRY_ASSIGN(s.pattern, hf_regex("[\\x{1}-\\x{8}\\x{B}\\x{E}-\\x{1F}\\x{7F}\\x{8F}\\x{9F}]"));
    out.push_back(s);
    hf::normalizer_step sp;
    sp.type = k::replace;
    sp.to = " ";
    MMLLM_TRY_ASSIGN(sp.pattern,
                     hf_regex("[\\x{9}\\x{A}\\x{C}\\x{D}\\x{A0}\\x{1680}\\x{2000}-\\x{200F}\\x{2028}"
                              "\\x{2029}\\x{202F}\\x{205F}\\x{2581}\\x{3000}\\x{FEFF}\\x{FFFD}]"));
    out.push_back(sp);
    hf::normalizer_step nfkc;
    nfkc.type = k::nfkc;
    out.push_back(nfkc);
    return ok();
  } else {
    return hf_unsupported("normalizer", type);
  }
  out.push_back(std::move(s));
  return ok();
}

inline result<split_behavior> parse_behavior(std::string_view b) {
  if (b == "Isolated" || b.empty()) return split_behavior::isolated;
  if (b == "Removed") return split_behavior::removed;
  if (b == "MergedWithPrevious") return split_behavior::merged_with_previous;
  if (b == "MergedWithNext") return split_behavior::merged_with_next;
  if (b == "Contiguous") return split_behavior::contiguous;
  return hf_unsupported("split behavior", b);
}

inline result<void> parse_pre_tokenizer(const json_value& n, std::vector<hf::pre_tokenizer_step>& out,
                                        bool& byte_level) {
  if (n.is_null()) return ok();
  const std::string_view type = n.string_or("type", "");
  using k = hf::pre_tokenizer_step::kind;
  hf::pre_tokenizer_step s;
  if (type == "Sequence") {
    if (const json_value* list = n.find("pretokenizers"))
      for (const json_value& x : list->items()) MMLLM_TRY(parse_pre_tokenizer(x, out, byte_level));
    return ok();
  }
  if (type == "Split") {
    s.type = k::split;
    MMLLM_TRY_ASSIGN(const split_behavior b, parse_behavior(n.string_or("behavior", "Isolated")));
    const bool invert = n.bool_or("invert", false);
    const json_value* p = n.find("pattern");
    if (p == nullptr) return make_error(errc::malformed, "tokenizer.json: Split without a pattern");
    if (const json_value* re = p->find("Regex")) {
      MMLLM_TRY_ASSIGN(split_rule r, split_rule::from_pattern(re->as_string(), b, invert));
      s.rule = std::make_shared<const split_rule>(std::move(r));
    } else {
      s.rule =
          std::make_shared<const split_rule>(split_rule::from_literal(p->string_or("String", ""), b, invert));
    }
  } else if (type == "ByteLevel") {
    s.type = k::byte_level;
    byte_level = true;
    s.add_prefix_space = n.bool_or("add_prefix_space", true);
    if (n.bool_or("use_regex", true)) {
      MMLLM_TRY_ASSIGN(split_rule r, split_rule::from_pattern(split_rule::gpt2_pattern));
      s.rule = std::make_shared<const split_rule>(std::move(r));
    }
  } else if (type == "Metaspace") {
    s.type = k::metaspace;
    s.replacement = std::string(n.string_or("replacement", "\xE2\x96\x81"));
    const std::string_view scheme = n.string_or("prepend_scheme", "");
    const json_value* aps = n.find("add_prefix_space");
    if (scheme == "first")
      s.prepend_scheme = hf::pre_tokenizer_step::prepend::first;
    else if (scheme == "never")
      s.prepend_scheme = hf::pre_tokenizer_step::prepend::never;
    if (aps != nullptr && aps->is_bool() && !aps->as_bool())
      s.prepend_scheme = hf::pre_tokenizer_step::prepend::never;
    s.metaspace_split = n.bool_or("split", true);
  } else if (type == "Digits") {
    s.type = k::digits;
    s.individual_digits = n.bool_or("individual_digits", false);
  } else if (type == "Whitespace") {
    s.type = k::whitespace;
    MMLLM_TRY_ASSIGN(split_rule r,
                     split_rule::from_pattern("\\w+|[^\\w\\s]+", split_behavior::isolated, true));
    s.rule = std::make_shared<const split_rule>(std::move(r));
  } else if (type == "WhitespaceSplit") {
    s.type = k::whitespace_split;
  } else if (type == "Punctuation") {
    s.type = k::punctuation;
    MMLLM_TRY_ASSIGN(s.behavior, parse_behavior(n.string_or("behavior", "Isolated")));
  } else if (type == "BertPreTokenizer") {
    s.type = k::bert;
  } else if (type == "CharDelimiterSplit") {
    s.type = k::split;
    s.rule = std::make_shared<const split_rule>(
        split_rule::from_literal(n.string_or("delimiter", " "), split_behavior::removed, false));
  } else {
    return hf_unsupported("pre-tokenizer", type);
  }
  out.push_back(std::move(s));
  return ok();
}

inline result<void> parse_decoder(const json_value& n, std::vector<hf::decoder_step>& out) {
  if (n.is_null()) return ok();
  const std::string_view type = n.string_or("type", "");
  using k = hf::decoder_step::kind;
  hf::decoder_step s;
  if (type == "Sequence") {
    if (const json_value* list = n.find("decoders"))
      for (const json_value& x : list->items()) MMLLM_TRY(parse_decoder(x, out));
    return ok();
  }
  if (type == "ByteLevel") {
    s.type = k::byte_level;
  } else if (type == "Replace") {
    s.type = k::replace;
    s.to = std::string(n.string_or("content", ""));
    const json_value* p = n.find("pattern");
    if (p == nullptr) return make_error(errc::malformed, "tokenizer.json: Replace without a pattern");
    if (const json_value* re = p->find("Regex")) {
      MMLLM_TRY_ASSIGN(s.pattern, hf_regex(re->as_string()));
    } else {
      s.from = std::string(p->string_or("String", ""));
    }
  } else if (type == "ByteFallback") {
    s.type = k::byte_fallback;
  } else if (type == "Fuse") {
    s.type = k::fuse;
  } else if (type == "Strip") {
    s.type = k::strip;
    const std::string_view content = n.string_or("content", " ");
    s.strip_content = content.empty() ? U' ' : utf8_decode(content, 0).code_point;
    s.strip_start = static_cast<std::size_t>(n.number_or("start", 0));
    s.strip_stop = static_cast<std::size_t>(n.number_or("stop", 0));
  } else if (type == "Metaspace") {
    s.type = k::metaspace;
    s.from = std::string(n.string_or("replacement", "\xE2\x96\x81"));
    const json_value* aps = n.find("add_prefix_space");
    if (aps != nullptr && aps->is_bool())
      s.metaspace_strip_first = aps->as_bool();
    else
      s.metaspace_strip_first = n.string_or("prepend_scheme", "always") != "never";
  } else if (type == "WordPiece") {
    s.type = k::wordpiece;
    s.from = std::string(n.string_or("prefix", "##"));
    s.wordpiece_cleanup = n.bool_or("cleanup", true);
  } else if (type == "BPEDecoder") {
    s.type = k::bpe;
    s.from = std::string(n.string_or("suffix", "</w>"));
  } else {
    return hf_unsupported("decoder", type);
  }
  out.push_back(std::move(s));
  return ok();
}

/// "<s>" or {"content": "<s>", …} (AddedToken dicts in tokenizer_config.json).
inline std::string config_token_text(const json_value* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->as_string();
  if (v->is_object()) return std::string(v->string_or("content", ""));
  return {};
}

}  // namespace detail

/// Builds a Hugging Face tokenizer from tokenizer.json text and tokenizer_config.json text
/// (may be empty).
inline result<tokenizer> load_tokenizer_json(std::string_view tokenizer_json,
                                             std::string_view config_json = {}) {
  tokenizer_config c;
  c.rules = tokenizer_rules::huggingface;
  c.merges_first_duplicate_wins = false;
  detail::hf_model_data model;
  json_value added, normalizer, pre_tok, post, decoder;
  {
    json_cursor cur(tokenizer_json);
    MMLLM_TRY(cur.read_object([&](std::string_view key) -> result<void> {
      if (key == "model") return detail::read_hf_model(cur, model);
      MMLLM_TRY_ASSIGN(json_value v, cur.read_value());
      if (key == "added_tokens")
        added = std::move(v);
      else if (key == "normalizer")
        normalizer = std::move(v);
      else if (key == "pre_tokenizer")
        pre_tok = std::move(v);
      else if (key == "post_processor")
        post = std::move(v);
      else if (key == "decoder")
        decoder = std::move(v);
      return ok();
    }));
    if (!cur.at_end()) return cur.fail("trailing characters after tokenizer.json");
  }
  json_value cfgj;
  if (!config_json.empty()) {
    MMLLM_TRY_ASSIGN(cfgj, json_parse(config_json));
  }

  // model
  const json_value& mo = model.options;
  std::string type = model.type;
  if (type.empty()) type = !model.pieces.empty() ? "Unigram" : (!model.merges.empty() ? "BPE" : "WordPiece");
  if (type == "BPE") {
    c.model = tokenizer_model::bpe;
    c.byte_fallback = mo.bool_or("byte_fallback", false);
    c.fuse_unk = mo.bool_or("fuse_unk", false);
    c.ignore_merges = mo.bool_or("ignore_merges", false);
    c.continuing_subword_prefix = std::string(mo.string_or("continuing_subword_prefix", ""));
    c.end_of_word_suffix = std::string(mo.string_or("end_of_word_suffix", ""));
  } else if (type == "WordPiece") {
    c.model = tokenizer_model::wordpiece;
    c.continuing_subword_prefix = std::string(mo.string_or("continuing_subword_prefix", "##"));
    c.max_input_chars_per_word = static_cast<std::size_t>(mo.number_or("max_input_chars_per_word", 100));
  } else if (type == "Unigram") {
    c.model = tokenizer_model::unigram;
    c.byte_fallback = mo.bool_or("byte_fallback", false);
  } else {
    return detail::hf_unsupported("model", type);
  }

  // id → text: model vocabulary, then added tokens (which override)
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<std::uint32_t> attrs;
  // Ids must be dense enough that the table stays proportional to the entries (a hostile
  // file must not make us allocate gigabytes for a few tokens).
  const std::size_t n_entries = model.vocab.size() + model.pieces.size() + added.items().size();
  const std::size_t max_id = 4 * n_entries + 1024;
  for (const auto& [t, id] : model.vocab)
    if (static_cast<std::size_t>(id) >= max_id)
      return make_error(errc::malformed, "tokenizer.json: token id ", std::to_string(id),
                        " is far beyond the ", std::to_string(n_entries), " entries");
  for (const json_value& a : added.items())
    if (a.number_or("id", -1) >= static_cast<double>(max_id))
      return make_error(errc::malformed, "tokenizer.json: added token id beyond the vocabulary");
  auto put = [&](std::int64_t id, std::string text, float score, std::uint32_t attr) {
    const auto i = static_cast<std::size_t>(id);
    if (i >= texts.size()) {
      texts.resize(i + 1);
      scores.resize(i + 1, 0.0f);
      attrs.resize(i + 1, token_attr::unused);
    }
    texts[i] = std::move(text);
    scores[i] = score;
    attrs[i] = attr;
  };
  if (c.model == tokenizer_model::unigram) {
    double min_score = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < model.pieces.size(); ++i) {
      put(static_cast<std::int64_t>(i), model.pieces[i].first, static_cast<float>(model.pieces[i].second),
          token_attr::normal);
      min_score = std::min(min_score, model.pieces[i].second);
    }
    c.unigram_unknown_score = min_score - 10.0;
  } else {
    for (auto& [t, id] : model.vocab) put(id, std::move(t), 0.0f, token_attr::normal);
  }
  if (texts.empty()) return make_error(errc::malformed, "tokenizer.json: empty vocabulary");
  for (const json_value& a : added.items()) {
    tokenizer_config::added_token t;
    t.content = std::string(a.string_or("content", ""));
    const double id = a.number_or("id", -1);
    if (id < 0 || id > 1e8)
      return make_error(errc::malformed, "tokenizer.json: added token without a valid id");
    t.id = static_cast<token_id>(id);
    t.special = a.bool_or("special", false);
    t.lstrip = a.bool_or("lstrip", false);
    t.rstrip = a.bool_or("rstrip", false);
    t.single_word = a.bool_or("single_word", false);
    t.normalized = a.bool_or("normalized", false);
    put(t.id, t.content, 0.0f, t.special ? token_attr::control : token_attr::user_defined);
    if (t.special) c.special_token_texts.push_back(t.content);
    c.added_tokens.push_back(std::move(t));
  }
  vocabulary vocab;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::uint32_t attr = attrs[i];
    if (c.byte_fallback && attr == token_attr::normal && texts[i].size() == 6 &&
        texts[i].compare(0, 3, "<0x") == 0 && texts[i][5] == '>')
      attr = token_attr::byte;
    vocab.add(texts[i], scores[i], attr);
  }
  vocab.finalize(true);
  for (const auto& a : c.added_tokens) vocab.alias(a.content, a.id);

  // specials from the config, else the model
  special_tokens& sp = c.specials;
  auto id_of = [&](const std::string& t) { return t.empty() ? no_token : vocab.find(t); };
  sp.bos = id_of(detail::config_token_text(cfgj.find("bos_token")));
  sp.eos = id_of(detail::config_token_text(cfgj.find("eos_token")));
  sp.pad = id_of(detail::config_token_text(cfgj.find("pad_token")));
  sp.sep = id_of(detail::config_token_text(cfgj.find("sep_token")));
  sp.cls = id_of(detail::config_token_text(cfgj.find("cls_token")));
  sp.mask = id_of(detail::config_token_text(cfgj.find("mask_token")));
  sp.unk = id_of(detail::config_token_text(cfgj.find("unk_token")));
  if (c.model == tokenizer_model::unigram) {
    const double u = mo.number_or("unk_id", -1);
    if (u >= 0 && vocab.contains(static_cast<token_id>(u))) sp.unk = static_cast<token_id>(u);
  } else if (const std::string u(mo.string_or("unk_token", "")); !u.empty()) {
    sp.unk = vocab.find(u);
  }
  if (sp.unk != no_token) vocab.set_attr(sp.unk, vocab.attr(sp.unk) | token_attr::unknown);
  if (const json_value* extra = cfgj.find("additional_special_tokens"))
    for (const json_value& e : extra->items()) c.special_token_texts.push_back(detail::config_token_text(&e));
  c.clean_spaces = cfgj.bool_or("clean_up_tokenization_spaces", true);
  if (const json_value* t = cfgj.find("chat_template")) {
    if (t->is_string()) {
      c.chat_template = t->as_string();
    } else {
      for (const json_value& e : t->items())
        if (e.string_or("name", "") == "default") c.chat_template = std::string(e.string_or("template", ""));
    }
  }

  MMLLM_TRY(detail::parse_normalizer(normalizer, c.normalizers));
  MMLLM_TRY(detail::parse_pre_tokenizer(pre_tok, c.pre_tokenizers, c.byte_level));
  if (!decoder.is_null()) {
    c.has_decoder = true;
    MMLLM_TRY(detail::parse_decoder(decoder, c.decoders));
  }

  // post-processor → ids around a single sequence
  auto post_one = [&](const json_value& p, auto& self) -> result<void> {
    const std::string_view t = p.string_or("type", "");
    if (t == "Sequence") {
      if (const json_value* list = p.find("processors"))
        for (const json_value& x : list->items()) MMLLM_TRY(self(x, self));
      return ok();
    }
    if (t == "ByteLevel" || t.empty()) return ok();
    if (t == "BertProcessing" || t == "RobertaProcessing") {
      const json_value* cls = p.find("cls");
      const json_value* sep = p.find("sep");
      if (cls != nullptr && cls->items().size() == 2)
        c.post_prefix.push_back(static_cast<token_id>(cls->items()[1].as_number()));
      if (sep != nullptr && sep->items().size() == 2)
        c.post_suffix.push_back(static_cast<token_id>(sep->items()[1].as_number()));
      return ok();
    }
    if (t == "TemplateProcessing") {
      c.post_prefix.clear();
      c.post_suffix.clear();
      const json_value* single = p.find("single");
      const json_value* specials_map = p.find("special_tokens");
      bool after = false;
      if (single != nullptr) {
        for (const json_value& item : single->items()) {
          if (item.find("Sequence") != nullptr) {
            after = true;
            continue;
          }
          const json_value* st = item.find("SpecialToken");
          if (st == nullptr) continue;
          const std::string name(st->string_or("id", ""));
          std::vector<token_id> ids;
          const json_value* m = specials_map != nullptr ? specials_map->find(name) : nullptr;
          if (m != nullptr && m->find("ids") != nullptr) {
            for (const json_value& x : m->find("ids")->items())
              ids.push_back(static_cast<token_id>(x.as_number()));
          } else if (const token_id id = vocab.find(name); id != no_token) {
            ids.push_back(id);
          }
          auto& dst = after ? c.post_suffix : c.post_prefix;
          dst.insert(dst.end(), ids.begin(), ids.end());
        }
      }
      return ok();
    }
    return detail::hf_unsupported("post-processor", t);
  };
  if (!post.is_null()) MMLLM_TRY(post_one(post, post_one));
  c.add_bos = !c.post_prefix.empty();
  c.add_eos = !c.post_suffix.empty();

  // end of generation: EOS and the usual turn-end tokens
  std::vector<token_id>& eog = c.end_of_generation;
  if (sp.eos != no_token) eog.push_back(sp.eos);
  for (token_id id = 0; id < static_cast<token_id>(vocab.size()); ++id)
    if (detail::peer_quirk_token_roles::in(vocab.text(id), detail::peer_quirk_token_roles::eog) &&
        std::find(eog.begin(), eog.end(), id) == eog.end())
      eog.push_back(id);

  std::vector<std::pair<std::string_view, std::string_view>> merges;
  merges.reserve(model.merges.size());
  for (const auto& [a, b] : model.merges) merges.emplace_back(a, b);
  return tokenizer::create(std::move(vocab), merges, std::move(c));
}

namespace detail {
inline result<std::string> read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(errc::io_error, "cannot open '", path, "'");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return make_error(errc::io_error, "cannot read '", path, "'");
  return s;
}
}  // namespace detail

/// Loads <dir>/tokenizer.json and, if present, <dir>/tokenizer_config.json.
inline result<tokenizer> load_tokenizer_json_dir(std::string_view dir) {
  std::string base(dir);
  if (!base.empty() && base.back() != '/') base += '/';
  MMLLM_TRY_ASSIGN(const std::string json, detail::read_text_file(base + "tokenizer.json"));
  std::string cfg;
  if (auto c = detail::read_text_file(base + "tokenizer_config.json")) cfg = std::move(*c);
  return load_tokenizer_json(json, cfg);
}

}  // namespace mmllm
