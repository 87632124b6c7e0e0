// mmllm/sampling/grammar_sampler.hpp — constrained decoding: masks the tokens that cannot
// continue a valid parse of a GBNF grammar (llama.cpp's "grammar" sampler).
//
//   auto vocab = mmllm::grammar_vocabulary::build(tok);          // once per tokenizer
//   auto gs = mmllm::grammar_sampler::create(gbnf_text, vocab);  // result<grammar_sampler>
//   gs->apply(candidates);   // disallowed tokens get logit -inf
//   gs->allows(token);       // one token, cheap
//   gs->accept(token);       // advance the parse (an error if the token is not allowed)
//
// Masking walks the vocabulary's code-point trie from the current parse state, one memoized
// transition per trie node, pruning every subtree whose prefix is already impossible; masks
// are cached per parse state (JSON and similar grammars revisit the same states). Short
// candidate lists (after top-k, or the single sampled token that llama.cpp's common sampler
// checks first) are checked token by token instead. A token may span several grammar
// elements and end inside a UTF-8 character; the pending bytes are carried to the next token.
// End-of-generation tokens are allowed exactly when the grammar can end. apply/accept return
// errors only for resource limits of ambiguous or huge grammars (grammar_limits).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "gbnf_grammar.hpp"
#include "grammar_matcher.hpp"
#include "grammar_vocabulary.hpp"
#include "token_candidates.hpp"

namespace mmllm {

class grammar_sampler {
 public:
  /// Parses `gbnf` (start rule `root`) for `vocab`.
  static result<grammar_sampler> create(std::string_view gbnf,
                                        std::shared_ptr<const grammar_vocabulary> vocab,
                                        std::string_view root = "root", const gbnf_limits& parse_limits = {},
                                        const grammar_limits& limits = {}) {
    MMLLM_TRY_ASSIGN(gbnf_grammar g, gbnf_grammar::parse(gbnf, root, parse_limits));
    return create(std::make_shared<const gbnf_grammar>(std::move(g)), std::move(vocab), limits);
  }
  /// For an already compiled grammar (shareable between samplers).
  static result<grammar_sampler> create(std::shared_ptr<const gbnf_grammar> g,
                                        std::shared_ptr<const grammar_vocabulary> vocab,
                                        const grammar_limits& limits = {}) {
    if (!vocab) return make_error(errc::invalid_argument, "grammar: no vocabulary");
    MMLLM_TRY_ASSIGN(grammar_matcher m, grammar_matcher::create(std::move(g), limits));
    return grammar_sampler(std::move(m), std::move(vocab));
  }

  [[nodiscard]] std::string_view name() const { return "grammar"; }
  [[nodiscard]] const grammar_matcher& matcher() const noexcept { return m_; }
  [[nodiscard]] const grammar_vocabulary& vocabulary() const noexcept { return *vocab_; }

  /// The text so far is a complete match (an end-of-generation token would be allowed).
  [[nodiscard]] bool can_end() const noexcept { return m_.can_end(); }
  /// Complete, and no further text is possible.
  [[nodiscard]] bool finished() const noexcept { return m_.finished(); }

  /// Whether token `t` may come next.
  result<bool> allows(token_id t) {
    MMLLM_TRY(m_.compact_if_needed());
    return allows_now(t);
  }

  /// Sets the logit of every candidate that cannot come next to -inf.
  result<void> apply(candidate_list& c) {
    MMLLM_TRY(m_.compact_if_needed());
    const bool cached = find_cached_mask() != nullptr;
    if (!cached && c.size <= small_list) {
      for (std::size_t i = 0; i < c.size; ++i) {
        MMLLM_TRY_ASSIGN(const bool ok, allows_now(c.data[i].id));
        if (!ok) c.data[i].logit = -INFINITY;
      }
      return ok();
    }
    MMLLM_TRY_ASSIGN(const std::vector<std::uint64_t>* mask, current_mask());
    const std::size_t n = vocab_->size();
    for (std::size_t i = 0; i < c.size; ++i) {
      const auto id = static_cast<std::size_t>(c.data[i].id);
      if (c.data[i].id < 0 || id >= n || ((*mask)[id >> 6] >> (id & 63) & 1u) == 0)
        c.data[i].logit = -INFINITY;
    }
    return ok();
  }

  /// The allowed tokens as a bitset (bit i of word i / 64), computed or from the cache.
  result<const std::vector<std::uint64_t>*> allowed_tokens() {
    MMLLM_TRY(m_.compact_if_needed());
    return current_mask();
  }

  /// Advances the parse over token `t`; an error when `t` is not allowed.
  result<void> accept(token_id t) {
    MMLLM_TRY(m_.compact_if_needed());
    if (!vocab_->contains(t))
      return make_error(errc::invalid_argument, "grammar: token ", std::to_string(t),
                        " is not in the vocabulary");
    const auto k = vocab_->kind(t);
    if (k == grammar_vocabulary::token_kind::eog) {
      if (m_.can_end()) return ok();
      return make_error(errc::invalid_argument, "grammar: end of generation before the grammar is complete");
    }
    if (k != grammar_vocabulary::token_kind::rejected) {
      MMLLM_TRY_ASSIGN(const bool accepted, m_.accept(vocab_->piece(t)));
      if (accepted) return ok();
    }
    return make_error(errc::invalid_argument, "grammar: token ", std::to_string(t), " ('",
                      std::string(vocab_->piece(t)), "') is not allowed here");
  }

  /// Back to the start of the grammar.
  void reset() { m_.reset(); }

