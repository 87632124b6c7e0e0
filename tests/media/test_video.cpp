// Video: frame sampling through FFmpeg on videos the test encodes itself (each frame's
// brightness encodes its index), sampling plans, limits, truncation; or the clear error of a
// build without FFmpeg.
#include <mmllm/media/video_decode.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;

TEST_CASE("sampling plans") {
  media::video_decode_options o;  // 4 fps, ≤ 64 frames
  CHECK(media::video_sample_times(2.5, o).size() == 10);
  CHECK(media::video_sample_times(2.5, o)[3] == 0.75);
  CHECK(media::video_sample_times(100.0, o).size() == 64);  // capped, evenly spread
  CHECK(media::video_sample_times(100.0, o)[32] == 50.0);
  CHECK(media::video_sample_times(0.0, o).size() == 64);  // unknown length
  o.frame_count = 5;
  const auto t = media::video_sample_times(2.0, o);
  REQUIRE(t.size() == 5);
  CHECK(t[4] == Approx(1.6));
}

#if defined(MMLLM_WITH_FFMPEG)
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace {

/// Encodes `n` frames of w×h gray video at `fps`; frame k has luma 20 + 8k. Returns the file.
std::vector<std::uint8_t> encode_video(const char* container, const char* codec_name, int n, int fps,
                                       int w = 64, int h = 48) {
  std::random_device rd;
  const auto path = std::filesystem::temp_directory_path() / ("mmllm-video-test-" + std::to_string(rd()));
  AVFormatContext* oc = nullptr;
  REQUIRE(avformat_alloc_output_context2(&oc, nullptr, container, path.c_str()) >= 0);
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name);
  REQUIRE(codec != nullptr);
  AVStream* st = avformat_new_stream(oc, nullptr);
  AVCodecContext* c = avcodec_alloc_context3(codec);
  c->width = w;
  c->height = h;
  c->time_base = AVRational{1, fps};
  c->framerate = AVRational{fps, 1};
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->gop_size = 5;
  c->flags |= AV_CODEC_FLAG_QSCALE;
  c->global_quality = FF_QP2LAMBDA * 2;
  c->thread_count = 1;
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  REQUIRE(avcodec_open2(c, codec, nullptr) >= 0);
  REQUIRE(avcodec_parameters_from_context(st->codecpar, c) >= 0);
  st->time_base = c->time_base;
  REQUIRE(avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE) >= 0);
  REQUIRE(avformat_write_header(oc, nullptr) >= 0);
  AVFrame* frame = av_frame_alloc();
  frame->format = c->pix_fmt;
  frame->width = w;
  frame->height = h;
  REQUIRE(av_frame_get_buffer(frame, 0) >= 0);
  AVPacket* pkt = av_packet_alloc();
  auto write_packets = [&] {
    while (avcodec_receive_packet(c, pkt) >= 0) {
      av_packet_rescale_ts(pkt, c->time_base, st->time_base);
      pkt->stream_index = st->index;
      REQUIRE(av_interleaved_write_frame(oc, pkt) >= 0);
    }
  };
  for (int k = 0; k < n; ++k) {
    REQUIRE(av_frame_make_writable(frame) >= 0);
    for (int y = 0; y < h; ++y)
      std::fill_n(frame->data[0] + y * frame->linesize[0], w, std::uint8_t(20 + 8 * k));
    for (int p = 1; p < 3; ++p)
      for (int y = 0; y < h / 2; ++y)
        std::fill_n(frame->data[p] + y * frame->linesize[p], w / 2, std::uint8_t(128));
    frame->pts = k;
    REQUIRE(avcodec_send_frame(c, frame) >= 0);
    write_packets();
  }
  avcodec_send_frame(c, nullptr);
  write_packets();
  REQUIRE(av_write_trailer(oc) >= 0);
  avio_closep(&oc->pb);
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&c);
  avformat_free_context(oc);
  std::ifstream f(path, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  std::filesystem::remove(path);
  return bytes;
}

/// The source frame index encoded in a decoded (gray) frame: luma 20 + 8k, BT.601 limited range.
int frame_index(const media::image_u8& img) {
  double sum = 0;
  for (std::size_t i = 0; i < img.pixels.size(); i += 3) sum += img.pixels[i];
  const double r = sum / double(img.pixel_count());
  const double luma = r * 219.0 / 255.0 + 16.0;
  return static_cast<int>(std::lround((luma - 20.0) / 8.0));
}

}  // namespace

