// mmllm/media/whisper_log_mel.hpp — whisper-style log-mel spectrogram, as llama.cpp computes it.
//
// Input: mono float PCM at 16 kHz. Output: `log_mel`, mel-major [n_mel][n_frames]
// (data[mel * n_frames + frame]), the layout of the fixtures' mel arrays and of the peer's
// clip_image_f32 (nx = frames, ny = mel bins). 80 and 128 mel bins (whisper v1–v2 / v3).
//
// The computation (llama.cpp tools/mtmd/mtmd-audio.cpp, itself from whisper.cpp):
// 1. pad: 200 samples of reflection at the start (padded[i] = x[200 − i]), the samples, then
//    zeros for 30 s + 200 samples; n_frames = (n + 480000) / 160;
// 2. frame i = 400 samples from 160·i times a periodic Hann window 0.5·(1 − cosf(2πk/400));
// 3. a float32 FFT — radix-2 recursion down to four levels of even/odd splitting, then naive
//    DFTs of length 25, with sin/cos tables sinf/cosf(2πi/400) — power re² + im² of bins
//    0..200; this implementation performs exactly the peer's float operations in the same
//    order (vectorised across frames), so spectra are bit-identical;
// 4. mel = filterbank · power, summed in double (products and groups of four in float, as
//    the peer), log10(max(mel, 1e-10));
// 5. frames i ≥ (n + 200) / 160 + 1 are set to −10 without computing them (they are silence);
// 6. PEER QUIRK: the maximum used for clamping, mmax, is taken over ALL frames including the
//    30 s of padding; v = max(v, mmax − 8); v = (v + 4) / 4.
// The filterbank is computed here (Slaney mel scale, librosa.filters.mel defaults — the
// formula behind whisper's mel_filters.npz, which llama.cpp embeds as a table rounded to
// 9 decimals); see mel_filterbank().
//
// Chunking (PEER QUIRK, in split_mel_chunks_peer): the spectrogram is cut into 3000-frame
// chunks from frame 0 and a trailing partial chunk is DROPPED; with the 30 s of padding this
// always covers the audio, but exactly 30 s of audio (n = 480000) gives two chunks, the second
// nearly silent. `whisper_log_mel_chunks_peer` (the default entry point) is steps 1–6 plus
// this chunking; `split_mel_chunks(..., mel_chunking::cover_audio)` keeps only the chunks that
// contain audio (ceil(n / 480000), at least one).
//
//   auto chunks = mmllm::media::whisper_log_mel_chunks_peer(pcm16k, 128);   // [128][3000] each
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/audio.hpp"
#include "mmllm/media/detail/exact_fp.hpp"

namespace mmllm::media {

/// Whisper's fixed framing.
inline constexpr int whisper_sample_rate = 16000;
inline constexpr int whisper_n_fft = 400;
inline constexpr int whisper_hop = 160;
inline constexpr int whisper_chunk_frames = 3000;         ///< 30 s
inline constexpr int whisper_chunk_samples = 30 * 16000;  ///< 480000

/// A log-mel spectrogram, mel-major.
struct log_mel {
  int n_mel = 0;
  int n_frames = 0;
  std::vector<float> data;  ///< data[mel * n_frames + frame]

