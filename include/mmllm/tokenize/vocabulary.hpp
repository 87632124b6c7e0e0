// mmllm/tokenize/vocabulary.hpp — token texts, scores, attributes and text → id lookup.
//
// `vocabulary` stores every token's text (in one contiguous pool), score and attribute bits
// and finds ids by text through an open-addressing hash table (no allocation per lookup).
// `token_attr` values are the peer's (llama.cpp's llama_token_attr) bit values.
//
//   mmllm::vocabulary v;
//   v.add("<s>", 0.0f, mmllm::token_attr::control);
//   mmllm::token_id id = v.find("<s>");   // 0, or mmllm::no_token
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mmllm {

/// A token id (index into the vocabulary).
using token_id = std::int32_t;
/// "No token": absent special tokens, failed lookups.
inline constexpr token_id no_token = -1;

/// Token attribute bits (the peer's llama_token_attr values).
namespace token_attr {
inline constexpr std::uint32_t undefined = 0;
inline constexpr std::uint32_t unknown = 1u << 0;
inline constexpr std::uint32_t unused = 1u << 1;
inline constexpr std::uint32_t normal = 1u << 2;
inline constexpr std::uint32_t control = 1u << 3;  ///< special tokens (BOS, EOS, <|im_start|> …)
inline constexpr std::uint32_t user_defined = 1u << 4;
inline constexpr std::uint32_t byte = 1u << 5;  ///< <0xXX> byte-fallback tokens
inline constexpr std::uint32_t normalized = 1u << 6;
inline constexpr std::uint32_t lstrip = 1u << 7;
inline constexpr std::uint32_t rstrip = 1u << 8;
inline constexpr std::uint32_t single_word = 1u << 9;
}  // namespace token_attr

namespace detail {

/// 64-bit hash of a byte string (multiply-mix over 8-byte words; not cryptographic).
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * k);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w ^ (static_cast<std::uint64_t>(n) << 56)) * k;
  }
  h ^= h >> 32;
  h *= k;
  h ^= h >> 29;
  return h;
}

/// Mixes a 64-bit integer key.
constexpr std::uint64_t hash_u64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

/// Smallest power of two >= 2 * n (and >= 16).
constexpr std::size_t hash_capacity_for(std::size_t n) noexcept {
  std::size_t c = 16;
  while (c < n * 2) c <<= 1;
  return c;
}

/// Open-addressing map from 64-bit keys to 64-bit values (keys != ~0).
class u64_map {
 public:
  static constexpr std::uint64_t empty_key = ~0ull;

  void reserve(std::size_t n) {
    if (hash_capacity_for(n) > keys_.size()) rehash(hash_capacity_for(n));
  }
  /// Inserts or overwrites (overwrite=true) / keeps the old value (overwrite=false).
  void insert(std::uint64_t key, std::uint64_t value, bool overwrite) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.empty() ? 16 : keys_.size() * 2);
    std::size_t mask = keys_.size() - 1;
    for (std::size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == empty_key) {
        keys_[i] = key;
        values_[i] = value;
        ++size_;
        return;
      }
      if (keys_[i] == key) {
        if (overwrite) values_[i] = value;
        return;
      }
    }
  }
  /// Pointer to the value of `key`, or nullptr.
  [[nodiscard]] const std::uint64_t* find(std::uint64_t key) const noexcept {
    if (keys_.empty()) return nullptr;
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == empty_key) return nullptr;
    }
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint64_t> values_;
  std::size_t size_ = 0;

  void rehash(std::size_t cap) {
    std::vector<std::uint64_t> old_k = std::move(keys_), old_v = std::move(values_);
    keys_.assign(cap, empty_key);
    values_.assign(cap, 0);
    size_ = 0;
    for (std::size_t i = 0; i < old_k.size(); ++i)
      if (old_k[i] != empty_key) insert(old_k[i], old_v[i], true);
  }
};

/// Open-addressing set of 64-bit keys (keys != ~0).
class u64_set {
 public:
  static constexpr std::uint64_t empty_key = ~0ull;
  void insert(std::uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.empty() ? 1024 : keys_.size() * 2);
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return;
      if (keys_[i] == empty_key) {
        keys_[i] = key;
        ++size_;
        return;
      }
    }
  }
  [[nodiscard]] bool contains(std::uint64_t key) const noexcept {
    if (keys_.empty()) return false;
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return true;
      if (keys_[i] == empty_key) return false;
    }
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

 private:
  std::vector<std::uint64_t> keys_;
  std::size_t size_ = 0;
  void rehash(std::size_t cap) {
    std::vector<std::uint64_t> old = std::move(keys_);
    keys_.assign(cap, empty_key);
    size_ = 0;
    for (const std::uint64_t k : old)
      if (k != empty_key) insert(k);
  }
};

/// The bytes of one character (up to 4) packed into an integer, for adjacency keys.
inline std::uint32_t pack_char(std::string_view s) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < s.size() && i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  return v;
}

