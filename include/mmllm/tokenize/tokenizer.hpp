// mmllm/tokenize/tokenizer.hpp — text ⇄ token ids for SentencePiece, BPE, WordPiece, Unigram.
//
// A `tokenizer` is an immutable, cheaply copyable handle (shared state, thread-safe to use
// concurrently). It is built by a loader:
//   auto tok = mmllm::load_gguf_tokenizer(reader);                  // gguf_tokenizer.hpp
//   auto tok = mmllm::load_tokenizer_json(json_text, config_text);  // tokenizer_json.hpp
// and then:
//   std::vector<mmllm::token_id> ids = tok->encode("Hello world", {.add_special = true});
//   std::string text = tok->decode(ids);
//   std::string piece = tok->token_to_piece(ids[0]);
// Streaming decode (UTF-8-safe, equal to whole decode): mmllm::detokenizer (detokenizer.hpp).
//
// Two rule sets, fixed by the loader (`tokenizer_rules`):
//  * peer: GGUF vocabularies behave exactly as llama.cpp 583cb834 tokenizes and
//    detokenizes them (llama_tokenize / llama_token_to_piece / llama_detokenize). Every peer
//    quirk reproduced on purpose lives in a function or constant named `peer_quirk_*`.
//  * huggingface: tokenizer.json behaves as the Hugging Face tokenizers pipeline
//    (transformers.js 3.7 semantics, which the fixtures record): added-token splitting,
//    normalizer, pre-tokenizer, model, post-processor; decode through the decoder and
//    clean_up_tokenization_spaces.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "bpe_model.hpp"
#include "hf_pipeline.hpp"
#include "pre_tokenizer.hpp"
#include "spm_model.hpp"
#include "unicode.hpp"
#include "unigram_model.hpp"
#include "vocabulary.hpp"
#include "wordpiece_model.hpp"

namespace mmllm {

/// The segmentation algorithm.
enum class tokenizer_model : std::uint8_t {
  spm,        ///< SentencePiece-style merges by score (peer "llama" vocabularies)
  bpe,        ///< byte-pair encoding by merge rank (byte-level or with byte fallback)
  wordpiece,  ///< greedy longest match (BERT)
  unigram,    ///< Viterbi over piece scores (tokenizer.json Unigram)
};

/// Whose behaviour encode/decode reproduce.
enum class tokenizer_rules : std::uint8_t { peer, huggingface };

/// Ids of the tokens with a role (no_token when absent).
struct special_tokens {
  token_id bos = no_token, eos = no_token, eot = no_token, eom = no_token, unk = no_token, sep = no_token,
           pad = no_token, cls = no_token, mask = no_token, nl = no_token;
  token_id fim_pre = no_token, fim_suf = no_token, fim_mid = no_token, fim_pad = no_token, fim_rep = no_token,
           fim_sep = no_token;
};

struct encode_options {
  /// Add the model's special tokens: BOS/EOS/SEP as the vocabulary says (peer), or the
  /// post-processor's template (Hugging Face).
  bool add_special = true;
  /// Recognize special (control) token texts such as "<|im_start|>" in the input. Without it
  /// they are tokenized as plain text (user-defined / non-special added tokens are always
  /// recognized, as both reference implementations do).
  bool parse_special = false;
};

struct decode_options {
  /// Leave out special tokens: peer — control and unknown tokens render as nothing (the
  /// peer's `special=false`); Hugging Face — skip_special_tokens.
  bool skip_special = false;
  /// Peer only: drop a leading BOS / trailing EOS the vocabulary adds (llama_detokenize's
  /// remove_special).
  bool remove_bos_eos = false;
  /// Clean up spaces before punctuation: -1 = the tokenizer's default (peer: clean_spaces
  /// of the vocabulary; Hugging Face: clean_up_tokenization_spaces), 0 = off, 1 = on.
  int clean_up_spaces = -1;
  /// Replace ill-formed UTF-8 (from byte tokens that do not form characters) with U+FFFD.
  /// -1 = default (Hugging Face: on, as its decoders do; peer: off, raw bytes as the peer).
  int sanitize_utf8 = -1;
};

/// Everything a loader decides about a tokenizer besides its vocabulary and merges.
struct tokenizer_config {
  tokenizer_model model = tokenizer_model::spm;
  tokenizer_rules rules = tokenizer_rules::peer;
  special_tokens specials;
  std::vector<token_id> end_of_generation;  ///< EOG ids (EOS, EOT, <|im_end|> …)
  bool add_bos = false, add_eos = false, add_sep = false;
  bool add_space_prefix = false;          ///< peer SPM: " " before the first text fragment
  bool remove_extra_whitespaces = false;  ///< peer (UGM only; recorded)
  bool clean_spaces = false;              ///< default clean-up on decode
  bool ignore_merges = false;             ///< BPE: a word that is a token is not merged
  bool byte_level = false;                ///< BPE symbols are GPT-2 byte-level characters
  bool byte_fallback = false;             ///< <0xXX> tokens for unknown characters
  bool fuse_unk = false;                  ///< consecutive unknown tokens fuse into one
  bool merges_first_duplicate_wins = true;
  std::string pre_type;               ///< peer: tokenizer.ggml.pre
  std::vector<split_rule> pre_rules;  ///< peer BPE pre-tokenizer
  // Hugging Face pipeline
  struct added_token {
    std::string content;
    token_id id = no_token;
    bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
  };
  std::vector<added_token> added_tokens;
  std::vector<hf::normalizer_step> normalizers;
  std::vector<hf::pre_tokenizer_step> pre_tokenizers;
  std::vector<hf::decoder_step> decoders;
  bool has_decoder = false;
  std::vector<token_id> post_prefix, post_suffix;  ///< ids the post-processor adds
  std::vector<std::string> special_token_texts;    ///< skipped by skip_special (HF)
  std::string continuing_subword_prefix, end_of_word_suffix;
  std::size_t max_input_chars_per_word = 100;
  double unigram_unknown_score = 0.0;
  std::string chat_template;  ///< the model's Jinja chat template, if the file has one
};

namespace detail {

/// GPT-2's byte → printable code point mapping (bytes that are printable Latin-1 map to
/// themselves, the rest to U+0100 upwards in order).
inline const std::array<char32_t, 256>& byte_level_chars() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    std::array<bool, 256> direct{};
    for (int b = 0; b < 256; ++b)
      direct[static_cast<std::size_t>(b)] =
          (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b)
      t[static_cast<std::size_t>(b)] =
          direct[static_cast<std::size_t>(b)] ? static_cast<char32_t>(b) : next++;
    return t;
  }();
  return table;
}

