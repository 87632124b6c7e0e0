// mmllm/models/encoder_kernels.hpp — kernels the vision / audio encoders need beyond compute/:
// multi-head attention over many tokens, the peer's emulated flash attention, average pools,
// pixel shuffle, frame stacking, a k=3 1-D convolution, and a per-thread team of compute
// policies that runs independent work items on the caller's executor.
//
// Attention (f32, the default): at the avx512 level compute's blocked_attention (K and V packed
// once per head, online softmax over blocks of 128 keys, scores kept in L1/L2); otherwise,
// for every head h and query block, S = Q·Kᵀ (compute's GEMM),
// softmax(S·scale) per row (compute's kernel), Oᵀ = Vᵀ·Sᵀ (GEMM: the head dimension is the M
// side, the query block the N side, so no register tile is wasted on a small head size).
// Memory is O(query block × keys) per thread.
// Work items (head × segment × query block) are spread over the executor's threads; each
// thread uses its own single-threaded `compute::simd`, so results never depend on the thread
// count. `segments` turns the attention block-diagonal (Qwen2.5-VL window attention: the peer's
// −inf mask, whose masked terms are exactly zero, computed without the masked products).
//
// Peer-precision options (encode_options): the GELU fp16 tables of ggml's CPU backend are on
// by default (the peer's no-flash numerics); `attention_precision::peer_flash_f16` emulates
// ggml's CPU flash attention with F16 K/V (what libmtmd runs by default: Q, K, V rounded to
// f16, online softmax, the V accumulator kept in f16).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "../compute/blocked_attention.hpp"
#include "../compute/compute_policy.hpp"
#include "../compute/simd.hpp"
#include "../core/any_matrix_view.hpp"
#include "../core/f16.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"

namespace mmllm::mm {

/// How encoder attention is computed.
enum class attention_precision : std::uint8_t {
  f32,             ///< softmax(QKᵀ·scale)V in f32 (the peer's CLIP graph without flash attention)
  peer_flash_f16,  ///< ggml's CPU flash attention with K/V cast to f16 (libmtmd's default path)
};

/// Options of an encoder run.
struct encode_options {
  attention_precision attention = attention_precision::f32;
  /// Peer quirk: GELU and quick-GELU through ggml's fp16 lookup tables (input rounded to f16,
  /// output an f16 value), as the peer's CPU backend evaluates them. Off: exact functions.
  bool peer_gelu_tables = true;
  /// Queries per attention work item (bounds the per-thread score buffer: block × keys floats).
  std::size_t attention_query_block = 128;
};

namespace detail {

/// A rows × cols view with row stride `ld` (elements).
template <class T>
matrix_view<T> strided(T* p, std::size_t rows, std::size_t cols, std::size_t ld) noexcept {
  return matrix_view<T>(p, dextents<2>(rows, cols),
                        typename matrix_view<T>::strides_type{static_cast<std::ptrdiff_t>(ld), 1});
}

/// A dense f32 matrix as a weight operand (rows × cols, row stride `ld` floats).
inline any_matrix_view f32_weight(const float* p, std::size_t rows, std::size_t cols,
                                  std::size_t ld) noexcept {
  return any_matrix_view{dtype::f32, reinterpret_cast<const std::byte*>(p), rows, cols, ld * sizeof(float)};
}

/// Runs independent work items on a policy's threads. For `compute::simd` with an executor:
/// one single-threaded simd policy per thread, items handed out through an atomic counter;
/// otherwise the items run in order on the given policy.
template <class P>
class policy_team {
 public:
  explicit policy_team(P& p) : p_(&p) {
    if constexpr (std::is_same_v<P, compute::simd>) {
      const unsigned n = p.n_threads();
      if (n > 1) {
        locals_.reserve(n);
        for (unsigned i = 0; i < n; ++i) {
          locals_.push_back(std::make_unique<compute::simd>(p.level()));
          locals_.back()->options() = p.options();
        }
      }
    }
  }

  /// fn(policy, item, thread) for every item in [0, n_items); `thread` < size() identifies
  /// the calling thread (for per-thread scratch).
  template <class F>
  void run(std::size_t n_items, F&& fn) {
    if constexpr (std::is_same_v<P, compute::simd>) {
      if (!locals_.empty() && n_items > 1) {
        std::atomic<std::size_t> next{0};
        p_->executor().run([&](unsigned i, unsigned) {
          compute::simd& local = *locals_[i];
          for (std::size_t it = next.fetch_add(1); it < n_items; it = next.fetch_add(1)) fn(local, it, i);
        });
        return;
      }
    }
    for (std::size_t it = 0; it < n_items; ++it) fn(*p_, it, 0u);
  }

