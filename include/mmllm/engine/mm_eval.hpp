// mmllm/engine/mm_eval.hpp — runs a tokenized multimodal prompt through a language model, as
// llama.cpp's mtmd_helper_eval_chunks does: media chunks are encoded (or taken from the
// encoder cache), and every chunk is fed to the decoder in batches of at most n_batch entries.
//
//   mm::encoder_cache cache;
//   mm::mm_evaluator<compute::simd> ev(encoders, compute::simd(pool));
//   auto r = ev.eval(dec, kv, prompt, {.seq = 0, .n_past = 0, .cache = &cache});
//   // r->logits: the last prompt entry's logits; r->n_past: the next position
//
// Positions (mtmd-helper): text and non-M-RoPE media advance by one per token; an M-RoPE
// (Qwen2-VL) image of nx × ny tokens gets the four streams [p0, p0 + y, p0 + x, 0] for token
// y·nx + x and advances by max(nx, ny); M-RoPE audio gets [p0 + i, p0 + i, p0 + i, 0]. Text
// tokens use their position in all four streams. Gemma 3 image tokens attend to each other
// bidirectionally (batch::set_bidirectional over the image's entries of each batch). Media
// rows are not scaled by the model's token-embedding scale.
//
// The encoder outputs of a chunk are cached per encoder entry under "<item key>#<entry>", so
// a repeated image (same pixels or same uuid) is encoded once. `embeddings_of` also serves
// tools that only want the projector output (mmllm-run --embd-out).
//
// `lay_out` turns a prompt into prompt_entries (tokens / embedding rows with their positions
// and bidirectional spans), the form both `eval` and the offline engine's continuous batches
// (engine.hpp) feed from.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../compute/compute_policy.hpp"
#include "../core/result.hpp"
#include "../models/batch.hpp"
#include "../models/decoder.hpp"
#include "../models/kv_cache.hpp"
#include "../models/multimodal_encoder.hpp"
#include "encoder_cache.hpp"
#include "mm_chunker.hpp"

namespace mmllm::mm {

struct mm_eval_options {
  models::seq_id seq = 0;
  std::int32_t n_past = 0;         ///< position of the first prompt entry
  std::size_t n_batch = 2048;      ///< entries per decoder step at most (the peer's n_batch)
  encoder_cache* cache = nullptr;  ///< optional encoder-output cache
  encode_options encode{};         ///< encoder numerics
};

struct mm_eval_result {
  std::vector<float> logits;                    ///< logits of the last prompt entry
  std::int32_t n_past = 0;                      ///< position after the prompt
  double encode_seconds = 0;                    ///< time spent in the encoders
  double decode_seconds = 0;                    ///< time spent in the language model
  std::size_t n_encoded = 0, n_cache_hits = 0;  ///< encoder entries computed / taken from the cache
};

/// A multimodal prompt laid out as language-model entries, what batches take: per entry a
/// token or a media embedding row, its positions, and its chunk. The offline engine keeps one
/// per multimodal request and feeds slices of it (add_entries) into its continuous batches;
/// mm_evaluator::eval feeds it chunk by chunk.
struct prompt_entries {
  std::vector<token_id> tokens;             ///< per entry: the token, or no_token for a media row
  std::vector<models::positions> pos;       ///< per entry
  std::vector<std::int32_t> row;            ///< per entry: its row of `embd`, −1 for a token
  std::vector<std::uint32_t> chunk;         ///< per entry: index of its prompt chunk
  std::vector<std::size_t> chunk_begin;     ///< per chunk: its first entry; then the entry count
  std::vector<std::uint8_t> bidirectional;  ///< per chunk: its entries attend bidirectionally
  std::vector<float> embd;                  ///< media rows (n_embd floats each), chunks in prompt order
  std::size_t n_embd = 0;
  std::int32_t n_past = 0;  ///< the position after the prompt

