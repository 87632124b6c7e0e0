// mmllm/media/video_ffmpeg.hpp — video frame sampling through FFmpeg (optional dependency).
//
// Needs libavformat, libavcodec, libavutil and libswscale (Debian: libav*-dev, libswscale-dev;
// CMake target mmllm::media_ffmpeg, which also defines MMLLM_WITH_FFMPEG so that
// decode_video() in video_decode.hpp uses this decoder). Decoding runs from memory through a
// custom AVIOContext with a fixed demuxer (the container sniffed from the bytes: MP4/MOV,
// Matroska/WebM, AVI, MPEG-TS/PS, Ogg), external references refused (io_open fails), and a
// single decoding thread (the caller's). The video stream is decoded sequentially; for each
// target time of video_sample_times() the first frame at or after it (half a frame early
// counts) is converted to RGB with libswscale; a frame is used at most once. A stream that
// ends well before the duration its container declares is reported as truncated.
//
//   auto v = mmllm::media::decode_video_ffmpeg(bytes, {});   // 4 fps, ≤ 64 frames
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
}

#include "mmllm/core/result.hpp"
#include "mmllm/media/media_format.hpp"
#include "mmllm/media/video.hpp"

namespace mmllm::media {

namespace detail {

struct ff_memory {
  const std::uint8_t* data = nullptr;
  std::int64_t size = 0;
  std::int64_t pos = 0;
};

inline int ff_read(void* opaque, std::uint8_t* buf, int n) {
  auto* m = static_cast<ff_memory*>(opaque);
  if (n <= 0) return 0;
  if (m->pos >= m->size) return AVERROR_EOF;
  const std::int64_t k = std::min<std::int64_t>(n, m->size - m->pos);
  std::memcpy(buf, m->data + m->pos, static_cast<std::size_t>(k));
  m->pos += k;
  return static_cast<int>(k);
}

inline std::int64_t ff_seek(void* opaque, std::int64_t offset, int whence) {
  auto* m = static_cast<ff_memory*>(opaque);
  if (whence & AVSEEK_SIZE) return m->size;
  std::int64_t base = 0;
  switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->size; break;
    default: return AVERROR(EINVAL);
  }
  if ((offset > 0 && base > m->size - offset) || base + offset < 0) return AVERROR(EINVAL);
  m->pos = base + offset;
  return m->pos;
}

/// Demuxers may ask to open further files or URLs (playlists, data references): refused.
inline int ff_refuse_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}

inline std::string ff_error(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, buf, sizeof buf);
  return buf;
}

inline const char* ff_demuxer_name(media_format f) noexcept {
  switch (f) {
    case media_format::mp4: return "mp4";
    case media_format::matroska: return "matroska";
    case media_format::avi: return "avi";
    case media_format::mpeg_ts: return "mpegts";
    case media_format::mpeg_ps: return "mpeg";
    case media_format::ogg_video: return "ogg";
    default: return nullptr;
  }
}

struct ff_io_deleter {
  void operator()(AVIOContext* io) const noexcept {
    if (io != nullptr) av_freep(static_cast<void*>(&io->buffer));
    avio_context_free(&io);
  }
};
struct ff_format_deleter {
  void operator()(AVFormatContext* f) const noexcept { avformat_close_input(&f); }
};
struct ff_codec_deleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct ff_frame_deleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct ff_packet_deleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct ff_sws_deleter {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};

}  // namespace detail

