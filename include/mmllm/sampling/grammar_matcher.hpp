// mmllm/sampling/grammar_matcher.hpp — the parse state of a GBNF grammar over UTF-8 text.
//
//   auto g = std::make_shared<const mmllm::gbnf_grammar>(*mmllm::gbnf_grammar::parse(text));
//   auto m = mmllm::grammar_matcher::create(g);          // result<grammar_matcher>
//   m->accept("{\"a\": ");                               // result<bool>: false = rejected
//   m->can_end();                                        // a complete match so far?
//   bool ok = *mmllm::grammar_accepts(*g, "yes");        // whole-string check
//
// The state is the set of pushdown stacks llama.cpp's grammar keeps (each a path of element
// positions ending at a terminal, or empty when the grammar is complete), plus an incomplete
// UTF-8 character. Here stacks are interned as persistent lists (a stack = parent stack +
// top position, one integer id each) and stack sets are interned too, so a state is one
// integer and transitions (state, code point) -> state are memoized in a hash table. Masking
// a vocabulary (grammar_sampler) then costs a table lookup per token-trie node.
//
// Bytes must be valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF); a text
// may end inside a character when some continuation could still match. Limits bound the
// stacks per state and the work of one expansion (ambiguous or huge grammars give an
// error); the memo tables are compacted to the live state when they grow past their caps.
// Copying a matcher copies its state and tables (a forked sequence continues independently).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "gbnf_grammar.hpp"

namespace mmllm {

/// Work and memory limits of a matcher.
struct grammar_limits {
  std::size_t max_stacks = 4096;               ///< stacks in one state (ambiguity)
  std::size_t max_expansion = 100000;          ///< rule expansions for one closure
  std::size_t compact_stacks = 1u << 21;       ///< interned stacks before compaction
  std::size_t compact_states = 1u << 18;       ///< interned states before compaction
  std::size_t compact_transitions = 1u << 22;  ///< memoized transitions before compaction
};

/// An incomplete UTF-8 character: value bits so far, bytes still missing, total length.
struct utf8_partial {
  std::uint32_t value = 0;
  std::uint8_t remain = 0;
  std::uint8_t length = 0;
  [[nodiscard]] bool empty() const noexcept { return remain == 0; }
  bool operator==(const utf8_partial&) const = default;
};

namespace detail {

/// Open-addressing hash map from 64-bit keys (never ~0) to 32-bit values.
class grammar_hash_map {
 public:
  grammar_hash_map() { rehash(64); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] const std::uint32_t* find(std::uint64_t key) const noexcept {
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &vals_[i];
      if (keys_[i] == empty_key) return nullptr;
    }
  }
  void insert(std::uint64_t key, std::uint32_t value) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == empty_key) {
        keys_[i] = key;
        vals_[i] = value;
        ++size_;
        return;
      }
      if (keys_[i] == key) {
        vals_[i] = value;
        return;
      }
    }
  }
  void clear() {
    keys_.assign(64, empty_key);
    vals_.assign(64, 0);
    mask_ = 63;
    size_ = 0;
  }

 private:
  static constexpr std::uint64_t empty_key = ~std::uint64_t{0};
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> vals_;
  std::size_t size_ = 0, mask_ = 0;

  [[nodiscard]] std::size_t slot(std::uint64_t k) const noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<std::size_t>(k) & mask_;
  }
  void rehash(std::size_t cap) {
    std::vector<std::uint64_t> old_keys = std::move(keys_);
    std::vector<std::uint32_t> old_vals = std::move(vals_);
    keys_.assign(cap, empty_key);
    vals_.assign(cap, 0);
    mask_ = cap - 1;
    size_ = 0;
    for (std::size_t i = 0; i < old_keys.size(); ++i)
      if (old_keys[i] != empty_key) insert(old_keys[i], old_vals[i]);
  }
};

}  // namespace detail

class grammar_matcher {
 public:
  /// A state: an interned set of stacks. 0 = dead (nothing matches).
  using state_id = std::uint32_t;
  static constexpr state_id dead_state = 0;