  [[nodiscard]] std::size_t size() const noexcept { return tokens.size(); }
  /// The bidirectional chunk entry i belongs to, as [begin, end) entries; {i, i} if none.
  [[nodiscard]] std::pair<std::size_t, std::size_t> bidirectional_span(std::size_t i) const noexcept {
    const std::uint32_t c = chunk[i];
    if (bidirectional[c] == 0) return {i, i};
    return {chunk_begin[c], chunk_begin[c + 1]};
  }
};

/// Appends entries [begin, end) of `e` to `b` for sequence `seq`; entry k asks for logits when
/// want_logits(k). Entries of a bidirectional chunk attend to each other within the batch.
template <class WantLogits>
void add_entries(models::batch& b, const prompt_entries& e, std::size_t begin, std::size_t end,
                 models::seq_id seq, WantLogits&& want_logits) {
  const std::size_t first = b.size();
  for (std::size_t k = begin; k < end; ++k) {
    if (e.row[k] < 0) {
      b.add_token(e.tokens[k], seq, e.pos[k], want_logits(k));
    } else {
      const float* r = e.embd.data() + static_cast<std::size_t>(e.row[k]) * e.n_embd;
      b.add_embedding(std::span<const float>(r, e.n_embd), seq, e.pos[k], want_logits(k));
    }
  }
  for (std::size_t k = begin; k < end;) {
    std::size_t j = k;
    while (j < end && e.chunk[j] == e.chunk[k]) ++j;
    if (e.bidirectional[e.chunk[k]] != 0) b.set_bidirectional(first + (k - begin), first + (j - begin));
    k = j;
  }
}

/// Encodes media chunks and feeds prompts to a decoder (see the header comment). P is the
/// encoders' compute policy (may share the caller's thread pool with the decoder's).
template <compute::compute_policy P>
class mm_evaluator {
 public:
  mm_evaluator(const multimodal_encoder* enc, P policy) : enc_(enc), own_(std::move(policy)) {}
  /// An evaluator whose encoders run on `*shared` (e.g. the decoder's policy; it must outlive
  /// the evaluator).
  mm_evaluator(const multimodal_encoder* enc, P* shared) : enc_(enc), shared_(shared) {}

  [[nodiscard]] P& policy() noexcept { return shared_ != nullptr ? *shared_ : *own_; }

  /// The projector output of a media chunk (n_media_tokens × n_embd rows).
  result<std::vector<float>> embeddings_of(const mm_prompt& p, const prompt_chunk& c, encoder_cache* cache,
                                           const encode_options& o, mm_eval_result* stats = nullptr) {
    if (c.type == chunk_type::text)
      return make_error(errc::invalid_argument, "multimodal: not a media chunk");
    if (c.item >= p.media.size()) return make_error(errc::invalid_argument, "multimodal: bad media index");
    const prepared_media& m = p.media[c.item];
    const std::size_t e = enc_ != nullptr ? enc_->n_embd_out() : m.embeddings.n_embd;
    std::vector<float> out;
    out.reserve(c.n_media_tokens * e);
    if (m.what == media_item::kind::embeddings) {
      std::size_t row = 0;
      for (std::size_t k = 0; k < c.entry_begin; ++k) row += m.entry_tokens[k];
      const std::size_t n = c.n_media_tokens * m.embeddings.n_embd;
      const std::size_t off = row * m.embeddings.n_embd;
      if (off + n > m.embeddings.data.size())
        return make_error(errc::internal, "multimodal: embeddings out of range");
      out.assign(m.embeddings.data.begin() + static_cast<std::ptrdiff_t>(off),
                 m.embeddings.data.begin() + static_cast<std::ptrdiff_t>(off + n));
      return out;
    }
    if (enc_ == nullptr) return make_error(errc::unsupported, "multimodal: no encoder loaded");
    for (std::size_t k = c.entry_begin; k < c.entry_end; ++k) {
      const std::string key = m.key + "#" + std::to_string(k);
      encoder_cache::value v = cache != nullptr ? cache->find(key) : nullptr;
      if (v) {
        if (stats != nullptr) ++stats->n_cache_hits;
      } else {
        const auto t0 = std::chrono::steady_clock::now();
        auto buf = std::make_shared<std::vector<float>>(m.entry_tokens[k] * e);
        if (m.what == media_item::kind::image) {
          if (enc_->vision() == nullptr)
            return make_error(errc::unsupported, "multimodal: no vision encoder");
          MMLLM_TRY(enc_->vision()->encode(policy(), m.vision.entries[k], *buf, o));
        } else {
          if (enc_->audio() == nullptr) return make_error(errc::unsupported, "multimodal: no audio encoder");
          MMLLM_TRY(enc_->audio()->encode(policy(), m.audio.entries[k], *buf, o));
        }
        if (stats != nullptr) {
          stats->encode_seconds +=
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          ++stats->n_encoded;
        }
        v = buf;
        if (cache != nullptr) cache->insert(key, v);
      }
      out.insert(out.end(), v->begin(), v->end());
    }
    return out;
  }