/// Inverse of byte_level_chars: code point → byte, or -1.
inline int byte_level_byte(char32_t c) noexcept {
  if (c < 0x21) return -1;
  if (c <= 0x7E || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) return static_cast<int>(c);
  const auto& t = byte_level_chars();
  for (int b = 0; b < 256; ++b)
    if (t[static_cast<std::size_t>(b)] == c) return b;
  return -1;
}

/// One fragment of the input after special-token partitioning.
struct fragment {
  token_id token = no_token;  // != no_token: a special token
  std::size_t begin = 0, end = 0;
};

struct tokenizer_state {
  vocabulary vocab;
  tokenizer_config cfg;
  bpe_model bpe;
  std::array<token_id, 256> byte_tokens{};       // <0xXX> (or single-byte) tokens
  std::array<std::int32_t, 256> byte_symbols{};  // byte-level BPE symbol of each byte
  std::array<std::string, 256> byte_level_utf8;  // UTF-8 of each byte's byte-level char
  std::vector<std::string> pieces;               // peer: token_to_piece(id, special=true)
  std::vector<token_id> special_cache;           // peer: by text length, longest first
  detail::byte_trie added_trie;                  // HF: added token contents → index into cfg.added_tokens
  std::vector<std::uint32_t> added_rank;         // HF: matching priority (longest first, then file order)
  bool any_lstrip = false;                       // HF: some added token has lstrip
  detail::byte_trie special_trie;                // peer: special token texts → id
  std::vector<bool> is_special_text;             // HF: per id, skipped by skip_special
  std::vector<bool> is_added_id;                 // HF: per id, an added token
  detail::adjacency_set pairs;  // SPM: pairs inside tokens; BPE (not byte-level): inside merge results
  std::vector<std::int32_t> bmp_symbols;  // BPE (not byte-level): symbol of each BMP code point
};

inline int hex_digit(char h) noexcept {
  if (h >= '0' && h <= '9') return h - '0';
  if (h >= 'a' && h <= 'f') return h - 'a' + 10;
  if (h >= 'A' && h <= 'F') return h - 'A' + 10;
  return -1;
}

/// Removes up to `start` leading and `stop` trailing copies of `c` (the Strip decoder).
inline std::string strip_chars(std::string_view t, char32_t c, std::size_t start, std::size_t stop) {
  const std::string cs = utf8_encode(c);
  std::size_t b = 0, e = t.size();
  for (std::size_t i = 0; i < start && t.compare(b, cs.size(), cs) == 0 && b < e; ++i) b += cs.size();
  for (std::size_t i = 0; i < stop && e >= b + cs.size() && t.compare(e - cs.size(), cs.size(), cs) == 0; ++i)
    e -= cs.size();
  return std::string(t.substr(b, e - b));
}

/// Peer quirk (unicode_cpts_from_utf8 + unicode_cpt_to_utf8 in the peer's BPE path): text is
/// decoded leniently (overlong forms and surrogates accepted, as long as the continuation
/// bytes are there) and re-encoded; a byte that starts no complete sequence becomes U+FFFD.
/// Valid UTF-8 is unchanged. (A sequence above U+10FFFF makes the peer throw; here it
/// becomes U+FFFD.)
inline std::string peer_quirk_repair_utf8(std::string_view t) {
  std::string out;
  out.reserve(t.size() + 8);
  auto cont = [&](std::size_t i) {
    return i < t.size() && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80;
  };
  auto at = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(t[i])); };
  for (std::size_t i = 0; i < t.size();) {
    const std::uint32_t b = at(i);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (b < 0x80) {
      cp = b, n = 1;
    } else if ((b & 0xE0) == 0xC0 && cont(i + 1)) {
      cp = ((b & 0x1Fu) << 6) | (at(i + 1) & 0x3Fu), n = 2;
    } else if ((b & 0xF0) == 0xE0 && cont(i + 1) && cont(i + 2)) {
      cp = ((b & 0x0Fu) << 12) | ((at(i + 1) & 0x3Fu) << 6) | (at(i + 2) & 0x3Fu), n = 3;
    } else if ((b & 0xF8) == 0xF0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      cp = ((b & 0x07u) << 18) | ((at(i + 1) & 0x3Fu) << 12) | ((at(i + 2) & 0x3Fu) << 6) |
           (at(i + 3) & 0x3Fu);
      n = 4;
    }
    if (n == 0 || cp > 0x10FFFF) {
      out += "\xEF\xBF\xBD";
      i += 1;
      continue;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {  // encoded as is (3 bytes), like the peer
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      utf8_append(out, cp);
    }
    i += n;
  }
  return out;
}

/// Byte-level decode as Hugging Face does it (characters outside the alphabet: byte 0,
/// which is what transformers.js's lookup of an unmapped character yields).
inline std::string byte_level_decode(std::string_view text) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    const int b = d.valid ? byte_level_byte(d.code_point) : -1;
    out.push_back(static_cast<char>(b < 0 ? 0 : b));
    pos += d.length;
  }
  return out;
}