  /// Threads items may run on.
  [[nodiscard]] unsigned size() const noexcept {
    return locals_.empty() ? 1u : static_cast<unsigned>(locals_.size());
  }

 private:
  P* p_;
  std::vector<std::unique_ptr<compute::simd>> locals_;
};

/// x rounded to the nearest f16 value (ties to even), as a float. Fast path for the normal
/// f16 range; the rest goes through the exact conversion.
inline float round_f16(float x) noexcept {
  std::uint32_t u = 0;
  std::memcpy(&u, &x, 4);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a >= 0x38800000u && a < 0x477ff000u) {  // |x| in [2^-14, 65520): an f16 normal after rounding
    u += 0x0fffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    float r = 0.0f;
    std::memcpy(&r, &u, 4);
    return r;
  }
  return to_f32(to_f16(x));
}

#if MMLLM_HAVE_X86_KERNELS
/// multi_head_attention at the avx512 level: K and V packed once per (head, segment), then
/// work items (head × segment × query block) run compute's blocked (online-softmax) kernel, so
/// scores stay in L1/L2 at any token count.
inline result<void> blocked_attention(policy_team<compute::simd>& team, matrix_view<const float> q,
                                      matrix_view<const float> k, matrix_view<const float> v,
                                      matrix_view<float> out, std::size_t n_head, float scale,
                                      const std::vector<std::size_t>& seg_begin,
                                      const std::vector<std::size_t>& seg_end, const encode_options& opt) {
  namespace cd = compute::detail;
  const std::size_t width = q.extent(1), d = width / n_head;
  if (q.stride(1) != 1 || k.stride(1) != 1 || v.stride(1) != 1 || out.stride(1) != 1)
    return make_error(errc::invalid_argument, "attention: rows must be contiguous");
  // packed K and V: [head][segment] regions
  std::vector<std::size_t> seg_off(seg_begin.size() + 1, 0);
  for (std::size_t s = 0; s < seg_begin.size(); ++s)
    seg_off[s + 1] = seg_off[s] + cd::blocked_attention_packed_floats(seg_end[s] - seg_begin[s], d);
  const std::size_t per_head = seg_off.back();
  const std::unique_ptr<float[]> kp(new float[n_head * per_head]), vp(new float[n_head * per_head]);
  const auto ldq = static_cast<std::size_t>(q.stride(0)), ldk = static_cast<std::size_t>(k.stride(0)),
             ldv = static_cast<std::size_t>(v.stride(0)), ldo = static_cast<std::size_t>(out.stride(0));
  const std::size_t n_seg = seg_begin.size();
  team.run(n_head * n_seg, [&](auto&, std::size_t it, unsigned) {
    const std::size_t h = it / n_seg, s = it % n_seg;
    cd::blocked_attention_pack(&k(seg_begin[s], h * d), ldk, &v(seg_begin[s], h * d), ldv,
                               seg_end[s] - seg_begin[s], d, kp.get() + h * per_head + seg_off[s],
                               vp.get() + h * per_head + seg_off[s]);
  });
  // work items: (segment, query block, head)
  const std::size_t panels = std::max<std::size_t>(
      1, (std::max<std::size_t>(1, opt.attention_query_block) + cd::blocked_attention_panel - 1) /
             cd::blocked_attention_panel);
  const std::size_t qb = panels * cd::blocked_attention_panel;
  struct item {
    std::size_t s, q0, q1;
  };
  std::vector<item> blocks;
  for (std::size_t s = 0; s < n_seg; ++s)
    for (std::size_t q0 = seg_begin[s]; q0 < seg_end[s]; q0 += qb)
      blocks.push_back({s, q0, std::min(seg_end[s], q0 + qb)});
  const std::size_t per_thread = (cd::blocked_attention_scratch_floats(panels, d) + 15) / 16 * 16;
  struct alignas(64) line {
    float f[16];
  };
  std::vector<line> scratch(team.size() * per_thread / 16);
  team.run(blocks.size() * n_head, [&](auto&, std::size_t idx, unsigned thread) {
    const item& b = blocks[idx / n_head];
    const std::size_t h = idx % n_head, len = seg_end[b.s] - seg_begin[b.s];
    cd::blocked_attention_avx512(&q(b.q0, h * d), ldq, b.q1 - b.q0, d, kp.get() + h * per_head + seg_off[b.s],
                                 vp.get() + h * per_head + seg_off[b.s], len, scale, &out(b.q0, h * d), ldo,
                                 scratch[thread * per_thread / 16].f);
  });
  return ok();
}
#endif

}  // namespace detail