/// Which adjacent character pairs occur inside any of a set of strings. Where two adjacent
/// characters of a text form a pair that occurs in no token (or merge result), no token can
/// span that point, so merge-based tokenizers can work on the pieces independently — with
/// exactly the same result. Characters are split by lead-byte length (as the peer's SPM does).
class adjacency_set {
 public:
  void add(std::string_view token) {
    std::size_t prev_b = 0, prev_n = 0;
    bool have_prev = false;
    for (std::size_t pos = 0; pos < token.size();) {
      const std::size_t n = char_len(token, pos);
      if (have_prev) pairs_.insert(key(token.substr(prev_b, prev_n), token.substr(pos, n)));
      prev_b = pos, prev_n = n, have_prev = true;
      pos += n;
    }
  }
  /// Appends the byte offsets (> 0, < text.size()) where the text can be cut.
  void cut_points(std::string_view text, std::vector<std::size_t>& cuts) const {
    std::size_t prev_b = 0, prev_n = 0;
    bool have_prev = false;
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t n = char_len(text, pos);
      if (have_prev && !pairs_.contains(key(text.substr(prev_b, prev_n), text.substr(pos, n))))
        cuts.push_back(pos);
      prev_b = pos, prev_n = n, have_prev = true;
      pos += n;
    }
  }
  [[nodiscard]] bool empty() const noexcept { return pairs_.empty(); }

  static std::size_t char_len(std::string_view t, std::size_t pos) noexcept {
    constexpr unsigned char lengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    const std::size_t n = lengths[static_cast<unsigned char>(t[pos]) >> 4];
    return n < t.size() - pos ? n : t.size() - pos;
  }

 private:
  u64_set pairs_;
  static std::uint64_t key(std::string_view a, std::string_view b) noexcept {
    return (static_cast<std::uint64_t>(pack_char(a)) << 32) | pack_char(b);
  }
};

/// Results of short words already tokenized during one encode call (natural text repeats
/// its words, so most words are looked up instead of merged).
class word_cache {
 public:
  static constexpr std::size_t max_word = 48;
  /// Appends the cached tokens of `word` (hash `h`) to `out`; false when absent.
  bool find(std::string_view word, std::uint64_t h, std::vector<token_id>& out) const {
    if (slots_.empty()) return false;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.n_tokens == empty) return false;
      if (s.hash == h && s.word_len == word.size() && words_.compare(s.word_off, s.word_len, word) == 0) {
        out.insert(out.end(), tokens_.begin() + s.tok_off, tokens_.begin() + s.tok_off + s.n_tokens);
        return true;
      }
    }
  }
  void insert(std::string_view word, std::uint64_t h, const token_id* first, const token_id* last) {
    if (count_ >= max_entries) return;
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i].n_tokens != empty) i = (i + 1) & mask;
    slots_[i] = {h, static_cast<std::uint32_t>(words_.size()), static_cast<std::uint32_t>(word.size()),
                 static_cast<std::uint32_t>(tokens_.size()), static_cast<std::uint32_t>(last - first)};
    words_.append(word);
    tokens_.insert(tokens_.end(), first, last);
    ++count_;
  }

 private:
  static constexpr std::uint32_t empty = 0xFFFFFFFFu;
  static constexpr std::size_t max_entries = 1u << 16;
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t word_off = 0, word_len = 0, tok_off = 0, n_tokens = empty;
  };
  std::vector<slot> slots_;
  std::string words_;
  std::vector<token_id> tokens_;
  std::size_t count_ = 0;

  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const slot& s : old) {
      if (s.n_tokens == empty) continue;
      std::size_t i = s.hash & mask;
      while (slots_[i].n_tokens != empty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
};

/// A byte trie over a set of strings, for finding every string that starts at a position.
class byte_trie {
 public:
  /// Adds a string with a payload value.
  void add(std::string_view key, std::uint32_t value) {
    if (nodes_.empty()) nodes_.emplace_back();
    std::size_t n = 0;
    for (const char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      std::int32_t next = -1;
      for (const auto& [k, child] : nodes_[n].kids)
        if (k == c) next = child;
      if (next < 0) {
        next = static_cast<std::int32_t>(nodes_.size());
        nodes_[n].kids.emplace_back(c, next);
        nodes_.emplace_back();
      }
      n = static_cast<std::size_t>(next);
    }
    nodes_[n].values.push_back(value);
  }
  [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
  /// Calls f(value, length) for every stored string that is a prefix of `text`, shortest first.
  template <class F>
  void prefixes(std::string_view text, F&& f) const {
    if (nodes_.empty()) return;
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      std::int32_t next = -1;
      for (const auto& [k, child] : nodes_[n].kids) {
        if (k == c) {
          next = child;
          break;
        }
      }
      if (next < 0) return;
      n = static_cast<std::size_t>(next);
      for (const std::uint32_t v : nodes_[n].values) f(v, i + 1);
    }
  }

 private:
  struct node {
    std::vector<std::pair<unsigned char, std::int32_t>> kids;
    std::vector<std::uint32_t> values;
  };
  std::vector<node> nodes_;
};

/// Strings (in one pool) with a text → index hash table. Slots keep 32 bits of the hash, so
/// a failed lookup rarely compares bytes.
class string_table {
 public:
  /// Appends a string; returns its index.
  std::int32_t push(std::string_view s) {
    offsets_.push_back(static_cast<std::uint32_t>(pool_.size()));
    pool_.append(s);
    lengths_.push_back(static_cast<std::uint32_t>(s.size()));
    return static_cast<std::int32_t>(offsets_.size() - 1);
  }
  [[nodiscard]] std::string_view at(std::int32_t i) const noexcept {
    return {pool_.data() + offsets_[static_cast<std::size_t>(i)], lengths_[static_cast<std::size_t>(i)]};
  }
  [[nodiscard]] std::size_t size() const noexcept { return offsets_.size(); }

  /// Builds the lookup table over all strings; for duplicates the later (later_wins) or
  /// the earlier index wins.
  void build_index(bool later_wins) {
    slots_.assign(hash_capacity_for(size()), slot{-1, 0});
    for (std::size_t idx = 0; idx < size(); ++idx)
      place(at(static_cast<std::int32_t>(idx)), static_cast<std::int32_t>(idx), later_wins);
  }
  /// Appends a string that is not yet present and indexes it (keeps the table at most half
  /// full); for tables grown one string at a time.
  std::int32_t push_indexed(std::string_view s) {
    const std::int32_t idx = push(s);
    if (size() * 2 > slots_.size()) {
      build_index(true);
      return idx;
    }
    place(s, idx, true);
    return idx;
  }
  /// Re-points `s` at index `idx` (whose text is `s`).
  void assign(std::string_view s, std::int32_t idx) {
    if (slots_.empty()) build_index(true);
    place(s, idx, true);
  }
  /// Index of `s`, or -1.
  [[nodiscard]] std::int32_t find(std::string_view s) const noexcept {
    if (slots_.empty()) return -1;
    const std::uint64_t h = hash_bytes(s);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const slot& sl = slots_[i];
      if (sl.index < 0) return -1;
      if (sl.tag != tag) continue;
      const std::size_t n = lengths_[static_cast<std::size_t>(sl.index)];
      if (n == s.size() &&
          std::memcmp(pool_.data() + offsets_[static_cast<std::size_t>(sl.index)], s.data(), n) == 0)
        return sl.index;
    }
  }

 private:
  struct slot {
    std::int32_t index;
    std::uint32_t tag;
  };
  std::string pool_;
  std::vector<std::uint32_t> offsets_;
  std::vector<std::uint32_t> lengths_;
  std::vector<slot> slots_;

  void place(std::string_view s, std::int32_t idx, bool replace) {
    const std::uint64_t h = hash_bytes(s);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      slot& sl = slots_[i];
      if (sl.index < 0) {
        sl = {idx, tag};
        return;
      }
      if (sl.tag == tag && at(sl.index) == s) {
        if (replace) sl.index = idx;
        return;
      }
    }
  }
};

}  // namespace detail