  [[nodiscard]] float at(int mel, int frame) const noexcept {
    return data[static_cast<std::size_t>(mel) * static_cast<std::size_t>(n_frames) +
                static_cast<std::size_t>(frame)];
  }
};

/// Slaney-style mel filterbank [n_mels][n_fft / 2 + 1], row-major, as librosa.filters.mel
/// (sr, n_fft, n_mels) with its defaults (fmin 0, fmax sr/2, htk=False, norm="slaney"):
/// mel(f) = 3f/200 below 1 kHz, 15 + 27·ln(f/1000)/ln(6.4) above; n_mels + 2 points evenly
/// spaced in mel; triangles between neighbours, scaled by 2 / (band width in Hz). Computed in
/// double and rounded to float where librosa stores float32 (before and after the scaling).
inline std::vector<float> mel_filterbank(int n_mels, int n_fft = whisper_n_fft,
                                         int sample_rate = whisper_sample_rate) {
  if (n_mels <= 0 || n_fft <= 0 || sample_rate <= 0) return {};
  const int n_bins = n_fft / 2 + 1;
  const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  auto hz_to_mel = [&](double f) {
    return f >= min_log_hz ? min_log_mel + std::log(f / min_log_hz) / logstep : f / f_sp;
  };
  auto mel_to_hz = [&](double m) {
    return m >= min_log_mel ? min_log_hz * std::exp(logstep * (m - min_log_mel)) : f_sp * m;
  };
  const double max_mel = hz_to_mel(sample_rate / 2.0);
  std::vector<double> mel_f(static_cast<std::size_t>(n_mels) + 2);
  const double step = max_mel / (n_mels + 1);  // numpy.linspace(0, max_mel, n_mels + 2)
  for (std::size_t i = 0; i < mel_f.size(); ++i) mel_f[i] = mel_to_hz(static_cast<double>(i) * step);
  mel_f.back() = mel_to_hz(max_mel);
  std::vector<double> fft_f(static_cast<std::size_t>(n_bins));
  for (int k = 0; k < n_bins; ++k)
    fft_f[static_cast<std::size_t>(k)] = k * (static_cast<double>(sample_rate) / n_fft);
  std::vector<float> w(static_cast<std::size_t>(n_mels) * static_cast<std::size_t>(n_bins));
  for (std::size_t i = 0; i < static_cast<std::size_t>(n_mels); ++i) {
    const double lo_d = mel_f[i + 1] - mel_f[i], hi_d = mel_f[i + 2] - mel_f[i + 1];
    const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
    for (std::size_t k = 0; k < static_cast<std::size_t>(n_bins); ++k) {
      const double lower = -(mel_f[i] - fft_f[k]) / lo_d;
      const double upper = (mel_f[i + 2] - fft_f[k]) / hi_d;
      const auto tri = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      w[i * static_cast<std::size_t>(n_bins) + k] = static_cast<float>(static_cast<double>(tri) * enorm);
    }
  }
  return w;
}

namespace detail {

/// The peer's sin/cos tables (sinf/cosf of 2πi/400) and periodic Hann window.
struct whisper_tables {
  std::array<float, whisper_n_fft> sin_vals{};
  std::array<float, whisper_n_fft> cos_vals{};
  std::array<float, whisper_n_fft> hann{};
  float dft_cos[25][25]{};  ///< cos_vals[(k·n·16) mod 400], the length-25 DFT
  float dft_sin[25][25]{};

  whisper_tables() {
    for (int i = 0; i < whisper_n_fft; ++i) {
      const double theta = (2 * std::numbers::pi * i) / whisper_n_fft;
      sin_vals[static_cast<std::size_t>(i)] = std::sin(static_cast<float>(theta));
      cos_vals[static_cast<std::size_t>(i)] = std::cos(static_cast<float>(theta));
      hann[static_cast<std::size_t>(i)] = static_cast<float>(
          0.5 * (1.0 - std::cos(static_cast<float>((2.0 * std::numbers::pi * i) / whisper_n_fft))));
    }
    for (int k = 0; k < 25; ++k)
      for (int n = 0; n < 25; ++n) {
        const auto idx = static_cast<std::size_t>((k * n * 16) % whisper_n_fft);
        dft_cos[k][n] = cos_vals[idx];
        dft_sin[k][n] = sin_vals[idx];
      }
  }