/// Multi-head attention: q, k, v, out are [n_tokens][n_head · d_head] (out may not alias the
/// inputs). Token t attends to the tokens of its segment (`segment_ends`: increasing ends of
/// consecutive segments covering all tokens; empty = one segment).
template <compute::compute_policy P>
result<void> multi_head_attention(P& p, matrix_view<const float> q, matrix_view<const float> k,
                                  matrix_view<const float> v, matrix_view<float> out, std::size_t n_head,
                                  float scale, std::span<const std::size_t> segment_ends,
                                  const encode_options& opt) {
  const std::size_t n = q.extent(0), width = q.extent(1);
  if (n_head == 0 || width % n_head != 0 || k.extent(0) != n || v.extent(0) != n || out.extent(0) != n ||
      k.extent(1) != width || v.extent(1) != width || out.extent(1) != width)
    return make_error(errc::invalid_argument, "attention: inconsistent shapes");
  if (n == 0) return ok();
  const std::size_t d = width / n_head;
  std::vector<std::size_t> seg_begin, seg_end;
  {
    std::size_t b = 0;
    for (std::size_t e : segment_ends) {
      if (e <= b || e > n) return make_error(errc::invalid_argument, "attention: bad segment ends");
      seg_begin.push_back(b);
      seg_end.push_back(e);
      b = e;
    }
    if (b < n) {
      seg_begin.push_back(b);
      seg_end.push_back(n);
    }
  }
  detail::policy_team<P> team(p);

  if (opt.attention == attention_precision::peer_flash_f16) {
    // Peer quirk (ggml CPU flash_attn_ext, F16 K/V): per query row, Q/K/V rounded to f16,
    // scores summed exactly (f16 products are exact in f32; the peer sums short rows in
    // double), online softmax with the V accumulator rounded to f16 after every update.
    std::vector<float> kh(n * width), vh(n * width);  // f16 values held as floats
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t c = 0; c < width; ++c) {
        kh[t * width + c] = detail::round_f16(k(t, c));
        vh[t * width + c] = detail::round_f16(v(t, c));
      }
    team.run(n_head, [&](auto&, std::size_t h, unsigned) {
      std::vector<float> qr(d), acc(d);
      for (std::size_t s = 0; s < seg_begin.size(); ++s)
        for (std::size_t t = seg_begin[s]; t < seg_end[s]; ++t) {
          for (std::size_t j = 0; j < d; ++j) qr[j] = detail::round_f16(q(t, h * d + j));
          std::fill(acc.begin(), acc.end(), 0.0f);
          float m = -std::numeric_limits<float>::infinity(), sum = 0.0f;
          for (std::size_t u = seg_begin[s]; u < seg_end[s]; ++u) {
            const float* kr = &kh[u * width + h * d];
            const float* vr = &vh[u * width + h * d];
            double dot = 0.0;
            for (std::size_t j = 0; j < d; ++j) dot += static_cast<double>(kr[j] * qr[j]);
            const float sc = static_cast<float>(dot) * scale;
            float ms = 1.0f, vs = 1.0f;
            if (sc > m) {
              const float m_old = m;
              m = sc;
              ms = std::exp(m_old - m);
              for (std::size_t j = 0; j < d; ++j) acc[j] = detail::round_f16(acc[j] * ms);
            } else {
              vs = std::exp(sc - m);
            }
            for (std::size_t j = 0; j < d; ++j) {
              const float prod = vr[j] * vs;
              acc[j] = detail::round_f16(acc[j] + prod);
            }
            sum = sum * ms + vs;
          }
          const float inv = 1.0f / sum;
          for (std::size_t j = 0; j < d; ++j) out(t, h * d + j) = acc[j] * inv;
        }
    });
    return ok();
  }

#if MMLLM_HAVE_X86_KERNELS
  if constexpr (std::is_same_v<P, compute::simd>) {
    if (p.level() == compute::isa::avx512)
      return detail::blocked_attention(team, q, k, v, out, n_head, scale, seg_begin, seg_end, opt);
  }