/// Hugging Face: the decoder chain's output for one token (`first`: the first token after
/// skip_special filtering; `last`: the last one). Steps after a Fuse that act on the whole
/// text (Strip) are applied by decode_stream.
inline std::string hf_piece(const tokenizer_state& s, token_id id, bool first, bool last) {
  const std::string_view tok = s.vocab.text(id);
  if (!s.cfg.has_decoder) return first ? std::string(tok) : " " + std::string(tok);
  std::string t(tok);
  const bool is_added = s.is_added_id[static_cast<std::size_t>(id)];
  bool fused = false;
  for (const hf::decoder_step& d : s.cfg.decoders) {
    switch (d.type) {
      case hf::decoder_step::kind::byte_level:
        if (!is_added) t = byte_level_decode(t);
        break;
      case hf::decoder_step::kind::replace:
        t = d.pattern ? hf::detail::replace_all_regex(t, *d.pattern, d.to)
                      : hf::detail::replace_all_literal(t, d.from, d.to);
        break;
      case hf::decoder_step::kind::byte_fallback:
        if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
          const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
          if (hi >= 0 && lo >= 0) t = std::string(1, static_cast<char>(hi * 16 + lo));
        }
        break;
      case hf::decoder_step::kind::fuse: fused = true; break;
      case hf::decoder_step::kind::strip:
        if (!fused) t = strip_chars(t, d.strip_content, d.strip_start, d.strip_stop);
        break;
      case hf::decoder_step::kind::metaspace:
        t = hf::detail::replace_all_literal(t, d.from, " ");
        if (first && d.metaspace_strip_first && !t.empty() && t.front() == ' ') t.erase(0, 1);
        break;
      case hf::decoder_step::kind::wordpiece:
        if (!first) {
          if (t.compare(0, d.from.size(), d.from) == 0)
            t.erase(0, d.from.size());
          else
            t.insert(0, 1, ' ');
        }
        if (d.wordpiece_cleanup) t = hf::clean_up_tokenization(t);
        break;
      case hf::decoder_step::kind::bpe:
        t = hf::detail::replace_all_literal(t, d.from, last ? "" : " ");
        break;
    }
  }
  return t;
}

/// Incremental detokenization shared by tokenizer::decode and mmllm::detokenizer. Output
/// is final when emitted: bytes of an incomplete UTF-8 character, text a clean-up rule or a
/// Strip decoder might still change, and tokens whose rendering depends on being last are
/// held until more tokens (or finish) decide them.
class decode_stream {
 public:
  decode_stream(const tokenizer_state& s, const decode_options& o) : s_(&s), opt_(o) {
    hf_ = s.cfg.rules == tokenizer_rules::huggingface;
    clean_ = o.clean_up_spaces < 0 ? s.cfg.clean_spaces : o.clean_up_spaces > 0;
    sanitize_ = o.sanitize_utf8 < 0 ? hf_ : o.sanitize_utf8 > 0;
    if (hf_) {
      bool fused = false;
      for (const hf::decoder_step& d : s.cfg.decoders) {
        if (d.type == hf::decoder_step::kind::fuse) fused = true;
        if (d.type == hf::decoder_step::kind::bpe) hold_last_ = true;
        if (d.type == hf::decoder_step::kind::strip && fused) {
          strip_content_ = d.strip_content;
          strip_left_ = d.strip_start;
          strip_right_ = d.strip_stop;
        }
      }
    }
  }

  void push(token_id id, std::string& out) {
    const tokenizer_state& s = *s_;
    if (!s.vocab.contains(id)) {
      if (!hf_ || s.cfg.specials.unk == no_token) return;
      id = s.cfg.specials.unk;  // transformers.js renders an out-of-range id as the unknown token
    }
    if (hf_) {
      if (opt_.skip_special && s.is_special_text[static_cast<std::size_t>(id)]) return;
      if (hold_last_) {
        if (last_ != no_token) {
          emit_raw(hf_piece(s, last_, first_, false), out);
          first_ = false;
        }
        last_ = id;
        return;
      }
      emit_raw(hf_piece(s, id, first_, false), out);
      first_ = false;
      return;
    }
    // peer (llama_detokenize)
    const tokenizer_config& c = s.cfg;
    if (!seen_any_) {
      seen_any_ = true;
      if (opt_.remove_bos_eos && c.add_bos && id == c.specials.bos) {
        first_ = false;  // the peer then keeps the next token's leading space
        return;
      }
    }
    if (held_eos_) {
      held_eos_ = false;
      emit_peer(c.specials.eos, out);
    }
    if (opt_.remove_bos_eos && c.add_eos && id == c.specials.eos) {
      held_eos_ = true;  // dropped if it turns out to be the last token
      return;
    }
    emit_peer(id, out);
  }

  void finish(std::string& out) {
    if (hf_ && hold_last_ && last_ != no_token) {
      emit_raw(hf_piece(*s_, last_, first_, true), out);
      last_ = no_token;
    }
    held_eos_ = false;
    std::string rest;
    rest.swap(raw_);
    stage_text(std::move(rest), out);
    right_hold_.clear();  // a trailing Strip removes these
    if (!pending_clean_.empty()) {
      out += clean(pending_clean_);
      pending_clean_.clear();
    }
  }

 private:
  const tokenizer_state* s_;
  decode_options opt_;
  bool hf_ = false, clean_ = false, sanitize_ = false;
  bool first_ = true, seen_any_ = false, held_eos_ = false, hold_last_ = false;
  token_id last_ = no_token;
  std::string raw_;            // bytes held for an incomplete UTF-8 character
  std::string right_hold_;     // trailing Strip characters held until more text comes
  std::string pending_clean_;  // text a clean-up rule may still change
  char32_t strip_content_ = ' ';
  std::size_t strip_left_ = 0, strip_right_ = 0;