  static const whisper_tables& get() {
    static const whisper_tables t;
    return t;
  }
};

/// A sparse filterbank row: groups of four bins (k = 4g … 4g+3, g < 50) that hold a non-zero
/// weight, plus bin 200 (the peer's remainder), so the mel sum visits only the triangle while
/// adding exactly what the peer's dense loop adds.
struct mel_row {
  std::vector<int> groups;
  bool has_last = false;
};

constexpr int fft_lanes = 8;  ///< frames transformed together (SIMD lanes)

/// The peer's FFT of `fft_lanes` windowed frames: x[400][lanes] → power[201][lanes].
/// Buffers a and b hold 400 complex × lanes each.
MMLLM_MEDIA_EXACT_FP_FN inline void whisper_fft_power(const float* x, float* a, float* b, float* power) {
  MMLLM_MEDIA_EXACT_FP_BODY
  constexpr int B = fft_lanes;
  const whisper_tables& t = whisper_tables::get();
  // Depth 4: 16 naive DFTs of length 25 over x[off + 16 n]; node `off` at a + off·25·2·B.
  for (int off = 0; off < 16; ++off) {
    float* out = a + off * 25 * 2 * B;
    for (int k = 0; k < 25; ++k) {
      float re[B] = {}, im[B] = {};
      for (int n = 0; n < 25; ++n) {
        const float c = t.dft_cos[k][n], s = t.dft_sin[k][n];
        const float* in = x + (off + 16 * n) * B;
        for (int l = 0; l < B; ++l) {
          re[l] += in[l] * c;
          im[l] -= in[l] * s;
        }
      }
      for (int l = 0; l < B; ++l) {
        out[(2 * k) * B + l] = re[l];
        out[(2 * k + 1) * B + l] = im[l];
      }
    }
  }
  // Depths 3..1: node (size N, offset off) = combine(even child off, odd child off + nodes).
  float* src = a;
  float* dst = b;
  for (int nodes = 8, n_size = 50; nodes >= 2; nodes /= 2, n_size *= 2) {
    const int half = n_size / 2, step = whisper_n_fft / n_size;
    for (int off = 0; off < nodes; ++off) {
      const float* e = src + off * half * 2 * B;
      const float* o = src + (off + nodes) * half * 2 * B;
      float* out = dst + off * n_size * 2 * B;
      for (int k = 0; k < half; ++k) {
        const int idx = k * step;
        const float wr = t.cos_vals[static_cast<std::size_t>(idx)];
        const float wi = -t.sin_vals[static_cast<std::size_t>(idx)];
        const float* er = e + 2 * k * B;
        const float* ei = er + B;
        const float* orr = o + 2 * k * B;
        const float* oi = orr + B;
        float* lo_r = out + 2 * k * B;
        float* lo_i = lo_r + B;
        float* hi_r = out + 2 * (k + half) * B;
        float* hi_i = hi_r + B;
        for (int l = 0; l < B; ++l) {
          lo_r[l] = er[l] + wr * orr[l] - wi * oi[l];
          lo_i[l] = ei[l] + wr * oi[l] + wi * orr[l];
          hi_r[l] = er[l] - wr * orr[l] + wi * oi[l];
          hi_i[l] = ei[l] - wr * oi[l] - wi * orr[l];
        }
      }
    }
    std::swap(src, dst);
  }
  // Depth 0 (N = 400): only bins 0..200 are needed; power re² + im².
  const float* e = src;
  const float* o = src + 200 * 2 * B;
  for (int k = 0; k <= 200; ++k) {
    const int kk = k < 200 ? k : 0;
    const float wr = t.cos_vals[static_cast<std::size_t>(kk)];
    const float wi = -t.sin_vals[static_cast<std::size_t>(kk)];
    const float* er = e + 2 * kk * B;
    const float* ei = er + B;
    const float* orr = o + 2 * kk * B;
    const float* oi = orr + B;
    float* p = power + k * B;
    for (int l = 0; l < B; ++l) {
      float re = 0, im = 0;
      if (k < 200) {
        re = er[l] + wr * orr[l] - wi * oi[l];
        im = ei[l] + wr * oi[l] + wi * orr[l];
      } else {
        re = er[l] - wr * orr[l] + wi * oi[l];
        im = ei[l] - wr * oi[l] - wi * orr[l];
      }
      p[l] = re * re + im * im;
    }
  }
}

/// mel[j][lane] = log10(max(Σ filters · power, 1e-10)) with the peer's summation.
MMLLM_MEDIA_EXACT_FP_FN inline void whisper_mel_frames(const float* power, std::span<const float> filters,
                                                       const std::vector<mel_row>& rows, double* out) {
  MMLLM_MEDIA_EXACT_FP_BODY
  constexpr int B = fft_lanes;
  const std::size_t n_bins = 201;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const float* f = filters.data() + j * n_bins;
    double sum[B] = {};
    for (const int g : rows[j].groups) {
      const int k = 4 * g;
      const float f0 = f[k], f1 = f[k + 1], f2 = f[k + 2], f3 = f[k + 3];
      const float* p0 = power + k * B;
      for (int l = 0; l < B; ++l)
        sum[l] += p0[l] * f0 + p0[B + l] * f1 + p0[2 * B + l] * f2 + p0[3 * B + l] * f3;
    }
    if (rows[j].has_last) {
      const float f200 = f[200];
      for (int l = 0; l < B; ++l) sum[l] += power[200 * B + l] * f200;
    }
    // log10 as ln · log10(e): within an ulp or two of log10 in double, so the float result is
    // the peer's except in the rarest rounding ties, and five times faster than log10.
    for (int l = 0; l < B; ++l)
      out[j * B + static_cast<std::size_t>(l)] = std::log(std::max(sum[l], 1e-10)) * 0.43429448190325182765;
  }
}

}  // namespace detail