TEST_CASE("video: frames sampled at the requested rate pick the right source frames") {
  const auto mkv = encode_video("matroska", "ffv1", 25, 10);  // 2.5 s at 10 fps
  CHECK(media::sniff_format(mkv) == media::media_format::matroska);
  media::video_decode_options opt;
  opt.fps = 3;  // targets i/3 s; expected source frame: first with k/10 >= i/3 - 0.05
  auto v = media::decode_video(mkv, opt);
  if (!v) FAIL(v.error().what());
  CHECK(v->duration_seconds == Approx(2.5).margin(0.11));
  CHECK(v->source_fps == Approx(10.0));
  REQUIRE(v->frames.size() == 8);  // 0, 1/3, …, 7/3
  for (std::size_t i = 0; i < v->frames.size(); ++i) {
    INFO("sample " << i);
    const int want = static_cast<int>(std::ceil(10.0 * double(i) / 3.0 - 0.5));
    CHECK(frame_index(v->frames[i].image) == want);
    CHECK(v->frames[i].timestamp_seconds == Approx(want / 10.0));
    CHECK(v->frames[i].image.width == 64);
    CHECK(v->frames[i].image.height == 48);
  }
  // Evenly spaced plans use the duration the container declares (Matroska: 2.4 s here, the
  // last frame's start).
  const double d = v->duration_seconds;
  auto expected = [](double target) { return static_cast<int>(std::ceil(10.0 * target - 0.5)); };
  opt.frame_count = 5;
  auto five = media::decode_video(mkv, opt);
  REQUIRE(five);
  REQUIRE(five->frames.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(frame_index(five->frames[std::size_t(i)].image) == expected(d * i / 5));
  opt.frame_count = 0;
  opt.fps = 4;
  opt.max_frames = 3;  // 10 wanted → 3 evenly spread
  auto capped = media::decode_video(mkv, opt);
  REQUIRE(capped);
  REQUIRE(capped->frames.size() == 3);
  CHECK(frame_index(capped->frames[1].image) == expected(d / 3));
  CHECK(frame_index(capped->frames[2].image) == expected(2 * d / 3));
}

TEST_CASE("video: MP4 / MPEG-4 part 2 with default options") {
  const auto mp4 = encode_video("mp4", "mpeg4", 20, 8);  // 2.5 s at 8 fps
  CHECK(media::sniff_format(mp4) == media::media_format::mp4);
  auto v = media::decode_video(mp4);
  if (!v) FAIL(v.error().what());
  REQUIRE(v->frames.size() == 10);  // 4 fps over 2.5 s
  for (std::size_t i = 1; i < v->frames.size(); ++i)
    CHECK(v->frames[i].timestamp_seconds > v->frames[i - 1].timestamp_seconds);
  CHECK(std::abs(frame_index(v->frames[4].image) - 8) <= 1);  // t = 1.0 s → frame 8 (lossy codec)
}

TEST_CASE("video: limits, truncation, non-video input") {
  const auto mkv = encode_video("matroska", "ffv1", 25, 10);
  media::video_decode_options opt;
  opt.max_pixels = 64 * 48 - 1;
  CHECK(media::decode_video(mkv, opt).error().code == mmllm::errc::resource_limit);
  opt = {};
  opt.max_seconds = 1.0;
  CHECK(media::decode_video(mkv, opt).error().code == mmllm::errc::resource_limit);
  for (const std::size_t cut : {std::size_t(4), std::size_t(40), mkv.size() / 3, mkv.size() / 2}) {
    INFO("cut at " << cut << " of " << mkv.size());
    const std::vector<std::uint8_t> part(mkv.begin(), mkv.begin() + std::ptrdiff_t(cut));
    CHECK_FALSE(media::decode_video(part));
  }
  const auto png = mmllm::test::read_bytes(mmllm::test::fixture_path("media/hopper.png"));
  CHECK(media::decode_video(png).error().code == mmllm::errc::invalid_argument);
  std::vector<std::uint8_t> junk(5000, 0x47);  // looks like MPEG-TS sync bytes, is not
  CHECK_FALSE(media::decode_video(junk));
}
#else
TEST_CASE("video without FFmpeg is a clear error") {
  std::vector<std::uint8_t> mkv = {0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0};
  auto r = media::decode_video(mkv);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::unsupported);
  CHECK(r.error().message.find("not supported in this build") != std::string::npos);
}
#endif
