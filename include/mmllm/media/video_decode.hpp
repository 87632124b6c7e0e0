// mmllm/media/video_decode.hpp — video bytes → sampled RGB frames, when the build has FFmpeg.
//
// `decode_video(bytes, options)` checks that the bytes are a video container (sniffed:
// MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS, Ogg/Theora) and decodes it with FFmpeg
// (video_ffmpeg.hpp) when the build defines MMLLM_WITH_FFMPEG (CMake target
// mmllm::media_ffmpeg); otherwise it returns errc::unsupported, "video not supported in this
// build".
//
//   auto v = mmllm::media::decode_video(bytes);   // 4 fps, at most 64 frames
#pragma once

#include <cstdint>
#include <span>

#include "mmllm/core/result.hpp"
#include "mmllm/media/media_format.hpp"
#include "mmllm/media/video.hpp"

#if defined(MMLLM_WITH_FFMPEG)
#include "mmllm/media/video_ffmpeg.hpp"
#endif

namespace mmllm::media {

inline result<video_frames> decode_video(std::span<const std::uint8_t> bytes,
                                         const video_decode_options& opt = {}) {
  const media_format f = sniff_format(bytes);
  if (kind_of(f) != media_kind::video) {
    if (f == media_format::unknown) return make_error(errc::malformed, "video: unrecognised data");
    return make_error(errc::invalid_argument, "video: the data is ", to_string(kind_of(f)), " (",
                      to_string(f), "), not video");
  }
#if defined(MMLLM_WITH_FFMPEG)
  return decode_video_ffmpeg(bytes, opt);
#else
  (void)opt;
  return make_error(errc::unsupported,
                    "video not supported in this build (FFmpeg not linked; MMLLM_WITH_FFMPEG)");
#endif
}

}  // namespace mmllm::media
