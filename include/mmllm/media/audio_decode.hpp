// mmllm/media/audio_decode.hpp — audio bytes → mono PCM at the encoder's rate.
//
// `decode_audio(bytes, options)` sniffs the format from the bytes, decodes WAV natively
// (audio_wav.hpp) and MP3 / FLAC / Ogg through libsndfile when the build defines
// MMLLM_WITH_SNDFILE (audio_sndfile.hpp; otherwise those formats are a clear "not supported
// in this build" error), refuses audio longer than `max_seconds` before allocating it,
// downmixes to mono (channel average) and resamples with the band-limited resampler
// (audio_resample.hpp) to `target_sample_rate` (16 kHz for whisper-style encoders).
//
//   auto pcm = mmllm::media::decode_audio(bytes);          // mono, 16 kHz
//   auto mel = mmllm::media::whisper_log_mel_chunks_peer(*pcm, 128);
#pragma once

#include <cstdint>
#include <span>

#include "mmllm/core/result.hpp"
#include "mmllm/media/audio.hpp"
#include "mmllm/media/audio_resample.hpp"
#include "mmllm/media/audio_wav.hpp"
#include "mmllm/media/media_format.hpp"

#if defined(MMLLM_WITH_SNDFILE)
#include "mmllm/media/audio_sndfile.hpp"
#endif

namespace mmllm::media {

struct audio_decode_options {
  int target_sample_rate = 16000;  ///< 0 keeps the file's rate
  double max_seconds = 3600.0;     ///< longest accepted audio (checked before allocating)
  resample_options resampling{};
};

/// Decodes to interleaved frames at the file's own rate and channel count.
inline result<audio_frames> decode_audio_frames(std::span<const std::uint8_t> bytes,
                                                double max_seconds = 3600.0) {
  const media_format f = sniff_format(bytes);
  const media_kind k = kind_of(f);
  if (k == media_kind::unknown)
    return make_error(errc::malformed, "audio: unrecognised data (not WAV, MP3, FLAC or Ogg)");
  if (k != media_kind::audio)
    return make_error(errc::invalid_argument, "audio: the data is ", to_string(k), " (", to_string(f),
                      "), not audio");
  if (f == media_format::wav) return decode_wav(bytes, max_seconds);
  if (f == media_format::aac || f == media_format::m4a)
    return make_error(errc::unsupported, "audio: ", to_string(f), " is not supported");
#if defined(MMLLM_WITH_SNDFILE)
  return decode_sndfile(bytes, max_seconds);
#else
  return make_error(errc::unsupported, "audio: ", to_string(f),
                    " is not supported in this build (libsndfile not linked; WAV only)");
#endif
}

/// Decodes, downmixes to mono and resamples as `opt` says.
inline result<audio_pcm> decode_audio(std::span<const std::uint8_t> bytes,
                                      const audio_decode_options& opt = {}) {
  MMLLM_TRY_ASSIGN(const audio_frames frames, decode_audio_frames(bytes, opt.max_seconds));
  audio_pcm mono = downmix_to_mono(frames);
  if (opt.target_sample_rate <= 0 || opt.target_sample_rate == mono.sample_rate) return mono;
  return resample(mono, opt.target_sample_rate, opt.resampling);
}

}  // namespace mmllm::media