/// Samples frames of the video stream in `bytes` (a container sniffed as video).
inline result<video_frames> decode_video_ffmpeg(std::span<const std::uint8_t> bytes,
                                                const video_decode_options& opt = {}) {
  const char* demuxer = detail::ff_demuxer_name(sniff_format(bytes));
  if (demuxer == nullptr) return make_error(errc::invalid_argument, "video: not a supported video container");
  const AVInputFormat* input = av_find_input_format(demuxer);
  if (input == nullptr)
    return make_error(errc::unsupported, "video: this FFmpeg lacks the ", demuxer, " demuxer");

  detail::ff_memory mem{bytes.data(), static_cast<std::int64_t>(bytes.size()), 0};
  constexpr int io_size = 1 << 16;
  auto* io_buf = static_cast<unsigned char*>(av_malloc(io_size));
  if (io_buf == nullptr) return make_error(errc::resource_limit, "video: out of memory");
  std::unique_ptr<AVIOContext, detail::ff_io_deleter> io(
      avio_alloc_context(io_buf, io_size, 0, &mem, &detail::ff_read, nullptr, &detail::ff_seek));
  if (!io) {
    av_free(io_buf);
    return make_error(errc::resource_limit, "video: out of memory");
  }
  AVFormatContext* raw_fmt = avformat_alloc_context();
  if (raw_fmt == nullptr) return make_error(errc::resource_limit, "video: out of memory");
  raw_fmt->pb = io.get();
  raw_fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw_fmt->io_open = &detail::ff_refuse_open;
  int rc = avformat_open_input(&raw_fmt, nullptr, input, nullptr);  // frees raw_fmt on failure
  if (rc < 0) return make_error(errc::malformed, "video: cannot open the container: ", detail::ff_error(rc));
  std::unique_ptr<AVFormatContext, detail::ff_format_deleter> fmt(raw_fmt);
  rc = avformat_find_stream_info(fmt.get(), nullptr);
  if (rc < 0) return make_error(errc::malformed, "video: cannot read stream info: ", detail::ff_error(rc));
  const int vs = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vs < 0) return make_error(errc::malformed, "video: no video stream");
  AVStream* stream = fmt->streams[vs];
  const AVCodecParameters* par = stream->codecpar;
  if (par->width <= 0 || par->height <= 0) return make_error(errc::malformed, "video: bad frame size");
  if (static_cast<std::size_t>(par->width) * static_cast<std::size_t>(par->height) > opt.max_pixels)
    return make_error(errc::resource_limit, "video: frames of ", std::to_string(par->width), "x",
                      std::to_string(par->height), " exceed the pixel limit");
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (codec == nullptr)
    return make_error(errc::unsupported, "video: no decoder for codec '", avcodec_get_name(par->codec_id),
                      "'");
  std::unique_ptr<AVCodecContext, detail::ff_codec_deleter> ctx(avcodec_alloc_context3(codec));
  if (!ctx) return make_error(errc::resource_limit, "video: out of memory");
  rc = avcodec_parameters_to_context(ctx.get(), par);
  if (rc < 0) return make_error(errc::malformed, "video: bad codec parameters: ", detail::ff_error(rc));
  ctx->thread_count = 1;  // no threads besides the caller's
  ctx->thread_type = 0;
  rc = avcodec_open2(ctx.get(), codec, nullptr);
  if (rc < 0) return make_error(errc::malformed, "video: cannot open the decoder: ", detail::ff_error(rc));

  video_frames out;
  const double tb = av_q2d(stream->time_base);
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    out.duration_seconds = static_cast<double>(stream->duration) * tb;
  } else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    out.duration_seconds = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  }
  if (stream->avg_frame_rate.num > 0 && stream->avg_frame_rate.den > 0)
    out.source_fps = av_q2d(stream->avg_frame_rate);
  if (out.duration_seconds > opt.max_seconds)
    return make_error(errc::resource_limit, "video: longer than the limit of ",
                      std::to_string(opt.max_seconds), " s");
  const std::vector<double> targets = video_sample_times(out.duration_seconds, opt);
  const double half_frame = out.source_fps > 0 ? 0.5 / out.source_fps : 0.0;
  const std::int64_t start = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;

  std::unique_ptr<AVPacket, detail::ff_packet_deleter> pkt(av_packet_alloc());
  std::unique_ptr<AVFrame, detail::ff_frame_deleter> frame(av_frame_alloc());
  if (!pkt || !frame) return make_error(errc::resource_limit, "video: out of memory");
  std::unique_ptr<SwsContext, detail::ff_sws_deleter> sws;
  std::size_t next = 0;
  double last_time = -1;
  int decoded = 0;

  auto take = [&](const AVFrame* f) -> result<void> {
    ++decoded;
    const std::int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    const double t =
        pts != AV_NOPTS_VALUE ? static_cast<double>(pts - start) * tb : last_time + half_frame * 2;
    last_time = std::max(last_time, t);
    if (next >= targets.size() || t + half_frame < targets[next]) return ok();
    while (next < targets.size() && targets[next] <= t + half_frame) ++next;
    if (f->width <= 0 || f->height <= 0 ||
        static_cast<std::size_t>(f->width) * static_cast<std::size_t>(f->height) > opt.max_pixels)
      return make_error(errc::resource_limit, "video: a frame exceeds the pixel limit");
    SwsContext* s =
        sws_getCachedContext(sws.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                             f->width, f->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr);
    sws.reset(s);
    if (!sws) return make_error(errc::unsupported, "video: cannot convert the frame's pixel format");
    video_frame vf;
    vf.timestamp_seconds = t;
    vf.image.width = f->width;
    vf.image.height = f->height;
    vf.image.pixels.resize(vf.image.pixel_count() * 3);
    std::uint8_t* dst[4] = {vf.image.pixels.data(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {f->width * 3, 0, 0, 0};
    if (sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, dst_stride) != f->height)
      return make_error(errc::malformed, "video: frame conversion failed");
    out.frames.push_back(std::move(vf));
    return ok();
  };
  auto drain = [&]() -> result<void> {
    for (;;) {
      const int r = avcodec_receive_frame(ctx.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return ok();
      if (r < 0) return ok();  // a broken frame: concealment failed, skip it
      auto t = take(frame.get());
      av_frame_unref(frame.get());
      if (!t) return t;
    }
  };

  bool read_error = false;
  std::string read_error_text;
  while (next < targets.size()) {
    rc = av_read_frame(fmt.get(), pkt.get());
    if (rc < 0) {
      if (rc != AVERROR_EOF) {
        read_error = true;
        read_error_text = detail::ff_error(rc);
      }
      break;
    }
    if (pkt->stream_index == vs) {
      const int s = avcodec_send_packet(ctx.get(), pkt.get());
      av_packet_unref(pkt.get());
      if (s < 0 && s != AVERROR(EAGAIN) && s != AVERROR_INVALIDDATA)
        return make_error(errc::malformed, "video: decoding failed: ", detail::ff_error(s));
      MMLLM_TRY(drain());
    } else {
      av_packet_unref(pkt.get());
    }
  }
  if (next < targets.size()) {  // flush delayed frames
    avcodec_send_packet(ctx.get(), nullptr);
    MMLLM_TRY(drain());
  }
  if (out.frames.empty()) {
    if (read_error) return make_error(errc::malformed, "video: reading failed: ", read_error_text);
    return make_error(errc::malformed, "video: no decodable frames");
  }
  if (next < targets.size() && out.duration_seconds > 0 &&
      last_time + 2 * half_frame + 0.25 < out.duration_seconds * 0.9)
    return make_error(errc::truncated, "video: the stream ends at ", std::to_string(last_time), " s of ",
                      std::to_string(out.duration_seconds), " s");
  if (read_error) return make_error(errc::malformed, "video: reading failed: ", read_error_text);
  return out;
}

}  // namespace mmllm::media
