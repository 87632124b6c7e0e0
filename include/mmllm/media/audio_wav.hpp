// mmllm/media/audio_wav.hpp — native WAV (RIFF / RF64) decoder, no dependencies.
//
// Decodes integer PCM (8-bit unsigned, 16/24/32-bit signed), IEEE float (32/64-bit) and
// WAVE_FORMAT_EXTENSIBLE with those sub-formats, any channel count up to 32 and any rate,
// into float `audio_frames`. Integers are scaled by 2^-(bits-1) (16-bit: x / 32768.0f, the
// same as llama.cpp's miniaudio path, so jfk.wav's samples match exactly). A data chunk
// whose declared size runs past the end of the buffer is an error (truncated); streaming
// writers' "unknown size" markers (0 or 0xFFFFFFFF in the last chunk) mean "to the end".
// Non-finite float samples are refused.
//
//   auto frames = mmllm::media::decode_wav(bytes, /*max_seconds=*/600);
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "mmllm/core/result.hpp"
#include "mmllm/media/audio.hpp"

namespace mmllm::media {

namespace detail {
inline std::uint32_t wav_u32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint16_t wav_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
}  // namespace detail

/// Decodes a WAV file; more than `max_seconds` of audio is refused before allocating.
inline result<audio_frames> decode_wav(std::span<const std::uint8_t> b, double max_seconds = 3600.0) {
  using detail::wav_u16;
  using detail::wav_u32;
  const std::size_t n = b.size();
  if (n < 12) return make_error(errc::truncated, "wav: file ends inside the RIFF header");
  const bool rf64 = std::memcmp(b.data(), "RF64", 4) == 0;
  if ((std::memcmp(b.data(), "RIFF", 4) != 0 && !rf64) || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    return make_error(errc::malformed, "wav: not a RIFF/WAVE file");
  std::uint64_t rf64_data_size = 0;
  unsigned format = 0, channels = 0, bits = 0, block_align = 0;
  std::uint32_t rate = 0;
  bool have_fmt = false;
  std::size_t at = 12;
  while (true) {
    if (n - at < 8) return make_error(errc::truncated, "wav: no data chunk");
    const std::uint8_t* id = b.data() + at;
    std::uint64_t size = wav_u32(b.data() + at + 4);
    at += 8;
    if (std::memcmp(id, "ds64", 4) == 0) {
      if (size < 24 || n - at < 24) return make_error(errc::malformed, "wav: bad ds64 chunk");
      rf64_data_size = wav_u32(b.data() + at + 8) | (std::uint64_t{wav_u32(b.data() + at + 12)} << 32);
    } else if (std::memcmp(id, "fmt ", 4) == 0) {
      if (size < 16 || n - at < 16) return make_error(errc::malformed, "wav: short fmt chunk");
      format = wav_u16(b.data() + at);
      channels = wav_u16(b.data() + at + 2);
      rate = wav_u32(b.data() + at + 4);
      block_align = wav_u16(b.data() + at + 12);
      bits = wav_u16(b.data() + at + 14);
      if (format == 0xFFFE) {  // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the format tag
        if (size < 40 || n - at < 40) return make_error(errc::malformed, "wav: short extensible fmt chunk");
        format = wav_u16(b.data() + at + 24);
      }
      have_fmt = true;
    } else if (std::memcmp(id, "data", 4) == 0) {
      if (!have_fmt) return make_error(errc::malformed, "wav: data chunk before the fmt chunk");
      const std::size_t avail = n - at;
      if (rf64 && size == 0xFFFFFFFFu) size = rf64_data_size;
      if (size == 0xFFFFFFFFu || (size == 0 && avail > 0)) size = avail;  // streaming writers: to the end
      if (size > avail) return make_error(errc::truncated, "wav: file ends inside the data chunk");
      if (format != 1 && format != 3)
        return make_error(errc::unsupported, "wav: sample format ", std::to_string(format),
                          " (only PCM and IEEE float)");
      const bool ok_bits =
          format == 1 ? (bits == 8 || bits == 16 || bits == 24 || bits == 32) : (bits == 32 || bits == 64);
      if (!ok_bits) return make_error(errc::unsupported, "wav: ", std::to_string(bits), "-bit samples");
      if (channels == 0 || channels > 32) return make_error(errc::unsupported, "wav: bad channel count");
      if (rate == 0 || rate > 1'000'000) return make_error(errc::malformed, "wav: bad sample rate");
      const unsigned bytes = bits / 8;
      if (block_align != bytes * channels) return make_error(errc::malformed, "wav: bad block align");
      const std::uint64_t frames = size / block_align;
      if (static_cast<double>(frames) > max_seconds * rate)
        return make_error(errc::resource_limit, "wav: longer than the limit of ", std::to_string(max_seconds),
                          " s");
      audio_frames out;
      out.sample_rate = static_cast<int>(rate);
      out.channels = static_cast<int>(channels);
      out.samples.resize(static_cast<std::size_t>(frames) * channels);
      const std::uint8_t* p = b.data() + at;
      float* d = out.samples.data();
      const std::size_t count = out.samples.size();
      if (format == 1) {
        switch (bits) {
          case 8:
            for (std::size_t i = 0; i < count; ++i)
              d[i] = static_cast<float>(static_cast<int>(p[i]) - 128) / 128.0f;
            break;
          case 16:
            for (std::size_t i = 0; i < count; ++i)
              d[i] = static_cast<float>(static_cast<std::int16_t>(wav_u16(p + 2 * i))) / 32768.0f;
            break;
          case 24:
            for (std::size_t i = 0; i < count; ++i) {
              const std::uint8_t* q = p + 3 * i;
              const std::uint32_t u =
                  (std::uint32_t{q[0]} << 8) | (std::uint32_t{q[1]} << 16) | (std::uint32_t{q[2]} << 24);
              d[i] = static_cast<float>(static_cast<std::int32_t>(u) >> 8) / 8388608.0f;
            }
            break;
          default:
            for (std::size_t i = 0; i < count; ++i)
              d[i] = static_cast<float>(static_cast<double>(static_cast<std::int32_t>(wav_u32(p + 4 * i))) /
                                        2147483648.0);
            break;
        }
      } else {
        for (std::size_t i = 0; i < count; ++i) {
          if (bits == 32) {
            const std::uint32_t u = wav_u32(p + 4 * i);
            std::memcpy(&d[i], &u, 4);
          } else {
            const std::uint64_t u = wav_u32(p + 8 * i) | (std::uint64_t{wav_u32(p + 8 * i + 4)} << 32);
            double v = 0;
            std::memcpy(&v, &u, 8);
            d[i] = static_cast<float>(v);
          }
          if (!std::isfinite(d[i])) return make_error(errc::malformed, "wav: non-finite float sample");
        }
      }
      return out;
    }
    // skip the chunk (chunks are padded to even sizes)
    const std::uint64_t skip = size + (size & 1u);
    if (skip > n - at) return make_error(errc::truncated, "wav: file ends inside a chunk");
    at += static_cast<std::size_t>(skip);
  }
}

}  // namespace mmllm::media