  /// Candidate lists up to this size are checked token by token when no mask is cached.
  static constexpr std::size_t small_list = 64;
  /// Masks kept per sampler (one per recently seen parse state).
  static constexpr std::size_t mask_cache_size = 16;

 private:
  grammar_matcher m_;
  std::shared_ptr<const grammar_vocabulary> vocab_;
  struct cached_mask {
    std::uint64_t generation = 0;
    grammar_matcher::state_id state = 0;
    std::uint64_t last_use = 0;
    std::vector<std::uint64_t> bits;
  };
  std::vector<cached_mask> cache_;
  std::uint64_t clock_ = 0;
  std::vector<std::pair<std::uint32_t, grammar_matcher::state_id>> frames_;  // scratch

  grammar_sampler(grammar_matcher m, std::shared_ptr<const grammar_vocabulary> v)
      : m_(std::move(m)), vocab_(std::move(v)) {}

  result<bool> allows_now(token_id t) {
    if (!vocab_->contains(t)) return false;
    switch (vocab_->kind(t)) {
      case grammar_vocabulary::token_kind::eog: return m_.can_end();
      case grammar_vocabulary::token_kind::rejected: return false;
      default: break;
    }
    if (const cached_mask* cm = find_cached_mask()) {
      const auto id = static_cast<std::size_t>(t);
      return ((cm->bits[id >> 6] >> (id & 63)) & 1u) != 0;
    }
    grammar_matcher::state_id s = m_.state();
    utf8_partial p = m_.partial();
    return m_.advance(s, p, vocab_->piece(t));
  }

  const cached_mask* find_cached_mask() {
    if (!m_.partial().empty()) return nullptr;
    for (cached_mask& c : cache_) {
      if (c.generation == m_.generation() && c.state == m_.state() && !c.bits.empty()) {
        c.last_use = ++clock_;
        return &c;
      }
    }
    return nullptr;
  }

  result<const std::vector<std::uint64_t>*> current_mask() {
    if (const cached_mask* c = find_cached_mask()) return &c->bits;
    const std::size_t words = (vocab_->size() + 63) / 64;
    cached_mask* slot = nullptr;
    if (!m_.partial().empty()) {
      // not cached: a pending partial character is rare and short-lived
      scratch_mask_.bits.assign(words, 0);
      slot = &scratch_mask_;
    } else if (cache_.size() < mask_cache_size) {
      cache_.emplace_back();
      slot = &cache_.back();
    } else {
      slot = &cache_[0];
      for (cached_mask& c : cache_)
        if (c.last_use < slot->last_use) slot = &c;
    }
    slot->bits.assign(words, 0);
    slot->generation = m_.generation();
    slot->state = m_.state();
    slot->last_use = ++clock_;
    auto set = [&](token_id t) {
      const auto id = static_cast<std::size_t>(t);
      slot->bits[id >> 6] |= std::uint64_t{1} << (id & 63);
    };
    const grammar_matcher::state_id s0 = m_.state();
    const utf8_partial p0 = m_.partial();
    if (!p0.empty()) {
      for (const token_id t : vocab_->continuation_tokens()) {
        grammar_matcher::state_id s = s0;
        utf8_partial p = p0;
        MMLLM_TRY_ASSIGN(const bool ok, m_.advance(s, p, vocab_->piece(t)));
        if (ok) set(t);
      }
    } else {
      MMLLM_TRY(walk_trie(s0, set));
      if (m_.contains_end(s0))
        for (const token_id t : vocab_->eog_tokens()) set(t);
    }
    if (slot != &scratch_mask_) return &slot->bits;
    return &scratch_mask_.bits;
  }

  template <class Set>
  result<void> walk_trie(grammar_matcher::state_id s0, Set&& set) {
    const grammar_vocabulary& v = *vocab_;
    // tokens that are only an incomplete character
    {
      const auto toks = v.node_partial_tokens(0);
      const auto tails = v.node_partials(0);
      for (std::size_t i = 0; i < toks.size(); ++i) {
        MMLLM_TRY_ASSIGN(const bool ok, m_.partial_viable(s0, tails[i]));
        if (ok) set(toks[i]);
      }
    }
    frames_.clear();
    frames_.emplace_back(static_cast<std::uint32_t>(v.node_count()), s0);
    const auto count = static_cast<std::uint32_t>(v.node_count());
    for (std::uint32_t n = 1; n < count;) {
      while (frames_.back().first <= n) frames_.pop_back();
      const grammar_matcher::state_id parent = frames_.back().second;
      const char32_t cp = v.node_code_point(n);
      grammar_matcher::state_id s = m_.cached_step(parent, cp);
      if (s == grammar_matcher::unknown_step) {
        MMLLM_TRY_ASSIGN(s, m_.step(parent, cp));
      }
      if (s == grammar_matcher::dead_state) {
        n = v.node_end(n);
        continue;
      }
      for (const token_id t : v.node_tokens(n)) set(t);
      const auto toks = v.node_partial_tokens(n);
      if (!toks.empty()) {
        const auto tails = v.node_partials(n);
        for (std::size_t i = 0; i < toks.size(); ++i) {
          MMLLM_TRY_ASSIGN(const bool ok, m_.partial_viable(s, tails[i]));
          if (ok) set(toks[i]);
        }
      }
      if (v.node_end(n) > n + 1) frames_.emplace_back(v.node_end(n), s);
      ++n;
    }
    return ok();
  }

  cached_mask scratch_mask_;
};

}  // namespace mmllm