#endif

  // 1. Vᵀ per head: vt[h][j][t] = v[t][h·d + j].
  std::vector<float> vt(n * width);
  team.run(n_head, [&](auto&, std::size_t h, unsigned) {
    float* dst = vt.data() + h * d * n;
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 0; j < d; ++j) dst[j * n + t] = v(t, h * d + j);
  });

  // 2. work items: (head, segment, query block)
  const std::size_t qb = std::max<std::size_t>(1, opt.attention_query_block);
  struct item {
    std::size_t h, b, e, q0, q1;
  };
  std::vector<item> items;
  std::size_t max_len = 0;
  for (std::size_t s = 0; s < seg_begin.size(); ++s) {
    max_len = std::max(max_len, seg_end[s] - seg_begin[s]);
    for (std::size_t h = 0; h < n_head; ++h)
      for (std::size_t q0 = seg_begin[s]; q0 < seg_end[s]; q0 += qb)
        items.push_back({h, seg_begin[s], seg_end[s], q0, std::min(seg_end[s], q0 + qb)});
  }
  const std::size_t per_thread = qb * max_len + d * qb;
  std::vector<float> scratch(static_cast<std::size_t>(team.size()) * per_thread);
  std::atomic<bool> failed{false};
  team.run(items.size(), [&](auto& pol, std::size_t idx, unsigned thread) {
    float* slot_ptr = scratch.data() + thread * per_thread;
    const item& it = items[idx];
    const std::size_t m = it.q1 - it.q0, len = it.e - it.b;
    float* sbuf = slot_ptr;
    float* tbuf = slot_ptr + qb * max_len;
    auto scores = detail::strided(sbuf, m, len, len);
    auto qv = detail::strided(&q(it.q0, it.h * d), m, d, static_cast<std::size_t>(q.stride(0)));
    const any_matrix_view kw =
        detail::f32_weight(&k(it.b, it.h * d), len, d, static_cast<std::size_t>(k.stride(0)));
    if (auto r = pol.matmul(qv, kw, scores); !r) {
      failed = true;
      return;
    }
    pol.softmax(scores, scores, scale);
    auto vtv = detail::strided(static_cast<const float*>(vt.data() + it.h * d * n + it.b), d, len, n);
    const any_matrix_view sw = detail::f32_weight(sbuf, m, len, len);
    auto ot = detail::strided(tbuf, d, m, m);
    if (auto r = pol.matmul(vtv, sw, ot); !r) {
      failed = true;
      return;
    }
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t j = 0; j < d; ++j) out(it.q0 + r, it.h * d + j) = tbuf[j * m + r];
  });
  if (failed) return make_error(errc::resource_limit, "attention: a matrix product failed (workspace)");
  return ok();
}

/// Average pool k×k, stride k, over a gx × gy grid of rows (token y·gx + x, `width` floats
/// each): output (gx/k) × (gy/k) tokens, row-major. Sums in f32 over ky then kx, then ÷ k²
/// (ggml_pool_2d's order).
inline std::vector<float> avg_pool_2d(std::span<const float> x, std::size_t width, std::size_t gx,
                                      std::size_t gy, std::size_t k) {
  const std::size_t ox = gx / k, oy = gy / k;
  std::vector<float> out(ox * oy * width, 0.0f);
  const auto ka = static_cast<float>(k * k);
  for (std::size_t y = 0; y < oy; ++y)
    for (std::size_t xo = 0; xo < ox; ++xo) {
      float* o = &out[(y * ox + xo) * width];
      for (std::size_t ky = 0; ky < k; ++ky)
        for (std::size_t kx = 0; kx < k; ++kx) {
          const float* s = &x[((y * k + ky) * gx + xo * k + kx) * width];
          for (std::size_t c = 0; c < width; ++c) o[c] += s[c];
        }
      for (std::size_t c = 0; c < width; ++c) o[c] /= ka;
    }
  return out;
}

/// Average pool over pairs of consecutive rows (ggml_pool_1d AVG k=2 s=2 along tokens):
/// n rows → n/2 rows.
inline std::vector<float> avg_pool_pairs(std::span<const float> x, std::size_t width, std::size_t n) {
  const std::size_t on = n / 2;
  std::vector<float> out(on * width);
  for (std::size_t t = 0; t < on; ++t)
    for (std::size_t c = 0; c < width; ++c) {
      float s = 0.0f;
      s += x[(2 * t) * width + c];
      s += x[(2 * t + 1) * width + c];
      out[t * width + c] = s / 2.0f;
    }
  return out;
}