  void emit_peer(token_id id, std::string& out) {
    const tokenizer_state& s = *s_;
    std::string_view piece = s.pieces[static_cast<std::size_t>(id)];
    if (opt_.skip_special && (s.vocab.attr(id) & (token_attr::control | token_attr::unknown)) != 0)
      piece = {};
    if (first_ && s.cfg.add_space_prefix && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    first_ = false;
    emit_raw(piece, out);
  }

  void emit_raw(std::string_view bytes, std::string& out) {
    raw_.append(bytes);
    const std::size_t keep = utf8_incomplete_tail(raw_);
    if (keep == raw_.size()) return;
    std::string text = raw_.substr(0, raw_.size() - keep);
    raw_.erase(0, raw_.size() - keep);
    stage_text(std::move(text), out);
  }

  void stage_text(std::string text, std::string& out) {
    if (text.empty()) return;
    if (sanitize_) text = utf8_sanitize(text);
    if (strip_left_ > 0) {
      const std::string c = utf8_encode(strip_content_);
      while (strip_left_ > 0 && !text.empty()) {
        if (text.compare(0, c.size(), c) == 0) {
          text.erase(0, c.size());
          --strip_left_;
        } else {
          strip_left_ = 0;
        }
      }
      if (text.empty()) return;
    }
    if (strip_right_ > 0) {
      text = right_hold_ + text;
      right_hold_.clear();
      const std::string c = utf8_encode(strip_content_);
      std::size_t n = 0;
      while (n < strip_right_ && text.size() >= c.size() * (n + 1) &&
             text.compare(text.size() - c.size() * (n + 1), c.size(), c) == 0)
        ++n;
      right_hold_ = text.substr(text.size() - c.size() * n);
      text.resize(text.size() - c.size() * n);
    }
    if (!clean_) {
      out += text;
      return;
    }
    pending_clean_ += text;
    const std::size_t r = restart_point(pending_clean_);
    if (r > 0) {
      out += clean(std::string_view(pending_clean_).substr(0, r));
      pending_clean_.erase(0, r);
    }
  }

  /// The largest r such that clean(t) == clean(t[0, r)) + clean(t[r, …)) whatever follows.
  [[nodiscard]] std::size_t restart_point(std::string_view t) const noexcept {
    for (std::size_t r = t.size(); r >= 3; --r) {
      if (r < t.size() && (static_cast<unsigned char>(t[r]) & 0xC0) == 0x80) continue;
      bool ok = true;
      // Hugging Face rules start with a space and span at most 4 characters; the peer's
      // passes look one character back and two ahead of a space or an apostrophe.
      for (std::size_t k = 1; k <= (hf_ ? 3u : 2u) && ok; ++k) {
        const char ch = t[r - k];
        ok = ch != ' ' && (hf_ || ch != '\'');
      }
      if (ok) return r;
    }
    return 0;
  }

  [[nodiscard]] std::string clean(std::string_view t) const {
    return hf_ ? hf::clean_up_tokenization(t) : peer_quirk_clean_spaces(t);
  }

 public:
  /// Peer quirk (llama_detokenize with clean_spaces): three passes over the bytes — drop a
  /// space before ? ! . ,; turn " ' " into "'"; drop the space before 's 'm 're 've (but not
  /// before 't 'd 'll).
  static std::string peer_quirk_clean_spaces(std::string_view in) {
    std::string text(in);
    std::size_t total = text.size();
    if (total == 0) return text;
    // pass 1
    std::size_t t1 = total;
    total = 1;
    for (std::size_t i = 1; i < t1; ++i) {
      const char x = text[i];
      if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
      text[total++] = x;
    }
    // pass 2
    const std::size_t t2 = total;
    total = 1;
    for (std::size_t i = 1; i < t2; ++i) {
      const char x = text[i];
      if (x == '\'' && i + 1 < t2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
        --total;
        text[++i] = '\0';
      }
      text[total++] = x;
    }
    // pass 3
    const std::size_t t3 = total;
    total = 1;
    for (std::size_t i = 1; i < t3; ++i) {
      const char x = text[i];
      if (text[i - 1] == ' ' && x == '\'' && i + 1 < t3) {
        const char x1 = text[i + 1];
        if (x1 == 's' || x1 == 'm') {
          --total;
        } else if (i + 2 < t3) {
          const char x2 = text[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
        }
      }
      text[total++] = x;
    }
    text.resize(total);
    return text;
  }
};

}  // namespace detail

class tokenizer {
 public:
  tokenizer() = default;

  /// Builds a tokenizer from a finalized vocabulary, ranked merges (BPE; empty otherwise)
  /// and the loader's decisions.
  static result<tokenizer> create(vocabulary vocab,
                                  const std::vector<std::pair<std::string_view, std::string_view>>& merges,
                                  tokenizer_config cfg) {
    auto st = std::make_shared<detail::tokenizer_state>();
    st->vocab = std::move(vocab);
    st->cfg = std::move(cfg);
    if (st->vocab.size() == 0) return make_error(errc::malformed, "tokenizer: empty vocabulary");
    detail::tokenizer_state& s = *st;
    s.byte_tokens = byte_fallback_tokens(s.vocab);
    const auto& blc = detail::byte_level_chars();
    for (std::size_t b = 0; b < 256; ++b) s.byte_level_utf8[b] = utf8_encode(blc[b]);
    if (s.cfg.model == tokenizer_model::bpe) {
      s.bpe.build(s.vocab, merges, s.cfg.merges_first_duplicate_wins);
      for (std::size_t b = 0; b < 256; ++b) s.byte_symbols[b] = s.bpe.symbol_of(s.byte_level_utf8[b]);
    }
    if (s.cfg.rules == tokenizer_rules::peer) {
      build_peer_caches(s);
    } else {
      build_hf_caches(s);
    }
    if (s.cfg.model == tokenizer_model::spm) {
      for (std::size_t i = 0; i < s.vocab.size(); ++i) s.pairs.add(s.vocab.text(static_cast<token_id>(i)));
    } else if (s.cfg.model == tokenizer_model::bpe && !s.cfg.byte_level) {
      std::string joined;
      for (const auto& [a, b] : merges) {
        joined.assign(a);
        joined.append(b);
        s.pairs.add(joined);
      }
      s.bmp_symbols.assign(0x10000, -1);
      std::string one;
      for (char32_t cp = 0; cp < 0x10000; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        one.clear();
        utf8_append(one, cp);
        s.bmp_symbols[cp] = s.bpe.symbol_of(one);
      }
    }
    tokenizer t;
    t.s_ = st;
    // Peer: the newline token of a BPE vocabulary is the first token of "\n" (or pad).
    if (s.cfg.rules == tokenizer_rules::peer && s.cfg.model == tokenizer_model::bpe &&
        s.cfg.specials.nl == no_token) {
      const std::vector<token_id> nl = t.encode("\n", {false, false});
      st->cfg.specials.nl = nl.empty() ? st->cfg.specials.pad : nl.front();
    }
    return t;
  }