/// The whole log-mel spectrogram of 16 kHz mono samples, steps 1–6 above (n_frames =
/// (n + 480000) / 160), with a caller-supplied filterbank [n_mels][201] (whisper_log_mel(x,
/// n_mels) below uses the computed Slaney bank). Audio shorter than 201 samples uses zeros
/// where the reflection would read past the signal (the peer reads past its buffer there).
inline result<log_mel> whisper_log_mel(std::span<const float> x, std::span<const float> filters, int n_mels) {
  if (n_mels <= 0 || filters.size() != static_cast<std::size_t>(n_mels) * 201)
    return make_error(errc::invalid_argument, "whisper_log_mel: the filterbank must be [n_mels][201]");
  if (x.empty()) return make_error(errc::invalid_argument, "whisper_log_mel: empty audio");
  if (x.size() > std::size_t{1} << 31)
    return make_error(errc::resource_limit, "whisper_log_mel: audio too long");
  constexpr int B = detail::fft_lanes;
  constexpr int pad = whisper_n_fft / 2;
  const auto n = static_cast<std::int64_t>(x.size());

  std::vector<detail::mel_row> rows(static_cast<std::size_t>(n_mels));
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const float* f = filters.data() + j * 201;
    for (int g = 0; g < 50; ++g)
      if (f[4 * g] != 0 || f[4 * g + 1] != 0 || f[4 * g + 2] != 0 || f[4 * g + 3] != 0)
        rows[j].groups.push_back(g);
    rows[j].has_last = f[200] != 0;
  }

  log_mel mel;
  mel.n_mel = n_mels;
  mel.n_frames = static_cast<int>((n + whisper_chunk_samples) / whisper_hop);
  const auto n_len = static_cast<std::size_t>(mel.n_frames);
  mel.data.resize(static_cast<std::size_t>(n_mels) * n_len);

  // The padded signal: reflection, samples, zeros (positions relative to the padded start).
  auto padded = [&](std::int64_t i) -> float {
    if (i < pad) {
      const std::int64_t r = pad - i;
      return r < n ? x[static_cast<std::size_t>(r)] : 0.0f;
    }
    const std::int64_t s = i - pad;
    return s < n ? x[static_cast<std::size_t>(s)] : 0.0f;
  };
  const detail::whisper_tables& t = detail::whisper_tables::get();
  const std::size_t computed =
      std::min<std::size_t>(static_cast<std::size_t>((n + pad) / whisper_hop + 1), n_len);
  std::vector<float> frames(whisper_n_fft * B), buf_a(whisper_n_fft * 2 * B), buf_b(whisper_n_fft * 2 * B),
      power(201 * B);
  std::vector<double> out(static_cast<std::size_t>(n_mels) * B);
  // Frames after the signal hold log10(1e-10) in the peer; they enter the maximum (PEER QUIRK).
  const auto silent = static_cast<float>(std::log10(1e-10));
  float vmax = computed < n_len ? silent : -std::numeric_limits<float>::infinity();
  for (std::size_t f0 = 0; f0 < computed; f0 += B) {
    const std::size_t lanes = std::min<std::size_t>(B, computed - f0);
    for (std::size_t l = 0; l < static_cast<std::size_t>(B); ++l) {
      const auto start = static_cast<std::int64_t>((f0 + l) * whisper_hop);
      if (l < lanes && start >= pad && start - pad + whisper_n_fft <= n) {  // inside the signal
        const float* src = x.data() + (start - pad);
        for (std::size_t j = 0; j < whisper_n_fft; ++j) frames[j * B + l] = t.hann[j] * src[j];
      } else {
        for (std::size_t j = 0; j < whisper_n_fft; ++j)
          frames[j * B + l] = l < lanes ? t.hann[j] * padded(start + static_cast<std::int64_t>(j)) : 0.0f;
      }
    }
    detail::whisper_fft_power(frames.data(), buf_a.data(), buf_b.data(), power.data());
    detail::whisper_mel_frames(power.data(), filters, rows, out.data());
    for (std::size_t j = 0; j < static_cast<std::size_t>(n_mels); ++j)
      for (std::size_t l = 0; l < lanes; ++l) {
        const auto v = static_cast<float>(out[j * B + l]);
        mel.data[j * n_len + f0 + l] = v;
        vmax = std::max(vmax, v);
      }
  }
  // Clamp at max − 8 and scale. The peer does this in double (v < mmax ? float(mmax) : v, then
  // float((v + 4.0) / 4.0)); for float v these float operations give the same results: no
  // float lies strictly between mmax and float(mmax), v + 4 rounds once either way, and
  // scaling by 1/4 is exact.
  const auto floor_v = static_cast<float>(static_cast<double>(vmax) - 8.0);
  const float after = (std::max(silent, floor_v) + 4.0f) * 0.25f;
  for (std::size_t j = 0; j < static_cast<std::size_t>(n_mels); ++j) {
    float* row = mel.data.data() + j * n_len;
    for (std::size_t i = 0; i < computed; ++i) row[i] = (std::max(row[i], floor_v) + 4.0f) * 0.25f;
    std::fill(row + computed, row + n_len, after);
  }
  return mel;
}