/// Pixel shuffle by s (clip.cpp build_patch_merge_permute; idefics3, lfm2, kimi-vl): the gx × gy
/// grid is zero-padded to multiples of s; output token (X, Y), row-major over (⌈gx/s⌉ × ⌈gy/s⌉),
/// holds concat over dy < s of concat over dx < s of h[Y·s + dy][X·s + dx].
inline std::vector<float> pixel_shuffle(std::span<const float> x, std::size_t width, std::size_t gx,
                                        std::size_t gy, std::size_t s) {
  const std::size_t ox = (gx + s - 1) / s, oy = (gy + s - 1) / s;
  std::vector<float> out(ox * oy * s * s * width, 0.0f);
  for (std::size_t y = 0; y < oy; ++y)
    for (std::size_t xo = 0; xo < ox; ++xo) {
      float* o = &out[(y * ox + xo) * s * s * width];
      for (std::size_t dy = 0; dy < s; ++dy)
        for (std::size_t dx = 0; dx < s; ++dx) {
          const std::size_t sy = y * s + dy, sx = xo * s + dx;
          if (sy < gy && sx < gx) std::copy_n(&x[(sy * gx + sx) * width], width, o + (dy * s + dx) * width);
        }
    }
  return out;
}

/// Peer quirk (ggml's GGML_PAD, a bit mask that is only right for powers of two): the
/// length the peer pads `len` elements to for a stride of `stride` elements.
constexpr std::int64_t peer_quirk_ggml_pad(std::int64_t len, std::int64_t stride) noexcept {
  return (len + stride - 1) & ~(stride - 1);
}

/// Frame stacking of ultravox / voxtral (clip.cpp build_whisper_enc): the n × width rows are
/// flattened, zero-padded to peer_quirk_ggml_pad(n·width, f·width) and cut into rows of
/// f·width; returns floor(padded / (f·width)) rows.
inline std::vector<float> stack_frames_peer(std::span<const float> x, std::size_t width, std::size_t n,
                                            std::size_t f, std::size_t& rows_out) {
  const auto total = static_cast<std::int64_t>(n * width);
  const auto stride = static_cast<std::int64_t>(f * width);
  const std::int64_t padded = peer_quirk_ggml_pad(total, stride);
  rows_out = padded > 0 ? static_cast<std::size_t>(padded / stride) : 0;
  std::vector<float> out(rows_out * f * width, 0.0f);
  const std::size_t copy = std::min(out.size(), static_cast<std::size_t>(total));
  std::copy_n(x.begin(), copy, out.begin());
  return out;
}

/// 1-D convolution, kernel 3, padding 1, stride `stride`, over an input of `in_ch` channels ×
/// `len` steps read through `at(channel, step)`; weights [out_ch][in_ch · 3] (ggml's conv1d
/// kernel layout). Peer quirk: ggml's conv_1d builds its im2col matrix in f16, so the inputs
/// are rounded to f16 (the products then use the f16 kernel). Output [len_out][out_ch].
template <compute::compute_policy P, class At>
result<std::vector<float>> conv1d_k3_peer(P& p, const any_matrix_view& w, std::size_t in_ch, std::size_t len,
                                          std::size_t stride, At&& at, std::size_t& len_out) {
  if (w.cols != in_ch * 3)
    return make_error(errc::invalid_argument, "conv1d: kernel does not match the input");
  len_out = (len + 2 - 3) / stride + 1;
  std::vector<float> cols(len_out * in_ch * 3);
  for (std::size_t t = 0; t < len_out; ++t) {
    float* row = &cols[t * in_ch * 3];
    for (std::size_t c = 0; c < in_ch; ++c)
      for (std::size_t kk = 0; kk < 3; ++kk) {
        const std::ptrdiff_t s = static_cast<std::ptrdiff_t>(t * stride + kk) - 1;
        const float val =
            (s < 0 || s >= static_cast<std::ptrdiff_t>(len)) ? 0.0f : at(c, static_cast<std::size_t>(s));
        row[c * 3 + kk] = detail::round_f16(val);
      }
  }
  std::vector<float> out(len_out * w.rows);
  MMLLM_TRY(p.matmul(matrix_view<const float>(cols.data(), len_out, in_ch * 3), w,
                     matrix_view<float>(out.data(), len_out, w.rows)));
  return out;
}

}  // namespace mmllm::mm
