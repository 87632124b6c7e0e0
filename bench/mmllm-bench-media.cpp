// mmllm-bench-media: timings of the media layer on one core (the calling thread).
//
//   mmllm-bench-media [fixtures-dir] [--reps N]
//
// Prints the median and minimum CPU time of the thread (and the median wall time) over N
// repetitions (default 15) of: whisper log-mel of
// 30 s of audio (80 and 128 bins), resampling 30 s from 44.1 kHz, WAV/MP3 decoding, JPEG
// decoding and the encoders' image preprocessing of test-1.jpeg (640×488), content hashing.
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/media/content_hash.hpp>
#include <mmllm/media/image_decode.hpp>
#include <mmllm/media/image_normalize.hpp>
#include <mmllm/media/image_resize.hpp>
#include <mmllm/media/image_tiling.hpp>
#include <mmllm/media/whisper_log_mel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#ifndef MMLLM_FIXTURES_DIR
#define MMLLM_FIXTURES_DIR "../shared/fixtures"
#endif

namespace media = mmllm::media;

namespace {

int g_reps = 15;
volatile double g_sink = 0;  // keeps results alive

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "mmllm-bench-media: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// CPU time of the calling thread in ms (robust when other processes share the cores).
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

template <class F>
void bench(const char* name, F&& f) {
  std::vector<double> wall, cpu;
  f();  // warm-up (tables, caches)
  for (int i = 0; i < g_reps; ++i) {
    const double c0 = thread_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    cpu.push_back(thread_cpu_ms() - c0);
    wall.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("%-54s cpu median %8.3f ms  min %8.3f ms | wall median %8.3f ms\n", name, cpu[cpu.size() / 2],
              cpu.front(), wall[wall.size() / 2]);
}

template <class T>
T must(mmllm::result<T>&& r) {
  if (!r) {
    std::fprintf(stderr, "mmllm-bench-media: %s\n", r.error().what().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = MMLLM_FIXTURES_DIR;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      g_reps = std::max(1, std::atoi(argv[++i]));
    } else {
      dir = a;
    }
  }
  const auto wav = read_file(dir + "/media/jfk.wav");
  const auto mp3 = read_file(dir + "/media/jfk.mp3");
  const auto jpeg = read_file(dir + "/media/test-1.jpeg");

  // 30 s of speech: jfk.wav (11 s) repeated.
  const media::audio_pcm jfk = must(media::decode_audio(wav));
  media::audio_pcm speech30{16000, {}};
  while (speech30.samples.size() < 480000)
    speech30.samples.insert(speech30.samples.end(), jfk.samples.begin(), jfk.samples.end());
  speech30.samples.resize(480000 - 1);  // just under 30 s: one chunk, as most requests
  media::audio_pcm at44k{44100, std::vector<float>(44100 * 30)};
  for (std::size_t i = 0; i < at44k.samples.size(); ++i)
    at44k.samples[i] = speech30.samples[i * 16000 / 44100];

  std::printf("media benchmarks (one thread, %d repetitions)\n", g_reps);
  bench("whisper_log_mel_chunks_peer 30 s, 128 mel",
        [&] { g_sink = must(media::whisper_log_mel_chunks_peer(speech30, 128))[0].data[12345]; });
  bench("whisper_log_mel_chunks_peer 30 s, 80 mel",
        [&] { g_sink = must(media::whisper_log_mel_chunks_peer(speech30, 80))[0].data[12345]; });
  bench("resample 30 s 44.1 kHz -> 16 kHz",
        [&] { g_sink = must(media::resample(at44k, 16000)).samples[1000]; });
  bench("decode_audio jfk.wav (11 s, 16 kHz)",
        [&] { g_sink = must(media::decode_audio(wav)).samples[1000]; });
#if defined(MMLLM_WITH_SNDFILE)
  bench("decode_audio jfk.mp3 (11 s, libsndfile)",
        [&] { g_sink = must(media::decode_audio(mp3)).samples[1000]; });
#endif

  const auto opt = media::image_decode_options::llama_cpp();
  const media::image_u8 img = must(media::decode_image(jpeg, opt));
  bench("decode_image test-1.jpeg (640x488)",
        [&] { g_sink = must(media::decode_image(jpeg, opt)).pixels[77]; });
  bench("LLaVA: letterbox 336 + normalize", [&] {
    const auto boxed = must(media::letterbox(img, 336, 336, {122, 116, 104}));
    g_sink = must(media::normalize(boxed, media::clip_image_mean, media::clip_image_std)).data[5];
  });
  bench("Qwen2-VL: smart resize 644x504 + normalize + patchify", [&] {
    const auto r = must(media::qwen2vl_resize(img, 14, 8 * 28 * 28, 4096 * 28 * 28));
    const auto x = must(media::normalize(r, media::clip_image_mean, media::clip_image_std));
    g_sink = must(media::patchify(x, 14)).data[3];
  });
  bench("Idefics3: tiles 512 / longest edge 1536 (bicubic)",
        [&] { g_sink = static_cast<double>(must(media::idefics3_tiles(img, 512, 1536)).tiles.size()); });
  bench("content_hash of the decoded image",
        [&] { g_sink = static_cast<double>(media::content_hash(img).lo); });
  return 0;
}