/// The whole log-mel spectrogram of 16 kHz mono samples with the Slaney filterbank of
/// `n_mels` (80 or 128) bins.
inline result<log_mel> whisper_log_mel(std::span<const float> x, int n_mels = 128) {
  if (n_mels != 80 && n_mels != 128)
    return make_error(errc::invalid_argument, "whisper_log_mel: n_mels must be 80 or 128");
  static const std::vector<float> filters80 = mel_filterbank(80);
  static const std::vector<float> filters128 = mel_filterbank(128);
  return whisper_log_mel(x, n_mels == 80 ? filters80 : filters128, n_mels);
}

/// How a spectrogram is cut into the encoder's 3000-frame windows.
enum class mel_chunking : std::uint8_t {
  peer,         ///< PEER QUIRK: every full 3000-frame chunk from frame 0, trailing partial chunk dropped
  cover_audio,  ///< only the chunks that hold audio: ceil(samples / 480000), at least one
};

/// Cuts `full` into `chunk_frames`-frame chunks. `n_samples` (the audio length) is used by
/// mel_chunking::cover_audio only.
inline std::vector<log_mel> split_mel_chunks(const log_mel& full, std::size_t n_samples,
                                             mel_chunking how = mel_chunking::peer,
                                             int chunk_frames = whisper_chunk_frames) {
  std::vector<log_mel> out;
  if (chunk_frames <= 0 || full.n_frames <= 0) return out;
  std::size_t count = static_cast<std::size_t>(full.n_frames) / static_cast<std::size_t>(chunk_frames);
  if (how == mel_chunking::cover_audio)
    count = std::min(
        count, std::max<std::size_t>(1, (n_samples + whisper_chunk_samples - 1) / whisper_chunk_samples));
  const auto cf = static_cast<std::size_t>(chunk_frames), nf = static_cast<std::size_t>(full.n_frames);
  for (std::size_t c = 0; c < count; ++c) {
    log_mel m;
    m.n_mel = full.n_mel;
    m.n_frames = chunk_frames;
    m.data.resize(static_cast<std::size_t>(full.n_mel) * cf);
    for (std::size_t j = 0; j < static_cast<std::size_t>(full.n_mel); ++j)
      std::copy_n(full.data.begin() + static_cast<std::ptrdiff_t>(j * nf + c * cf), cf,
                  m.data.begin() + static_cast<std::ptrdiff_t>(j * cf));
    out.push_back(std::move(m));
  }
  return out;
}

/// The peer's encoder inputs for one audio clip: whisper_log_mel + split_mel_chunks(peer).
/// `pcm` must be 16 kHz mono (decode_audio resamples to that by default).
inline result<std::vector<log_mel>> whisper_log_mel_chunks_peer(const audio_pcm& pcm, int n_mels = 128) {
  if (pcm.sample_rate != whisper_sample_rate)
    return make_error(errc::invalid_argument, "whisper_log_mel: audio must be 16 kHz, got ",
                      std::to_string(pcm.sample_rate), " Hz");
  MMLLM_TRY_ASSIGN(const log_mel full, whisper_log_mel(pcm.samples, n_mels));
  return split_mel_chunks(full, pcm.samples.size(), mel_chunking::peer);
}

}  // namespace mmllm::media