  /// Starts matching at `g`'s root rule.
  static result<grammar_matcher> create(std::shared_ptr<const gbnf_grammar> g,
                                        const grammar_limits& limits = {}) {
    if (!g) return make_error(errc::invalid_argument, "grammar: no grammar");
    grammar_matcher m(std::move(g), limits);
    MMLLM_TRY(m.init());
    return m;
  }

  [[nodiscard]] const gbnf_grammar& grammar() const noexcept { return *g_; }
  [[nodiscard]] const std::shared_ptr<const gbnf_grammar>& grammar_ptr() const noexcept { return g_; }
  [[nodiscard]] state_id state() const noexcept { return cur_; }
  [[nodiscard]] utf8_partial partial() const noexcept { return partial_; }
  /// Changes when the tables are compacted (state ids from before are then invalid).
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }

  /// The text so far is a complete match (the empty stack is in the state).
  [[nodiscard]] bool can_end() const noexcept { return partial_.empty() && contains_end(cur_); }
  /// Complete, and nothing can follow (the state is only the empty stack).
  [[nodiscard]] bool finished() const noexcept { return partial_.empty() && cur_ == end_state_; }
  [[nodiscard]] bool contains_end(state_id s) const noexcept {
    const set_entry& e = sets_[s];
    return e.len > 0 && members_[e.begin] == 0;  // members are sorted; stack 0 = empty
  }
  [[nodiscard]] bool is_end_only(state_id s) const noexcept { return s == end_state_; }

  /// Consumes `bytes` if the grammar allows them (true), else leaves the state (false).
  result<bool> accept(std::string_view bytes) {
    MMLLM_TRY(compact_if_needed());
    state_id s = cur_;
    utf8_partial p = partial_;
    MMLLM_TRY_ASSIGN(const bool ok, advance(s, p, bytes));
    if (!ok) return false;
    cur_ = s;
    partial_ = p;
    return true;
  }

  /// Whether `bytes` may follow the current state (nothing changes).
  result<bool> allows(std::string_view bytes) {
    MMLLM_TRY(compact_if_needed());
    state_id s = cur_;
    utf8_partial p = partial_;
    return advance(s, p, bytes);
  }

  /// Back to the start of the root rule.
  void reset() {
    cur_ = init_;
    partial_ = {};
  }

  // --- low-level stepping (grammar_sampler walks the token trie with these) --------------

  /// The state after code point `cp` (dead_state when not allowed).
  ///
  /// The result depends only on which of the state's terminals match cp, so states with few
  /// stacks memoize by that match pattern (a handful of entries per state, cache-friendly:
  /// all code points of a class share one entry); larger states memoize (state, cp) in a
  /// hash table.
  result<state_id> step(state_id s, char32_t cp) {
    if (s == dead_state) return dead_state;
    const set_entry e = sets_[s];
    const bool small = e.len <= small_state;
    std::uint64_t signature = 0;
    std::uint64_t key = 0;
    if (small) {
      for (std::uint32_t i = 0; i < e.len; ++i) {
        const gbnf_terminal* t = member_terms_[e.begin + i];
        if (t != nullptr && t->matches(cp)) signature |= std::uint64_t{1} << i;
      }
      if (signature == 0) {
        remember_ascii(s, cp, dead_state);
        return dead_state;
      }
      if (signatures_.size() <= s) signatures_.resize(sets_.size());
      for (const auto& [sig, to] : signatures_[s]) {
        if (sig == signature) {
          remember_ascii(s, cp, to);
          return to;
        }
      }
    } else {
      key = (static_cast<std::uint64_t>(s) << 21) | static_cast<std::uint64_t>(cp & 0x1FFFFF);
      if (const std::uint32_t* hit = step_cache_.find(key)) return *hit;
    }
    step_buf_.clear();
    for (std::uint32_t i = 0; i < e.len; ++i) {
      const std::uint32_t st = members_[e.begin + i];
      if (st == 0) continue;
      const std::uint32_t pos = stacks_[st].pos;
      const gbnf_terminal& t = g_->terminal_at(pos);
      if (small ? ((signature >> i) & 1u) == 0 : !t.matches(cp)) continue;
      const std::uint32_t parent = stacks_[st].parent;
      const std::uint32_t next = g_->is_end_of_alternative(t.next) ? parent : intern_stack(parent, t.next);
      MMLLM_TRY_ASSIGN(const state_id c, closure(next));
      const set_entry ce = sets_[c];
      step_buf_.insert(step_buf_.end(), members_.begin() + ce.begin, members_.begin() + ce.begin + ce.len);
    }
    scratch_.swap(step_buf_);
    MMLLM_TRY_ASSIGN(const state_id r, intern_scratch_set());
    if (small) {
      if (signatures_.size() <= s) signatures_.resize(sets_.size());
      signatures_[s].emplace_back(signature, r);
      ++signature_count_;
    } else {
      step_cache_.insert(key, r);
    }
    remember_ascii(s, cp, r);
    return r;
  }

  /// step() from its memo only (no computation): the next state, or `unknown_step`.
  static constexpr state_id unknown_step = ~0u;
  [[nodiscard]] state_id cached_step(state_id s, char32_t cp) const noexcept {
    if (cp < 128 && s < ascii_index_.size() && ascii_index_[s] != unset)
      return ascii_tables_[ascii_index_[s]][cp];
    return unknown_step;
  }

  /// Whether some completion of the incomplete character `p` can follow state `s`.
  result<bool> partial_viable(state_id s, utf8_partial p) {
    if (s == dead_state) return false;
    if (p.empty()) return true;
    const std::uint64_t key = (static_cast<std::uint64_t>(s) << 32) |
                              (static_cast<std::uint64_t>(p.value) << 5) |
                              (static_cast<std::uint64_t>(p.remain) << 3) | p.length;
    if (const std::uint32_t* hit = partial_cache_.find(key)) return *hit != 0;
    char32_t lo = static_cast<char32_t>(p.value) << (6 * p.remain);
    char32_t hi = lo | ((char32_t{1} << (6 * p.remain)) - 1);
    const char32_t min = p.length == 2 ? 0x80 : p.length == 3 ? 0x800 : 0x10000;
    const char32_t max = p.length == 2 ? 0x7FF : p.length == 3 ? 0xFFFF : 0x10FFFF;
    lo = std::max(lo, min);
    hi = std::min(hi, max);
    bool ok = false;
    if (lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF)) {
      const set_entry e = sets_[s];
      for (std::uint32_t i = 0; i < e.len && !ok; ++i) {
        const std::uint32_t st = members_[e.begin + i];
        if (st != 0) ok = g_->terminal_at(stacks_[st].pos).matches_some(lo, hi);
      }
    }
    partial_cache_.insert(key, ok ? 1 : 0);
    return ok;
  }

  /// Advances (s, p) over `bytes`; false (and s = dead_state) when they are not allowed.
  result<bool> advance(state_id& s, utf8_partial& p, std::string_view bytes) {
    for (const char ch : bytes) {
      const auto b = static_cast<unsigned char>(ch);
      if (!p.empty()) {
        if ((b & 0xC0) != 0x80) return die(s);
        p.value = (p.value << 6) | (b & 0x3Fu);
        if (--p.remain > 0) continue;
        const char32_t cp = p.value;
        const char32_t min = p.length == 2 ? 0x80 : p.length == 3 ? 0x800 : 0x10000;
        p = {};
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return die(s);
        MMLLM_TRY_ASSIGN(s, step(s, cp));
      } else if (b < 0x80) {
        MMLLM_TRY_ASSIGN(s, step(s, b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        p = {b & 0x1Fu, 1, 2};
      } else if (b >= 0xE0 && b <= 0xEF) {
        p = {b & 0x0Fu, 2, 3};
      } else if (b >= 0xF0 && b <= 0xF4) {
        p = {b & 0x07u, 3, 4};
      } else {
        return die(s);
      }
      if (s == dead_state) return false;
    }
    if (!p.empty()) {
      MMLLM_TRY_ASSIGN(const bool viable, partial_viable(s, p));
      if (!viable) return die(s);
    }
    return true;
  }

  /// Shrinks the memo tables to the live state when they exceed their caps (state ids of
  /// other states become invalid; generation() changes).
  result<void> compact_if_needed() {
    if (stacks_.size() <= lim_.compact_stacks && sets_.size() <= lim_.compact_states &&
        transition_count() <= lim_.compact_transitions)
      return ok();
    return compact();
  }

  /// Number of interned stacks / states / memoized transitions (for tests and benchmarks).
  [[nodiscard]] std::size_t stack_count() const noexcept { return stacks_.size(); }
  [[nodiscard]] std::size_t state_count() const noexcept { return sets_.size(); }
  [[nodiscard]] std::size_t transition_count() const noexcept {
    return step_cache_.size() + signature_count_;
  }
  /// Stacks of a state (sorted stack ids; 0 = the empty stack).
  [[nodiscard]] std::size_t state_size(state_id s) const noexcept { return sets_[s].len; }

  /// Resumes at state `s` with partial character `p` (both from this matcher).
  void set_state(state_id s, utf8_partial p) noexcept {
    cur_ = s;
    partial_ = p;
  }

 private:
  struct stack_node {
    std::uint32_t parent;
    std::uint32_t pos;
  };
  struct set_entry {
    std::uint32_t begin;
    std::uint32_t len;
    std::uint64_t hash;
  };
  static constexpr std::uint32_t unset = ~0u;

  std::shared_ptr<const gbnf_grammar> g_;
  grammar_limits lim_;
  std::vector<stack_node> stacks_;
  detail::grammar_hash_map stack_index_;
  std::vector<std::uint32_t> closure_;  // per stack: its closure state, or unset
  std::vector<set_entry> sets_;
  std::vector<std::uint32_t> members_;
  std::vector<const gbnf_terminal*> member_terms_;  // each member's top terminal (nullptr: empty stack)
  std::vector<std::uint32_t> ascii_index_;          // per state: its ASCII table, or unset
  std::vector<std::array<std::uint32_t, 128>> ascii_tables_;
  static constexpr std::size_t max_ascii_tables = 8192;
  std::vector<std::uint32_t> set_table_;  // open addressing over set ids (0 = empty slot)
  std::size_t set_table_used_ = 0;
  detail::grammar_hash_map step_cache_;
  detail::grammar_hash_map partial_cache_;
  std::vector<std::vector<std::pair<std::uint64_t, state_id>>> signatures_;  // per small state
  std::size_t signature_count_ = 0;
  static constexpr std::uint32_t small_state = 16;
  std::vector<std::uint32_t> scratch_, step_buf_, work_, closure_out_, mark_;
  std::uint32_t epoch_ = 0;
  state_id cur_ = dead_state, init_ = dead_state, end_state_ = dead_state;
  utf8_partial partial_;
  std::uint64_t generation_ = 0;

  grammar_matcher(std::shared_ptr<const gbnf_grammar> g, const grammar_limits& lim)
      : g_(std::move(g)), lim_(lim) {}

  void remember_ascii(state_id s, char32_t cp, state_id to) {
    if (cp >= 128) return;
    if (ascii_index_.size() <= s) ascii_index_.resize(sets_.size(), unset);
    if (ascii_index_[s] == unset) {
      if (ascii_tables_.size() >= max_ascii_tables) return;
      ascii_index_[s] = static_cast<std::uint32_t>(ascii_tables_.size());
      ascii_tables_.emplace_back();
      ascii_tables_.back().fill(unknown_step);
    }
    ascii_tables_[ascii_index_[s]][cp] = to;
  }

  static result<bool> die(state_id& s) {
    s = dead_state;
    return false;
  }

  void clear_tables() {
    stacks_.assign(1, stack_node{0, 0});  // stack 0: empty
    stack_index_.clear();
    closure_.assign(1, unset);
    sets_.assign(1, set_entry{0, 0, 0});  // state 0: dead
    members_.clear();
    member_terms_.clear();
    ascii_index_.clear();
    ascii_tables_.clear();
    set_table_.assign(256, 0);
    set_table_used_ = 0;
    step_cache_.clear();
    partial_cache_.clear();
    signatures_.clear();
    signature_count_ = 0;
    mark_.clear();
    epoch_ = 0;
    scratch_.assign(1, 0);
    end_state_ = intern_scratch_set().value();
  }

  result<void> init() {
    clear_tables();
    MMLLM_TRY_ASSIGN(init_, initial_state());
    cur_ = init_;
    partial_ = {};
    return ok();
  }

  result<state_id> initial_state() {
    std::vector<std::uint32_t> all;
    std::uint32_t a = g_->rule_start(g_->root());
    for (;;) {
      const std::uint32_t st = g_->is_end_of_alternative(a) ? 0 : intern_stack(0, a);
      MMLLM_TRY_ASSIGN(const state_id c, closure(st));
      const set_entry e = sets_[c];
      all.insert(all.end(), members_.begin() + e.begin, members_.begin() + e.begin + e.len);
      while (!g_->is_end_of_alternative(a)) ++a;
      if (g_->elements()[a].op != gbnf_op::alt) break;
      ++a;
    }
    scratch_ = std::move(all);
    return intern_scratch_set();
  }

  std::uint32_t intern_stack(std::uint32_t parent, std::uint32_t pos) {
    const std::uint64_t key = (static_cast<std::uint64_t>(parent) << 32) | pos;
    if (const std::uint32_t* hit = stack_index_.find(key)) return *hit;
    const auto id = static_cast<std::uint32_t>(stacks_.size());
    stacks_.push_back({parent, pos});
    closure_.push_back(unset);
    stack_index_.insert(key, id);
    return id;
  }

  static std::uint64_t hash_members(const std::uint32_t* m, std::size_t n) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (std::size_t i = 0; i < n; ++i) {
      h ^= m[i];
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
    return h | 1;
  }

  /// Interns scratch_ (sorted and deduplicated here) as a state.
  result<state_id> intern_scratch_set() {
    std::sort(scratch_.begin(), scratch_.end());
    scratch_.erase(std::unique(scratch_.begin(), scratch_.end()), scratch_.end());
    if (scratch_.empty()) return dead_state;
    if (scratch_.size() > lim_.max_stacks)
      return make_error(errc::resource_limit, "grammar: more than ", std::to_string(lim_.max_stacks),
                        " parse stacks at once (the grammar is too ambiguous)");
    const std::uint64_t h = hash_members(scratch_.data(), scratch_.size());
    const std::size_t mask = set_table_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h ^ (h >> 29)) & mask;
    for (;; i = (i + 1) & mask) {
      const std::uint32_t id = set_table_[i];
      if (id == 0) break;
      const set_entry& e = sets_[id];
      if (e.hash == h && e.len == scratch_.size() &&
          std::equal(scratch_.begin(), scratch_.end(), members_.begin() + e.begin))
        return id;
    }
    const auto id = static_cast<state_id>(sets_.size());
    sets_.push_back(
        {static_cast<std::uint32_t>(members_.size()), static_cast<std::uint32_t>(scratch_.size()), h});
    members_.insert(members_.end(), scratch_.begin(), scratch_.end());
    for (const std::uint32_t st : scratch_)
      member_terms_.push_back(st == 0 ? nullptr : &g_->terminal_at(stacks_[st].pos));
    set_table_[i] = id;
    if (++set_table_used_ * 2 > set_table_.size()) rehash_sets();
    return id;
  }

  void rehash_sets() {
    std::vector<std::uint32_t> t(set_table_.size() * 2, 0);
    const std::size_t mask = t.size() - 1;
    for (std::uint32_t id = 1; id < sets_.size(); ++id) {
      const std::uint64_t h = sets_[id].hash;
      std::size_t i = static_cast<std::size_t>(h ^ (h >> 29)) & mask;
      while (t[i] != 0) i = (i + 1) & mask;
      t[i] = id;
    }
    set_table_ = std::move(t);
  }

  /// The stacks reached from `st` by expanding rule references at the top until a terminal
  /// (or the empty stack) is on top; memoized per stack.
  result<state_id> closure(std::uint32_t st) {
    if (closure_[st] != unset) return closure_[st];
    if (++epoch_ == 0) {
      mark_.assign(mark_.size(), 0);
      epoch_ = 1;
    }
    closure_out_.clear();
    work_.assign(1, st);
    std::size_t expansions = 0;
    const auto& el = g_->elements();
    while (!work_.empty()) {
      const std::uint32_t s = work_.back();
      work_.pop_back();
      if (s == 0 || g_->is_terminal(stacks_[s].pos)) {
        closure_out_.push_back(s);
        continue;
      }
      if (mark_.size() <= s) mark_.resize(stacks_.size() + 1024, 0);
      if (mark_[s] == epoch_) continue;
      mark_[s] = epoch_;
      if (++expansions > lim_.max_expansion)
        return make_error(errc::resource_limit, "grammar: expanding rules needs more than ",
                          std::to_string(lim_.max_expansion),
                          " steps (the grammar is too large or ambiguous)");
      const std::uint32_t pos = stacks_[s].pos;
      const std::uint32_t parent = stacks_[s].parent;
      const std::uint32_t cont = pos + 1;
      const std::uint32_t base = g_->is_end_of_alternative(cont) ? parent : intern_stack(parent, cont);
      std::uint32_t a = g_->rule_start(el[pos].value);
      for (;;) {
        work_.push_back(g_->is_end_of_alternative(a) ? base : intern_stack(base, a));
        while (!g_->is_end_of_alternative(a)) {
          // skip the alternative's elements (a class spans several)
          ++a;
        }
        if (el[a].op != gbnf_op::alt) break;
        ++a;
      }
    }
    scratch_ = closure_out_;
    MMLLM_TRY_ASSIGN(const state_id r, intern_scratch_set());
    closure_[st] = r;
    return r;
  }

  result<void> compact() {
    // the live stacks as explicit position paths (bottom first)
    std::vector<std::vector<std::uint32_t>> paths;
    auto collect = [&](state_id s) {
      std::vector<std::vector<std::uint32_t>> out;
      const set_entry e = sets_[s];
      for (std::uint32_t i = 0; i < e.len; ++i) {
        std::vector<std::uint32_t> path;
        for (std::uint32_t st = members_[e.begin + i]; st != 0; st = stacks_[st].parent)
          path.push_back(stacks_[st].pos);
        std::reverse(path.begin(), path.end());
        out.push_back(std::move(path));
      }
      return out;
    };
    paths = collect(cur_);
    clear_tables();
    ++generation_;
    std::vector<std::uint32_t> ids;
    for (const auto& path : paths) {
      std::uint32_t st = 0;
      for (const std::uint32_t pos : path) st = intern_stack(st, pos);
      ids.push_back(st);
    }
    scratch_ = std::move(ids);
    MMLLM_TRY_ASSIGN(cur_, intern_scratch_set());
    MMLLM_TRY_ASSIGN(init_, initial_state());
    return ok();
  }
};

/// Whether the whole of `text` matches `g` (a convenience for tests and validation).
inline result<bool> grammar_accepts(const std::shared_ptr<const gbnf_grammar>& g, std::string_view text) {
  MMLLM_TRY_ASSIGN(grammar_matcher m, grammar_matcher::create(g));
  MMLLM_TRY_ASSIGN(const bool ok, m.accept(text));
  return ok && m.can_end();
}

}  // namespace mmllm
