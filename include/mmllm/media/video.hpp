// mmllm/media/video.hpp — sampled video frames and how to sample them (no dependencies).
//
// A video becomes a list of RGB frames (image_u8) with their timestamps, sampled at a
// requested rate (default 4 frames per second, as the default) or as a fixed number of
// evenly spaced frames, never more than `max_frames`. The decoder itself is FFmpeg
// (video_ffmpeg.hpp); video_decode.hpp picks it when the build has it.
//
//   mmllm::media::video_decode_options opt;   // 4 fps, at most 64 frames
//   opt.frame_count = 16;                     // or: exactly 16 evenly spaced frames
#pragma once

#include <cstddef>
#include <vector>

#include "mmllm/media/image.hpp"

namespace mmllm::media {

struct video_decode_options {
  double fps = 4.0;     ///< frames per second of video to keep (when frame_count == 0)
  int frame_count = 0;  ///< > 0: exactly this many frames, evenly spaced over the duration
  int max_frames = 64;  ///< cap; a longer video at `fps` is sampled evenly with this many
  std::size_t max_pixels = std::size_t{1} << 25;  ///< per frame (width × height), checked before decoding
  double max_seconds = 3 * 3600.0;                ///< longest accepted video
};

struct video_frame {
  double timestamp_seconds = 0;  ///< presentation time of the decoded frame
  image_u8 image;
};

struct video_frames {
  std::vector<video_frame> frames;
  double duration_seconds = 0;  ///< 0 when the container does not say
  double source_fps = 0;        ///< average frame rate of the stream, 0 when unknown
};

/// Target timestamps (seconds) for a video of `duration` seconds (0: unknown) as `opt` says.
inline std::vector<double> video_sample_times(double duration, const video_decode_options& opt) {
  std::vector<double> t;
  const int cap = opt.max_frames > 0 ? opt.max_frames : 1;
  if (opt.frame_count > 0 && duration > 0) {
    const int n = opt.frame_count < cap ? opt.frame_count : cap;
    for (int i = 0; i < n; ++i) t.push_back(duration * i / n);
    return t;
  }
  const double fps = opt.fps > 0 ? opt.fps : 4.0;
  if (duration <= 0) {  // unknown length: every 1/fps seconds until the cap
    for (int i = 0; i < cap; ++i) t.push_back(i / fps);
    return t;
  }
  const auto wanted = static_cast<long long>(duration * fps) + 1;
  if (wanted <= cap) {
    for (long long i = 0; i < wanted && static_cast<double>(i) / fps < duration; ++i)
      t.push_back(static_cast<double>(i) / fps);
  } else {
    for (int i = 0; i < cap; ++i) t.push_back(duration * i / cap);
  }
  return t;
}

}  // namespace mmllm::media
