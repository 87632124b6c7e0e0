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
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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

/// Encodes media chunks and feeds prompts to a decoder (see the header comment). P is the
/// encoders' compute policy (may share the caller's thread pool with the decoder's).
template <compute::compute_policy P>
class mm_evaluator {
 public:
  mm_evaluator(const multimodal_encoder* enc, P policy) : enc_(enc), policy_(std::move(policy)) {}

  [[nodiscard]] P& policy() noexcept { return policy_; }

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
          MMLLM_TRY(enc_->vision()->encode(policy_, m.vision.entries[k], *buf, o));
        } else {
          if (enc_->audio() == nullptr) return make_error(errc::unsupported, "multimodal: no audio encoder");
          MMLLM_TRY(enc_->audio()->encode(policy_, m.audio.entries[k], *buf, o));
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

  /// Feeds `p` to `dec` / `kv` (sequence o.seq from position o.n_past); returns the logits of
  /// the last entry.
  template <class Decoder>
  result<mm_eval_result> eval(Decoder& dec, models::kv_cache& kv, const mm_prompt& p,
                              const mm_eval_options& o = {}) {
    mm_eval_result res;
    res.n_past = o.n_past;
    const std::size_t n_batch = std::max<std::size_t>(1, o.n_batch);
    const bool mrope_lm = dec.desc().n_pos_streams == 4;
    const bool non_causal = enc_ != nullptr && enc_->non_causal_images();
    std::size_t last_chunk = p.chunks.size();
    while (last_chunk > 0 && p.chunks[last_chunk - 1].n_tokens() == 0) --last_chunk;
    if (last_chunk == 0) return make_error(errc::invalid_argument, "multimodal: empty prompt");
    models::batch b;
    auto run = [&](bool want_logits) -> result<void> {
      const auto t0 = std::chrono::steady_clock::now();
      MMLLM_TRY_ASSIGN(const matrix_view<const float> lg, dec.forward(b, kv));
      res.decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (want_logits) {
        if (lg.extent(0) == 0) return make_error(errc::internal, "multimodal: no logits returned");
        const std::size_t r = lg.extent(0) - 1;
        res.logits.assign(&lg(r, 0), &lg(r, 0) + lg.extent(1));
      }
      b.clear();
      return ok();
    };
    for (std::size_t ci = 0; ci < last_chunk; ++ci) {
      const prompt_chunk& c = p.chunks[ci];
      const bool last = ci + 1 == last_chunk;
      if (c.type == chunk_type::text) {
        for (std::size_t i = 0; i < c.tokens.size();) {
          const std::size_t end = std::min(c.tokens.size(), i + n_batch);
          for (; i < end; ++i)
            b.add_token(c.tokens[i], o.seq, res.n_past++, last && i + 1 == c.tokens.size());
          MMLLM_TRY(run(last && i == c.tokens.size()));
        }
        continue;
      }
      MMLLM_TRY_ASSIGN(const std::vector<float> rows, embeddings_of(p, c, o.cache, o.encode, &res));
      const std::size_t e = c.n_media_tokens == 0 ? 0 : rows.size() / c.n_media_tokens;
      if (e != dec.desc().n_embd)
        return make_error(errc::invalid_argument, "multimodal: media embeddings have ", std::to_string(e),
                          " columns, the language model expects ", std::to_string(dec.desc().n_embd));
      const std::int32_t p0 = res.n_past;
      const int nx = std::max(1, c.grid.width);
      for (std::size_t i = 0; i < c.n_media_tokens;) {
        const std::size_t end = std::min(c.n_media_tokens, i + n_batch);
        const std::size_t first = b.size();
        for (; i < end; ++i) {
          models::positions pos;
          const auto ii = static_cast<std::int32_t>(i);
          if (mrope_lm && c.mrope && c.type == chunk_type::image) {
            pos = {p0, p0 + ii / nx, p0 + ii % nx, 0};
          } else if (mrope_lm) {
            pos = {p0 + ii, p0 + ii, p0 + ii, 0};
          } else {
            pos = {p0 + ii, p0 + ii, p0 + ii, p0 + ii};
          }
          b.add_embedding(std::span<const float>(rows.data() + i * e, e), o.seq, pos,
                          last && i + 1 == c.n_media_tokens);
        }
        if (non_causal && c.type == chunk_type::image) b.set_bidirectional(first, b.size());
        MMLLM_TRY(run(last && i == c.n_media_tokens));
      }
      res.n_past = p0 + c.n_pos();
    }
    return res;
  }

 private:
  const multimodal_encoder* enc_;
  P policy_;
};

}  // namespace mmllm::mm
