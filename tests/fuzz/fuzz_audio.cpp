// libFuzzer target: arbitrary bytes through decode_audio (WAV natively; MP3/FLAC/Ogg through
// libsndfile's memory I/O when built in), with a short duration cap. Seeds: fixture media.
#include <mmllm/media/audio_decode.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace media = mmllm::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  media::audio_decode_options opt;
  opt.max_seconds = 30.0;
  opt.target_sample_rate = 0;  // no resampling: the decoders are the target here
  auto pcm = media::decode_audio(std::span<const std::uint8_t>(data, size), opt);
  if (pcm && pcm->sample_rate <= 0) std::abort();
  return 0;
}