  [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }
  [[nodiscard]] tokenizer_model model() const noexcept { return s_->cfg.model; }
  [[nodiscard]] tokenizer_rules rules() const noexcept { return s_->cfg.rules; }
  [[nodiscard]] const tokenizer_config& config() const noexcept { return s_->cfg; }
  [[nodiscard]] const vocabulary& vocab() const noexcept { return s_->vocab; }
  [[nodiscard]] std::size_t size() const noexcept { return s_->vocab.size(); }
  [[nodiscard]] const special_tokens& specials() const noexcept { return s_->cfg.specials; }
  [[nodiscard]] token_id bos() const noexcept { return s_->cfg.specials.bos; }
  [[nodiscard]] token_id eos() const noexcept { return s_->cfg.specials.eos; }
  [[nodiscard]] token_id eot() const noexcept { return s_->cfg.specials.eot; }
  [[nodiscard]] token_id unk() const noexcept { return s_->cfg.specials.unk; }
  [[nodiscard]] token_id pad() const noexcept { return s_->cfg.specials.pad; }
  [[nodiscard]] bool add_bos() const noexcept { return s_->cfg.add_bos; }
  [[nodiscard]] bool add_eos() const noexcept { return s_->cfg.add_eos; }
  /// End-of-generation token (EOS, EOT, <|im_end|>, <end_of_turn> …).
  [[nodiscard]] bool is_eog(token_id id) const noexcept {
    const auto& e = s_->cfg.end_of_generation;
    return id != no_token && std::find(e.begin(), e.end(), id) != e.end();
  }
  /// Control / special token (rendered only with decode_options::skip_special = false).
  [[nodiscard]] bool is_special(token_id id) const noexcept {
    if (!s_->vocab.contains(id)) return false;
    if (s_->cfg.rules == tokenizer_rules::huggingface)
      return s_->is_special_text[static_cast<std::size_t>(id)];
    return (s_->vocab.attr(id) & (token_attr::control | token_attr::unknown)) != 0;
  }
  /// Id of the token whose text is `text` (no_token if none).
  [[nodiscard]] token_id find_token(std::string_view text) const noexcept { return s_->vocab.find(text); }

  /// Tokenizes `text`, appending to `out`.
  void encode(std::string_view text, const encode_options& opt, std::vector<token_id>& out) const {
    if (s_->cfg.rules == tokenizer_rules::peer) {
      encode_peer(text, opt, out);
    } else {
      encode_hf(text, opt, out);
    }
  }
  [[nodiscard]] std::vector<token_id> encode(std::string_view text, const encode_options& opt = {}) const {
    std::vector<token_id> out;
    encode(text, opt, out);
    return out;
  }

  /// The bytes one token stands for (no clean-up, no UTF-8 validation). Peer:
  /// llama_token_to_piece(token, special, lstrip) — `special` renders control/unknown
  /// tokens, up to `lstrip` leading spaces are removed. Hugging Face: the decoder's output for
  /// the token in the middle of a sequence (lstrip likewise). Unknown ids give "".
  [[nodiscard]] std::string token_to_piece(token_id id, bool special = true, int lstrip = 0) const {
    if (!s_->vocab.contains(id)) return {};
    std::string piece;
    if (s_->cfg.rules == tokenizer_rules::peer) {
      if (!special && (s_->vocab.attr(id) & (token_attr::unknown | token_attr::control)) != 0) return {};
      piece = s_->pieces[static_cast<std::size_t>(id)];
    } else {
      if (!special && s_->is_special_text[static_cast<std::size_t>(id)]) return {};
      piece = detail::hf_piece(*s_, id, false, false);
    }
    std::size_t n = 0;
    while (static_cast<int>(n) < lstrip && n < piece.size() && piece[n] == ' ') ++n;
    piece.erase(0, n);
    return piece;
  }

  /// Detokenizes a whole sequence (the same bytes a detokenizer stream produces).
  [[nodiscard]] std::string decode(std::span<const token_id> ids, const decode_options& opt = {}) const {
    std::string out;
    detail::decode_stream st(*s_, opt);
    for (const token_id id : ids) st.push(id, out);
    st.finish(out);
    return out;
  }

  [[nodiscard]] const detail::tokenizer_state& state() const noexcept { return *s_; }

 private:
  std::shared_ptr<const detail::tokenizer_state> s_;

  // --- construction -----------------------------------------------------------------------

  /// The peer's llama_token_to_piece(special = true) for every token.
  static std::string peer_piece(const detail::tokenizer_state& s, token_id id) {
    const std::uint32_t attr = s.vocab.attr(id);
    const std::string_view text = s.vocab.text(id);
    if ((attr & (token_attr::unknown | token_attr::control | token_attr::user_defined)) != 0)
      return std::string(text);
    switch (s.cfg.model) {
      case tokenizer_model::spm:
      case tokenizer_model::wordpiece:
      case tokenizer_model::unigram:
        if ((attr & token_attr::normal) != 0)
          return hf::detail::replace_all_literal(text, "\xE2\x96\x81", " ");
        if ((attr & token_attr::byte) != 0 && text.size() >= 5) {
          const std::string hex(text.substr(3, 2));
          return std::string(1, static_cast<char>(std::strtol(hex.c_str(), nullptr, 16)));
        }
        return {};
      case tokenizer_model::bpe:
        if ((attr & token_attr::normal) != 0) return peer_quirk_byte_level_decode(text);
        return {};
    }
    return {};
  }

  /// Peer quirk (llama_decode_text): a character outside the byte-level alphabet decodes
  /// to "[UNK_BYTE_0x<hex of its UTF-8>" + the whole token text + "]".
  static std::string peer_quirk_byte_level_decode(std::string_view text) {
    std::string out;
    for (std::size_t pos = 0; pos < text.size();) {
      const utf8_decoded d = utf8_decode(text, pos);
      const int b = d.valid ? detail::byte_level_byte(d.code_point) : -1;
      if (b >= 0) {
        out.push_back(static_cast<char>(b));
      } else {
        static constexpr char hex[] = "0123456789abcdef";
        out += "[UNK_BYTE_0x";
        for (std::size_t i = 0; i < d.length; ++i) {
          const auto c = static_cast<unsigned char>(text[pos + i]);
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        }
        out.append(text);
        out += "]";
      }
      pos += d.length;
    }
    return out;
  }

  static void build_peer_caches(detail::tokenizer_state& s) {
    s.pieces.resize(s.vocab.size());
    for (std::size_t i = 0; i < s.vocab.size(); ++i) s.pieces[i] = peer_piece(s, static_cast<token_id>(i));
    for (std::size_t i = 0; i < s.vocab.size(); ++i)
      if ((s.vocab.attr(static_cast<token_id>(i)) &
           (token_attr::control | token_attr::user_defined | token_attr::unknown)) != 0)
        s.special_cache.push_back(static_cast<token_id>(i));
    for (const token_id id : s.special_cache)
      if (!s.vocab.text(id).empty()) s.special_trie.add(s.vocab.text(id), static_cast<std::uint32_t>(id));
    // The peer sorts with std::sort (unstable) by length; ties keep id order here.
    std::stable_sort(s.special_cache.begin(), s.special_cache.end(),
                     [&](token_id a, token_id b) { return s.vocab.text(a).size() > s.vocab.text(b).size(); });
  }

