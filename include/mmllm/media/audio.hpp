// mmllm/media/audio.hpp — decoded audio: interleaved frames and the mono PCM encoders take.
//
// Decoders return `audio_frames` (float samples in [-1, 1], interleaved channels, the file's
// own rate); `downmix_to_mono` averages the channels; `resample` (audio_resample.hpp) brings
// the rate to what the encoder expects; whisper-style encoders take `audio_pcm` at 16 kHz.
//
//   mmllm::media::audio_pcm pcm = mmllm::media::downmix_to_mono(frames);
//   double seconds = pcm.duration_seconds();
#pragma once

#include <cstddef>
#include <vector>

namespace mmllm::media {

/// Interleaved multi-channel float audio.
struct audio_frames {
  int sample_rate = 0;
  int channels = 0;
  std::vector<float> samples;  ///< frame count × channels, interleaved

  [[nodiscard]] std::size_t frame_count() const noexcept {
    return channels > 0 ? samples.size() / static_cast<std::size_t>(channels) : 0;
  }
};

/// Mono float audio at a known rate.
struct audio_pcm {
  int sample_rate = 0;
  std::vector<float> samples;

  [[nodiscard]] double duration_seconds() const noexcept {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

/// Average of the channels of every frame (a copy for mono).
inline audio_pcm downmix_to_mono(const audio_frames& in) {
  audio_pcm out;
  out.sample_rate = in.sample_rate;
  if (in.channels <= 1) {
    out.samples = in.samples;
    return out;
  }
  const std::size_t n = in.frame_count(), ch = static_cast<std::size_t>(in.channels);
  out.samples.resize(n);
  const float scale = 1.0f / static_cast<float>(ch);
  for (std::size_t i = 0; i < n; ++i) {
    float s = 0;
    for (std::size_t c = 0; c < ch; ++c) s += in.samples[i * ch + c];
    out.samples[i] = s * scale;
  }
  return out;
}

}  // namespace mmllm::media