/// The token table of a tokenizer.
class vocabulary {
 public:
  /// Appends a token; its id is the previous size().
  token_id add(std::string_view text, float score, std::uint32_t attr) {
    const token_id id = texts_.push(text);
    scores_.push_back(score);
    attrs_.push_back(attr);
    return id;
  }
  /// Builds the text → id index; call after the last add(). With duplicate texts the later
  /// id wins when `later_wins` (the peer's and transformers' behaviour).
  void finalize(bool later_wins = true) {
    texts_.build_index(later_wins);
    max_token_bytes_ = 0;
    for (std::size_t i = 0; i < size(); ++i)
      max_token_bytes_ = std::max(max_token_bytes_, text(static_cast<token_id>(i)).size());
  }
  /// Makes `text` resolve to `id` (e.g. an added token overriding a model token).
  void alias(std::string_view text, token_id id) { texts_.assign(text, id); }

  [[nodiscard]] std::size_t size() const noexcept { return texts_.size(); }
  [[nodiscard]] bool contains(token_id id) const noexcept {
    return id >= 0 && static_cast<std::size_t>(id) < size();
  }
  [[nodiscard]] std::string_view text(token_id id) const noexcept { return texts_.at(id); }
  [[nodiscard]] float score(token_id id) const noexcept { return scores_[static_cast<std::size_t>(id)]; }
  [[nodiscard]] std::uint32_t attr(token_id id) const noexcept {
    return attrs_[static_cast<std::size_t>(id)];
  }
  void set_attr(token_id id, std::uint32_t attr) noexcept { attrs_[static_cast<std::size_t>(id)] = attr; }
  /// The id of the token whose text is exactly `text`, or no_token.
  [[nodiscard]] token_id find(std::string_view text) const noexcept { return texts_.find(text); }
  /// Length in bytes of the longest token text.
  [[nodiscard]] std::size_t max_token_bytes() const noexcept { return max_token_bytes_; }

 private:
  detail::string_table texts_;
  std::vector<float> scores_;
  std::vector<std::uint32_t> attrs_;
  std::size_t max_token_bytes_ = 0;
};

}  // namespace mmllm