  static void build_hf_caches(detail::tokenizer_state& s) {
    const auto& added = s.cfg.added_tokens;
    std::vector<std::uint32_t> order(added.size());
    for (std::size_t i = 0; i < added.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return utf16_length(added[a].content) > utf16_length(added[b].content);
    });
    s.added_rank.assign(added.size(), 0);
    for (std::size_t k = 0; k < order.size(); ++k) s.added_rank[order[k]] = static_cast<std::uint32_t>(k);
    for (std::size_t i = 0; i < added.size(); ++i) {
      if (added[i].content.empty()) continue;
      s.added_trie.add(added[i].content, static_cast<std::uint32_t>(i));
      s.any_lstrip |= added[i].lstrip;
    }
    s.is_special_text.assign(s.vocab.size(), false);
    for (const std::string& t : s.cfg.special_token_texts) {
      const token_id id = s.vocab.find(t);
      if (id != no_token) s.is_special_text[static_cast<std::size_t>(id)] = true;
    }
    for (const auto& a : added)
      if (a.special && s.vocab.contains(a.id)) s.is_special_text[static_cast<std::size_t>(a.id)] = true;
    s.is_added_id.assign(s.vocab.size(), false);
    for (const auto& a : added)
      if (s.vocab.contains(a.id)) s.is_added_id[static_cast<std::size_t>(a.id)] = true;
  }

