// mmllm/models/batch.hpp — the input of one forward step: entries of several sequences.
//
// A `batch` lists entries; each entry is a token id OR an embedding row (n_embd floats, e.g.
// an image or audio encoder's output), belongs to one sequence (its own KV cache rows), sits
// at a position (1 stream, or 4 streams t/y/x/extra for M-RoPE models), and asks for logits
// or not. Several sequences, each with several new tokens (prefill) or one (decode), go into
// one batch; entries of a sequence are appended to its KV cache in batch order.
//
//   mmllm::models::batch b;
//   for (std::size_t i = 0; i < prompt.size(); ++i)
//     b.add_token(prompt[i], /*seq*/ 0, static_cast<int>(i), /*logits*/ i + 1 == prompt.size());
//   b.add_token(next_of_seq1, 1, n_past1, true);                       // decode of sequence 1
//   b.add_embedding(image_rows, 0, pos);                                 // rows of n_embd floats
//   b.set_bidirectional(first_image_entry, end_image_entry);             // gemma3 image tokens
//
// Attention is causal by position: an entry sees the KV cells of its sequence whose position
// is ≤ its own (with the model's sliding window, if any). `set_bidirectional(b, e)` makes
// entries [b, e) (one sequence) see every cell of their sequence up to the largest position
// in the span — they attend to each other in both directions and to everything earlier
// (gemma3 image tokens). M-RoPE models additionally order cells that share the t position by
// (y, x), as the peer does.
//
// A batch owns its storage; clear() keeps the capacity, so a reused batch does not allocate.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../tokenize/vocabulary.hpp"

namespace mmllm::models {

/// A sequence id: index of a sequence in the KV cache (0 … n_seq_max − 1).
using seq_id = std::int32_t;

/// Positions of one entry: stream 0 is the position; M-RoPE models use all four (t, y, x,
/// extra), others only stream 0.
using positions = std::array<std::int32_t, 4>;

/// Input of one forward step (see the header comment).
class batch {
 public:
  /// Removes every entry (keeps the capacity).
  void clear() noexcept {
    tokens_.clear();
    embd_row_.clear();
    embd_.clear();
    seq_.clear();
    pos_.clear();
    logits_.clear();
    limit_.clear();
    n_embd_ = 0;
  }

  /// Adds a token at position `pos` (all four streams = pos).
  void add_token(token_id id, seq_id seq, std::int32_t pos, bool logits = false) {
    add_token(id, seq, positions{pos, pos, pos, pos}, logits);
  }
  /// Adds a token with explicit M-RoPE position streams.
  void add_token(token_id id, seq_id seq, const positions& pos, bool logits = false) {
    tokens_.push_back(id);
    embd_row_.push_back(-1);
    push(seq, pos, logits);
  }
  /// Adds an embedding row (copied); every row of a batch must have the same length, which
  /// the forward checks against the model's n_embd. Not scaled by the model's embedding scale.
  void add_embedding(std::span<const float> row, seq_id seq, std::int32_t pos, bool logits = false) {
    add_embedding(row, seq, positions{pos, pos, pos, pos}, logits);
  }
  void add_embedding(std::span<const float> row, seq_id seq, const positions& pos, bool logits = false) {
    if (n_embd_ == 0) n_embd_ = row.size();
    tokens_.push_back(no_token);
    embd_row_.push_back(row.size() == n_embd_
                            ? static_cast<std::int32_t>(embd_.size() / std::max<std::size_t>(1, n_embd_))
                            : -2);  // -2: wrong length, reported by the forward
    if (row.size() == n_embd_) embd_.insert(embd_.end(), row.begin(), row.end());
    push(seq, pos, logits);
  }

  /// Entries [begin, end) attend bidirectionally (see the header comment).
  void set_bidirectional(std::size_t begin, std::size_t end) {
    end = std::min(end, size());
    std::int32_t mx = -1;
    for (std::size_t i = begin; i < end; ++i) mx = std::max(mx, pos_[i][0]);
    for (std::size_t i = begin; i < end; ++i) limit_[i] = mx;
  }
  /// Asks for (or drops) the logits of entry i.
  void set_logits(std::size_t i, bool on) { logits_[i] = on ? 1 : 0; }

  [[nodiscard]] std::size_t size() const noexcept { return tokens_.size(); }
  [[nodiscard]] bool empty() const noexcept { return tokens_.empty(); }
  /// Token of entry i (no_token for an embedding entry).
  [[nodiscard]] token_id token(std::size_t i) const noexcept { return tokens_[i]; }
  [[nodiscard]] bool is_embedding(std::size_t i) const noexcept { return embd_row_[i] != -1; }
  /// Embedding row of entry i (empty for a token entry or a row of the wrong length).
  [[nodiscard]] std::span<const float> embedding(std::size_t i) const noexcept {
    if (embd_row_[i] < 0) return {};
    return {embd_.data() + static_cast<std::size_t>(embd_row_[i]) * n_embd_, n_embd_};
  }
  /// Length of the embedding rows (0 when there are none).
  [[nodiscard]] std::size_t embedding_length() const noexcept { return n_embd_; }
  [[nodiscard]] seq_id seq(std::size_t i) const noexcept { return seq_[i]; }
  [[nodiscard]] const positions& pos(std::size_t i) const noexcept { return pos_[i]; }
  [[nodiscard]] bool logits(std::size_t i) const noexcept { return logits_[i] != 0; }
  /// The largest key position entry i may attend to (its own position unless bidirectional).
  [[nodiscard]] std::int32_t attend_limit(std::size_t i) const noexcept { return limit_[i]; }
  /// Number of entries that ask for logits.
  [[nodiscard]] std::size_t n_outputs() const noexcept {
    return static_cast<std::size_t>(std::count(logits_.begin(), logits_.end(), std::uint8_t{1}));
  }

 private:
  void push(seq_id seq, const positions& pos, bool logits) {
    seq_.push_back(seq);
    pos_.push_back(pos);
    logits_.push_back(logits ? 1 : 0);
    limit_.push_back(pos[0]);
  }

  std::vector<token_id> tokens_;
  std::vector<std::int32_t> embd_row_;  // row index into embd_, −1 for tokens, −2 for a bad row
  std::vector<float> embd_;
  std::size_t n_embd_ = 0;
  std::vector<seq_id> seq_;
  std::vector<positions> pos_;
  std::vector<std::uint8_t> logits_;
  std::vector<std::int32_t> limit_;
};

}  // namespace mmllm::models