  /// Lays `p` out as language-model entries from position `n_past` (see prompt_entries):
  /// media chunks are encoded here (or taken from `cache`). `n_embd` is the language model's
  /// width, `mrope_lm` whether it takes four position streams.
  result<prompt_entries> lay_out(const mm_prompt& p, std::size_t n_embd, bool mrope_lm, std::int32_t n_past,
                                 encoder_cache* cache, const encode_options& o,
                                 mm_eval_result* stats = nullptr) {
    prompt_entries out;
    out.n_embd = n_embd;
    const bool non_causal = enc_ != nullptr && enc_->non_causal_images();
    const std::size_t n = p.n_tokens();
    out.tokens.reserve(n);
    out.pos.reserve(n);
    out.row.reserve(n);
    out.chunk.reserve(n);
    std::int32_t pos = n_past;
    for (std::size_t ci = 0; ci < p.chunks.size(); ++ci) {
      const prompt_chunk& c = p.chunks[ci];
      out.chunk_begin.push_back(out.tokens.size());
      out.bidirectional.push_back(non_causal && c.type == chunk_type::image ? 1 : 0);
      const auto chunk_index = static_cast<std::uint32_t>(ci);
      if (c.type == chunk_type::text) {
        for (const token_id t : c.tokens) {
          out.tokens.push_back(t);
          out.pos.push_back({pos, pos, pos, pos});
          out.row.push_back(-1);
          out.chunk.push_back(chunk_index);
          ++pos;
        }
        continue;
      }
      MMLLM_TRY_ASSIGN(const std::vector<float> rows, embeddings_of(p, c, cache, o, stats));
      const std::size_t e = c.n_media_tokens == 0 ? 0 : rows.size() / c.n_media_tokens;
      if (e != n_embd)
        return make_error(errc::invalid_argument, "multimodal: media embeddings have ", std::to_string(e),
                          " columns, the language model expects ", std::to_string(n_embd));
      const std::int32_t p0 = pos;
      const int nx = std::max(1, c.grid.width);
      auto first_row = static_cast<std::int32_t>(out.embd.size() / std::max<std::size_t>(1, n_embd));
      out.embd.insert(out.embd.end(), rows.begin(), rows.end());
      for (std::size_t i = 0; i < c.n_media_tokens; ++i) {
        const auto ii = static_cast<std::int32_t>(i);
        if (mrope_lm && c.mrope && c.type == chunk_type::image) {
          out.pos.push_back({p0, p0 + ii / nx, p0 + ii % nx, 0});
        } else if (mrope_lm) {
          out.pos.push_back({p0 + ii, p0 + ii, p0 + ii, 0});
        } else {
          out.pos.push_back({p0 + ii, p0 + ii, p0 + ii, p0 + ii});
        }
        out.tokens.push_back(no_token);
        out.row.push_back(first_row++);
        out.chunk.push_back(chunk_index);
      }
      pos = p0 + c.n_pos();
    }
    out.chunk_begin.push_back(out.tokens.size());
    out.n_past = pos;
    return out;
  }

  /// Feeds `p` to `dec` / `kv` (sequence o.seq from position o.n_past); returns the logits of
  /// the last entry. Every chunk is fed in batches of at most o.n_batch entries of its own (the
  /// peer's mtmd_helper_eval_chunks).
  template <class Decoder>
  result<mm_eval_result> eval(Decoder& dec, models::kv_cache& kv, const mm_prompt& p,
                              const mm_eval_options& o = {}) {
    mm_eval_result res;
    res.n_past = o.n_past;
    const std::size_t n_batch = std::max<std::size_t>(1, o.n_batch);
    if (p.n_tokens() == 0) return make_error(errc::invalid_argument, "multimodal: empty prompt");
    MMLLM_TRY_ASSIGN(const prompt_entries e, lay_out(p, dec.desc().n_embd, dec.desc().n_pos_streams == 4,
                                                     o.n_past, o.cache, o.encode, &res));
    models::batch b;
    const std::size_t n = e.size();
    for (std::size_t ci = 0; ci + 1 < e.chunk_begin.size(); ++ci) {
      for (std::size_t i = e.chunk_begin[ci]; i < e.chunk_begin[ci + 1];) {
        const std::size_t end = std::min(e.chunk_begin[ci + 1], i + n_batch);
        add_entries(b, e, i, end, o.seq, [&](std::size_t k) { return k + 1 == n; });
        i = end;
        const auto t0 = std::chrono::steady_clock::now();
        MMLLM_TRY_ASSIGN(const matrix_view<const float> lg, dec.forward(b, kv));
        res.decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (end == n) {
          if (lg.extent(0) == 0) return make_error(errc::internal, "multimodal: no logits returned");
          const std::size_t r = lg.extent(0) - 1;
          res.logits.assign(&lg(r, 0), &lg(r, 0) + lg.extent(1));
        }
        b.clear();
      }
    }
    res.n_past = e.n_past;
    return res;
  }

 private:
  const multimodal_encoder* enc_;
  std::optional<P> own_;
  P* shared_ = nullptr;
};

}  // namespace mmllm::mm
