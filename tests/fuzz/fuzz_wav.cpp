// libFuzzer target: arbitrary bytes through the native WAV decoder, then downmix, the
// resampler and (for short clips) the whisper log-mel. Seeds: the fixture media directory.
#include <mmllm/media/audio_resample.hpp>
#include <mmllm/media/audio_wav.hpp>
#include <mmllm/media/whisper_log_mel.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace media = mmllm::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto frames = media::decode_wav(std::span<const std::uint8_t>(data, size), 20.0);
  if (!frames) return 0;
  if (frames->channels <= 0 || frames->samples.size() % static_cast<std::size_t>(frames->channels) != 0)
    std::abort();
  for (const float s : frames->samples)
    if (!std::isfinite(s)) std::abort();
  const media::audio_pcm mono = media::downmix_to_mono(*frames);
  if (mono.samples.empty() || mono.samples.size() > 2 * 16000) return 0;
  auto pcm = media::resample(mono, 16000);
  if (!pcm) std::abort();
  if (pcm->samples.empty()) return 0;
  auto mel = media::whisper_log_mel(pcm->samples, 80);
  if (!mel) std::abort();
  for (const float v : mel->data)
    if (!std::isfinite(v)) std::abort();
  return 0;
}
