// mmllm/media/audio_sndfile.hpp — MP3, FLAC and Ogg (Vorbis/Opus) through libsndfile.
//
// Optional dependency: libsndfile ≥ 1.1 (Debian 12: libsndfile1-dev 1.2, built with mpg123,
// FLAC, Vorbis and Opus). Link mmllm::media_sndfile (CMake) / mmllm_media_dep (meson); that
// also defines MMLLM_WITH_SNDFILE so decode_audio() (audio_decode.hpp) uses this decoder.
// Decoding runs from memory through libsndfile's virtual I/O; samples come back as floats
// in [-1, 1]. A stream that ends before the frame count its header announces is an error.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <sndfile.h>

#include "mmllm/core/result.hpp"
#include "mmllm/media/audio.hpp"

namespace mmllm::media {

namespace detail {

struct sndfile_memory {
  const std::uint8_t* data = nullptr;
  sf_count_t size = 0;
  sf_count_t pos = 0;
};

inline sf_count_t sndfile_len(void* user) { return static_cast<sndfile_memory*>(user)->size; }

inline sf_count_t sndfile_seek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<sndfile_memory*>(user);
  sf_count_t base = 0;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->size; break;
    default: return -1;
  }
  if ((offset > 0 && base > m->size - offset) || base + offset < 0) return -1;
  m->pos = base + offset;
  return m->pos;
}

inline sf_count_t sndfile_read(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<sndfile_memory*>(user);
  if (count <= 0 || m->pos >= m->size) return 0;
  const sf_count_t k = std::min(count, m->size - m->pos);
  std::memcpy(ptr, m->data + m->pos, static_cast<std::size_t>(k));
  m->pos += k;
  return k;
}

inline sf_count_t sndfile_write(const void*, sf_count_t, void*) { return 0; }
inline sf_count_t sndfile_tell(void* user) { return static_cast<sndfile_memory*>(user)->pos; }

struct sndfile_closer {
  void operator()(SNDFILE* f) const noexcept { sf_close(f); }
};

}  // namespace detail

/// Decodes any format libsndfile reads (here: MP3, FLAC, Ogg Vorbis/Opus, and its others);
/// more than `max_seconds` of audio is refused.
inline result<audio_frames> decode_sndfile(std::span<const std::uint8_t> bytes, double max_seconds = 3600.0) {
  detail::sndfile_memory mem{bytes.data(), static_cast<sf_count_t>(bytes.size()), 0};
  SF_VIRTUAL_IO io{&detail::sndfile_len, &detail::sndfile_seek, &detail::sndfile_read, &detail::sndfile_write,
                   &detail::sndfile_tell};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, detail::sndfile_closer> f(sf_open_virtual(&io, SFM_READ, &info, &mem));
  if (!f)
    return make_error(errc::malformed, "audio: libsndfile cannot open the data: ", sf_strerror(nullptr));
  if (info.channels <= 0 || info.channels > 32)
    return make_error(errc::unsupported, "audio: bad channel count");
  if (info.samplerate <= 0 || info.samplerate > 1'000'000)
    return make_error(errc::malformed, "audio: bad sample rate");
  const double cap = max_seconds * info.samplerate;
  const bool known = info.frames > 0 && info.frames < SF_COUNT_MAX;
  if (known && static_cast<double>(info.frames) > cap)
    return make_error(errc::resource_limit, "audio: longer than the limit of ", std::to_string(max_seconds),
                      " s");
  audio_frames out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  const auto ch = static_cast<std::size_t>(info.channels);
  if (known) out.samples.reserve(static_cast<std::size_t>(info.frames) * ch);
  constexpr sf_count_t block = 4096;
  sf_count_t total = 0;
  for (;;) {
    const std::size_t at = out.samples.size();
    out.samples.resize(at + static_cast<std::size_t>(block) * ch);
    const sf_count_t got = sf_readf_float(f.get(), out.samples.data() + at, block);
    out.samples.resize(at + static_cast<std::size_t>(std::max<sf_count_t>(got, 0)) * ch);
    if (got <= 0) break;
    total += got;
    if (static_cast<double>(total) > cap)
      return make_error(errc::resource_limit, "audio: longer than the limit of ", std::to_string(max_seconds),
                        " s");
  }
  if (sf_error(f.get()) != SF_ERR_NO_ERROR)
    return make_error(errc::malformed, "audio: decoding failed: ", sf_strerror(f.get()));
  if (total == 0) return make_error(errc::malformed, "audio: no samples");
  if (known && total < info.frames)
    return make_error(errc::truncated, "audio: stream ends after ", std::to_string(total), " of ",
                      std::to_string(info.frames), " frames");
  return out;
}

}  // namespace mmllm::media