  /// Length in UTF-16 code units (transformers.js sorts added tokens by JS string length).
  static std::size_t utf16_length(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t pos = 0; pos < s.size();) {
      const utf8_decoded d = utf8_decode(s, pos);
      n += d.code_point >= 0x10000 ? 2 : 1;
      pos += d.length;
    }
    return n;
  }

  // --- peer encoding ----------------------------------------------------------------------

  /// The peer's special-token partition (tokenizer_st_partition): for each special token,
  /// longest first, split every remaining text fragment at each occurrence; lstrip/rstrip
  /// attributes eat ASCII white space next to it.
  void peer_partition(std::string_view text, bool parse_special, std::vector<detail::fragment>& frags) const {
    const detail::tokenizer_state& s = *s_;
    frags.clear();
    if (text.empty()) return;
    frags.push_back({no_token, 0, text.size()});
    // Only tokens that occur anywhere can split anything: find them in one pass first.
    std::vector<bool> occurs(s.vocab.size(), false);
    bool any = false;
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
      s.special_trie.prefixes(text.substr(pos), [&](std::uint32_t id, std::size_t) {
        if (!parse_special &&
            (s.vocab.attr(static_cast<token_id>(id)) & (token_attr::control | token_attr::unknown)) != 0)
          return;
        occurs[id] = true;
        any = true;
      });
    }
    if (!any) return;
    auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    std::vector<detail::fragment> next;
    for (const token_id id : s.special_cache) {
      if (!occurs[static_cast<std::size_t>(id)]) continue;
      const std::string_view tok = s.vocab.text(id);
      const std::uint32_t attr = s.vocab.attr(id);
      next.clear();
      for (const detail::fragment& f : frags) {
        if (f.token != no_token) {
          next.push_back(f);
          continue;
        }
        std::size_t b = f.begin;
        const std::size_t e = f.end;
        for (;;) {
          const std::size_t m = text.substr(0, e).find(tok, b);
          if (m == std::string_view::npos) {
            if (e > b) next.push_back({no_token, b, e});
            break;
          }
          std::size_t left_end = m;
          if ((attr & token_attr::lstrip) != 0)
            while (left_end > b && is_space(text[left_end - 1])) --left_end;
          if (left_end > b) next.push_back({no_token, b, left_end});
          next.push_back({id, 0, 0});
          std::size_t right = m + tok.size();
          if (right >= e) break;
          if ((attr & token_attr::rstrip) != 0)
            while (right < e && is_space(text[right])) ++right;
          b = right;
          if (b >= e) break;
        }
      }
      frags.swap(next);
    }
  }

  void encode_peer(std::string_view text, const encode_options& opt, std::vector<token_id>& out) const {
    const detail::tokenizer_state& s = *s_;
    const tokenizer_config& c = s.cfg;
    std::vector<detail::fragment> frags;
    peer_partition(text, opt.parse_special, frags);
    switch (c.model) {
      case tokenizer_model::spm: {
        if (opt.add_special && c.add_bos && c.specials.bos != no_token) out.push_back(c.specials.bos);
        bool prev_special = true;  // the first fragment gets the space prefix
        spm_scratch scratch;
        std::string buf;
        for (const detail::fragment& f : frags) {
          if (f.token != no_token) {
            out.push_back(f.token);
            prev_special = true;
            continue;
          }
          buf.clear();
          if (c.add_space_prefix && prev_special) buf = "\xE2\x96\x81";
          buf += hf::detail::replace_all_literal(text.substr(f.begin, f.end - f.begin), " ", "\xE2\x96\x81");
          spm_tokenize(s.vocab, s.byte_tokens, buf, out, scratch, &s.pairs);
          prev_special = false;
        }
        if (opt.add_special && c.add_eos && c.specials.eos != no_token) out.push_back(c.specials.eos);
        break;
      }
      case tokenizer_model::bpe: {
        if (opt.add_special && c.add_bos && c.specials.bos != no_token) out.push_back(c.specials.bos);
        bpe_scratch scratch;
        std::vector<text_span> words, tmp;
        std::vector<std::int32_t> syms;
        std::string enc;
        for (const detail::fragment& f : frags) {
          if (f.token != no_token) {
            out.push_back(f.token);
            continue;
          }
          std::string_view frag = text.substr(f.begin, f.end - f.begin);
          std::string repaired;
          if (!utf8_is_valid(frag)) {
            repaired = detail::peer_quirk_repair_utf8(frag);
            frag = repaired;
          }
          apply_split_rules(frag, {0, static_cast<std::uint32_t>(frag.size())}, c.pre_rules, words, tmp);
          for (const text_span w : words)
            peer_bpe_word(frag.substr(w.begin, w.end - w.begin), out, syms, enc, scratch);
        }
        if (opt.add_special && c.add_eos && c.specials.eos != no_token) out.push_back(c.specials.eos);
        break;
      }
      case tokenizer_model::wordpiece: {
        if (opt.add_special && c.specials.bos != no_token) out.push_back(c.specials.bos);
        for (const detail::fragment& f : frags) {
          if (f.token != no_token) {
            out.push_back(f.token);
            continue;
          }
          peer_wordpiece_tokenize(s.vocab, c.specials.unk, text.substr(f.begin, f.end - f.begin), out);
        }
        if (opt.add_special && c.specials.sep != no_token) out.push_back(c.specials.sep);
        break;
      }
      case tokenizer_model::unigram: break;  // rejected by the GGUF loader
    }
  }

  /// Byte-level BPE of one pre-tokenized word, with the peer's fallback for merge results
  /// that are not tokens (each byte of the byte-level text looked up as a one-byte token).
  void peer_bpe_word(std::string_view word, std::vector<token_id>& out, std::vector<std::int32_t>& syms,
                     std::string& enc, bpe_scratch& scratch) const {
    if (word.empty()) return;
    if (word.size() <= bpe_word_cache::max_word) {
      const std::uint64_t h = detail::hash_bytes(word);
      if (scratch.cache.find(word, h, out)) return;
      const std::size_t start = out.size();
      peer_bpe_word_uncached(word, out, syms, enc, scratch);
      scratch.cache.insert(word, h, out.data() + start, out.data() + out.size());
      return;
    }
    peer_bpe_word_uncached(word, out, syms, enc, scratch);
  }

  void peer_bpe_word_uncached(std::string_view word, std::vector<token_id>& out,
                              std::vector<std::int32_t>& syms, std::string& enc, bpe_scratch& scratch) const {
    const detail::tokenizer_state& s = *s_;
    if (s.cfg.ignore_merges) {
      enc.clear();
      for (const char ch : word) enc += s.byte_level_utf8[static_cast<unsigned char>(ch)];
      const token_id id = s.vocab.find(enc);
      if (id != no_token) {
        out.push_back(id);
        return;
      }
    }
    syms.resize(word.size());
    for (std::size_t i = 0; i < word.size(); ++i) {
      const std::int32_t sym = s.byte_symbols[static_cast<unsigned char>(word[i])];
      syms[i] = sym >= 0 ? sym : -2 - static_cast<std::int32_t>(static_cast<unsigned char>(word[i]));
    }
    s.bpe.apply(syms, scratch);
    for (const std::int32_t sym : syms) {
      if (s.bpe.is_token(sym)) {
        out.push_back(sym);
        continue;
      }
      const std::string_view t =
          sym >= 0 ? s.bpe.symbol_text(sym)
                   : std::string_view(s.byte_level_utf8[static_cast<std::size_t>(-2 - sym)]);
      for (const char ch : t) {
        const token_id id = s.vocab.find(std::string_view(&ch, 1));
        if (id != no_token) out.push_back(id);
      }
    }
  }

  // --- Hugging Face encoding ----------------------------------------------------------------

  /// Splits text at added tokens: leftmost match, longest content first (ties: file order);
  /// lstrip/rstrip tokens also consume adjacent white space.
  void hf_partition(std::string_view text, bool parse_special, std::vector<detail::fragment>& frags) const {
    const detail::tokenizer_state& s = *s_;
    frags.clear();
    const auto& added = s.cfg.added_tokens;
    auto ws_len = [&](std::size_t pos) -> std::size_t {
      if (pos >= text.size()) return 0;
      const utf8_decoded d = utf8_decode(text, pos);
      return (d.valid && (unicode_is_white_space(d.code_point) || d.code_point == 0xFEFF)) ? d.length : 0;
    };
    std::size_t start = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      // Among the added tokens that match at pos (lstrip ones also after white space), the
      // one first in priority order wins.
      std::uint32_t best = 0xFFFFFFFFu;
      std::uint32_t best_rank = 0xFFFFFFFFu;
      std::size_t best_end = 0;
      auto consider = [&](std::uint32_t i, std::size_t end, bool needs_lstrip) {
        const auto& a = added[i];
        if ((a.special && !parse_special) || (needs_lstrip && !a.lstrip)) return;
        if (s.added_rank[i] < best_rank) {
          best_rank = s.added_rank[i];
          best = i;
          best_end = end;
        }
      };
      s.added_trie.prefixes(text.substr(pos),
                            [&](std::uint32_t i, std::size_t len) { consider(i, pos + len, false); });
      if (s.any_lstrip && ws_len(pos) != 0) {
        std::size_t p = pos;
        while (const std::size_t l = ws_len(p)) p += l;
        s.added_trie.prefixes(text.substr(p),
                              [&](std::uint32_t i, std::size_t len) { consider(i, p + len, true); });
      }
      if (best == 0xFFFFFFFFu) {
        ++pos;
        continue;
      }
      std::size_t e = best_end;
      if (added[best].rstrip)
        while (const std::size_t l = ws_len(e)) e += l;
      if (pos > start) frags.push_back({no_token, start, pos});
      frags.push_back({added[best].id, 0, 0});
      start = pos = e;
    }
    if (text.size() > start) frags.push_back({no_token, start, text.size()});
  }

  void encode_hf(std::string_view text, const encode_options& opt, std::vector<token_id>& out) const {
    const detail::tokenizer_state& s = *s_;
    const tokenizer_config& c = s.cfg;
    std::vector<detail::fragment> frags;
    hf_partition(text, opt.parse_special, frags);
    if (opt.add_special) out.insert(out.end(), c.post_prefix.begin(), c.post_prefix.end());
    hf::pre_tokenized pre;
    std::vector<std::int32_t> syms;
    std::string enc;
    bpe_scratch scratch;
    for (std::size_t fi = 0; fi < frags.size(); ++fi) {
      const detail::fragment& f = frags[fi];
      if (f.token != no_token) {
        out.push_back(f.token);
        continue;
      }
      pre.buf = hf::normalize(text.substr(f.begin, f.end - f.begin), c.normalizers);
      if (pre.buf.empty()) continue;
      pre.spans.assign(1, {0, static_cast<std::uint32_t>(pre.buf.size())});
      hf::pre_tokenize(pre, c.pre_tokenizers, fi);
      const std::size_t section_start = out.size();
      for (const text_span w : pre.spans) {
        const std::string_view word = std::string_view(pre.buf).substr(w.begin, w.end - w.begin);
        switch (c.model) {
          case tokenizer_model::bpe: hf_bpe_word(word, out, syms, enc, scratch); break;
          case tokenizer_model::wordpiece:
            wordpiece_tokenize(s.vocab, word, c.continuing_subword_prefix, c.max_input_chars_per_word,
                               c.specials.unk, out);
            break;
          case tokenizer_model::unigram:
            unigram_tokenize(s.vocab, {c.specials.unk, c.unigram_unknown_score, c.byte_fallback},
                             s.byte_tokens, word, out);
            break;
          case tokenizer_model::spm: {
            spm_scratch sp;
            spm_tokenize(s.vocab, s.byte_tokens, word, out, sp, &s.pairs);
            break;
          }
        }
      }
      if (c.fuse_unk && c.model == tokenizer_model::bpe && c.specials.unk != no_token) {
        // transformers.js fuses unknowns across the whole section
        std::size_t w = section_start;
        for (std::size_t r = section_start; r < out.size(); ++r) {
          if (out[r] == c.specials.unk && w > section_start && out[w - 1] == c.specials.unk) continue;
          out[w++] = out[r];
        }
        out.resize(w);
      }
    }
    if (opt.add_special) out.insert(out.end(), c.post_suffix.begin(), c.post_suffix.end());
  }

  void hf_bpe_word(std::string_view word, std::vector<token_id>& out, std::vector<std::int32_t>& syms,
                   std::string& enc, bpe_scratch& scratch) const {
    if (word.empty()) return;
    if (word.size() <= bpe_word_cache::max_word) {
      const std::uint64_t h = detail::hash_bytes(word);
      if (scratch.cache.find(word, h, out)) return;
      const std::size_t start = out.size();
      hf_bpe_word_uncached(word, out, syms, enc, scratch);
      scratch.cache.insert(word, h, out.data() + start, out.data() + out.size());
      return;
    }
    hf_bpe_word_uncached(word, out, syms, enc, scratch);
  }

  void hf_bpe_word_uncached(std::string_view word, std::vector<token_id>& out,
                            std::vector<std::int32_t>& syms, std::string& enc, bpe_scratch& scratch) const {
    const detail::tokenizer_state& s = *s_;
    const tokenizer_config& c = s.cfg;
    if (word.empty()) return;
    // A long word (a whole paragraph for SentencePiece-style BPE) is cut where no merge can
    // span; the pieces merge independently with the same result.
    if (!c.byte_level && word.size() > 64 && !s.pairs.empty() && !c.ignore_merges &&
        c.end_of_word_suffix.empty() && c.continuing_subword_prefix.empty() && utf8_is_valid(word)) {
      std::vector<std::size_t> cuts;
      s.pairs.cut_points(word, cuts);
      if (!cuts.empty()) {
        std::size_t begin = 0;
        cuts.push_back(word.size());
        for (const std::size_t cut : cuts) {
          hf_bpe_piece(word.substr(begin, cut - begin), out, syms, enc, scratch);
          begin = cut;
        }
        return;
      }
    }
    hf_bpe_piece(word, out, syms, enc, scratch);
  }

  void hf_bpe_piece(std::string_view word, std::vector<token_id>& out, std::vector<std::int32_t>& syms,
                    std::string& enc, bpe_scratch& scratch) const {
    const detail::tokenizer_state& s = *s_;
    const tokenizer_config& c = s.cfg;
    if (word.empty()) return;
    if (c.byte_level) {
      if (c.ignore_merges) {
        enc.clear();
        for (const char ch : word) enc += s.byte_level_utf8[static_cast<unsigned char>(ch)];
        const token_id id = s.vocab.find(enc);
        if (id != no_token) {
          out.push_back(id);
          return;
        }
      }
      syms.resize(word.size());
      for (std::size_t i = 0; i < word.size(); ++i) {
        const std::int32_t sym = s.byte_symbols[static_cast<unsigned char>(word[i])];
        syms[i] = sym >= 0 ? sym : -2 - static_cast<std::int32_t>(i);
      }
    } else {
      if (c.ignore_merges) {
        const token_id id = s.vocab.find(word);
        if (id != no_token) {
          out.push_back(id);
          return;
        }
      }
      syms.clear();
      for (std::size_t pos = 0; pos < word.size();) {
        const utf8_decoded d = utf8_decode(word, pos);
        const std::size_t len = d.length;
        std::int32_t sym = -1;
        if (!c.end_of_word_suffix.empty() && pos + len == word.size()) {
          enc.assign(word.substr(pos, len));
          enc += c.end_of_word_suffix;
          sym = s.bpe.symbol_of(enc);
        } else if (!c.continuing_subword_prefix.empty() && pos > 0) {
          enc = c.continuing_subword_prefix;
          enc += word.substr(pos, len);
          sym = s.bpe.symbol_of(enc);
        } else if (d.valid && d.code_point < 0x10000 && !s.bmp_symbols.empty()) {
          sym = s.bmp_symbols[d.code_point];
        } else {
          sym = s.bpe.symbol_of(word.substr(pos, len));
        }
        syms.push_back(sym >= 0 ? sym : -2 - static_cast<std::int32_t>(pos));
        pos += len;
      }
    }
    s.bpe.apply(syms, scratch);
    for (const std::int32_t sym : syms) {
      if (s.bpe.is_token(sym)) {
        out.push_back(sym);
        continue;
      }
      // Not a token: byte fallback (all <0xXX> of its UTF-8 must exist) or the unknown token.
      std::string_view t;
      std::string one;
      if (sym >= 0) {
        t = s.bpe.symbol_text(sym);
      } else {
        const auto at = static_cast<std::size_t>(-2 - sym);
        t = word.substr(at, c.byte_level ? 1 : utf8_decode(word, at).length);
      }
      if (c.byte_level && sym >= 0) {  // the symbol's text is byte-level; get raw bytes
        one = detail::byte_level_decode(t);
        t = one;
      }
      if (c.byte_fallback && std::all_of(t.begin(), t.end(), [&](char ch) {
            return s.byte_tokens[static_cast<unsigned char>(ch)] != no_token;
          })) {
        for (const char ch : t) out.push_back(s.byte_tokens[static_cast<unsigned char>(ch)]);
        continue;
      }
      if (c.specials.unk != no_token) out.push_back(c.specials.unk);
    }
  }
};

}  // namespace mmllm
