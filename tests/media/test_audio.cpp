// Audio: WAV decoding, MP3/FLAC through libsndfile, downmix, resampling, whisper log-mel
// against the peer's recorded spectrogram and filterbank.
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/media/whisper_log_mel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;
using mmllm::test::fixture_path;
using mmllm::test::read_bytes;

namespace {

/// jfk.wav's samples read straight from its data chunk (independent of the decoder).
std::vector<float> jfk_reference() {
  const auto b = read_bytes(fixture_path("media/jfk.wav"));
  std::size_t at = 12;
  while (at + 8 <= b.size()) {
    std::uint32_t size = 0;
    std::memcpy(&size, b.data() + at + 4, 4);
    if (std::memcmp(b.data() + at, "data", 4) == 0) {
      std::vector<float> out(size / 2);
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::int16_t v = 0;
        std::memcpy(&v, b.data() + at + 8 + 2 * i, 2);
        out[i] = float(v) / 32768.0f;
      }
      return out;
    }
    at += 8 + size + (size & 1);
  }
  FAIL("no data chunk in jfk.wav");
  return {};
}

void put_u32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(std::uint8_t(x >> (8 * i)));
}
void put_u16(std::vector<std::uint8_t>& v, unsigned x) {
  v.push_back(std::uint8_t(x));
  v.push_back(std::uint8_t(x >> 8));
}

/// A WAV file with the given sample format holding `frames` (interleaved, in [-1, 1)).
std::vector<std::uint8_t> make_wav(const std::vector<double>& frames, int channels, int rate, int format,
                                   int bits, bool extensible = false) {
  std::vector<std::uint8_t> data;
  for (const double s : frames) {
    if (format == 3 && bits == 32) {
      const float f = float(s);
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      put_u32(data, u);
    } else if (format == 3) {
      std::uint64_t u;
      std::memcpy(&u, &s, 8);
      put_u32(data, std::uint32_t(u));
      put_u32(data, std::uint32_t(u >> 32));
    } else if (bits == 8) {
      data.push_back(std::uint8_t(std::lround(s * 128.0) + 128));
    } else {
      const auto v = static_cast<std::int64_t>(std::llround(s * std::ldexp(1.0, bits - 1)));
      for (int i = 0; i < bits / 8; ++i)
        data.push_back(std::uint8_t(static_cast<std::uint64_t>(v) >> (8 * i)));
    }
  }
  std::vector<std::uint8_t> w = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'};
  // an unrelated chunk first (odd size, padded), as real files have LIST/INFO chunks
  w.insert(w.end(), {'L', 'I', 'S', 'T'});
  put_u32(w, 3);
  w.insert(w.end(), {'a', 'b', 'c', 0});
  w.insert(w.end(), {'f', 'm', 't', ' '});
  put_u32(w, extensible ? 40 : 16);
  put_u16(w, extensible ? 0xFFFE : unsigned(format));
  put_u16(w, unsigned(channels));
  put_u32(w, std::uint32_t(rate));
  put_u32(w, std::uint32_t(rate * channels * bits / 8));
  put_u16(w, unsigned(channels * bits / 8));
  put_u16(w, unsigned(bits));
  if (extensible) {
    put_u16(w, 22);
    put_u16(w, unsigned(bits));
    put_u32(w, 0);
    put_u16(w, unsigned(format));  // sub-format GUID: format tag + the fixed suffix
    w.insert(w.end(), {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71});
  }
  w.insert(w.end(), {'d', 'a', 't', 'a'});
  put_u32(w, std::uint32_t(data.size()));
  w.insert(w.end(), data.begin(), data.end());
  const auto riff = std::uint32_t(w.size() - 8);
  std::memcpy(w.data() + 4, &riff, 4);
  return w;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

std::vector<float> sine(int rate, double hz, std::size_t n, double amp = 0.5) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = float(amp * std::sin(2 * std::numbers::pi * hz * double(i) / rate));
  return v;
}

}  // namespace

TEST_CASE("jfk.wav decodes to int16 / 32768 exactly (as the peer's miniaudio)") {
  auto pcm = media::decode_audio(read_bytes(fixture_path("media/jfk.wav")));
  REQUIRE(pcm);
  CHECK(pcm->sample_rate == 16000);
  REQUIRE(pcm->samples.size() == 176000);
  CHECK(pcm->samples == jfk_reference());
}

TEST_CASE("mel filterbank: computed Slaney bank equals whisper's 128-bin table") {
  const auto ref = mmllm::test::read_f32(fixture_path("synthetic/mm/_common/mel_filters_128x201.f32"));
  const auto w = media::mel_filterbank(128);
  REQUIRE(w.size() == ref.size());
  double max_diff = 0, max_val = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(double(w[i]) - double(ref[i])));
    max_val = std::max(max_val, double(ref[i]));
    // the same sparsity pattern (triangles)
    REQUIRE((w[i] == 0) == (ref[i] == 0));
  }
  INFO("max |diff| = " << max_diff << ", max value " << max_val);
  CHECK(max_diff < 1e-8);
  // 80 bins (whisper v1/v2): triangles of unit area in Hz (2 / width × width / 2), where a
  // triangle spans enough 40 Hz bins for the sum to approximate the integral.
  const auto w80 = media::mel_filterbank(80);
  REQUIRE(w80.size() == 80 * 201);
  int wide = 0;
  for (int m = 0; m < 80; ++m) {
    double area = 0;
    int nonzero = 0;
    for (int k = 0; k < 201; ++k) {
      CHECK(w80[m * 201 + k] >= 0);
      area += w80[m * 201 + k] * 40.0;
      nonzero += w80[m * 201 + k] > 0;
    }
    if (nonzero >= 8) {
      ++wide;
      CHECK(std::abs(area - 1.0) < 0.02);
    }
  }
  CHECK(wide >= 15);
}

TEST_CASE("whisper log-mel of jfk.wav matches the peer's chunk") {
  const auto ref = mmllm::test::read_f32(fixture_path("synthetic/mm/_media/jfk.wav.mel128_chunk0.f32"));
  REQUIRE(ref.size() == 128 * 3000);
  media::audio_pcm pcm{16000, jfk_reference()};
  auto chunks = media::whisper_log_mel_chunks_peer(pcm, 128);
  REQUIRE(chunks);
  REQUIRE(chunks->size() == 1);  // 11 s: 4100 frames, the partial second chunk is dropped
  const auto& c = (*chunks)[0];
  REQUIRE(c.n_mel == 128);
  REQUIRE(c.n_frames == 3000);
  const double d = max_abs_diff(c.data, ref);
  INFO("max |diff| with the computed filterbank: " << d);
  CHECK(d < 1e-4);
  // With the peer's own filter table the FFT, power, sums, log and clamp are the peer's
  // operations exactly: the spectrogram is bit-identical.
  const auto filters = mmllm::test::read_f32(fixture_path("synthetic/mm/_common/mel_filters_128x201.f32"));
  auto full = media::whisper_log_mel(pcm.samples, filters, 128);
  REQUIRE(full);
  CHECK(full->n_frames == (176000 + 480000) / 160);
  const auto exact = media::split_mel_chunks(*full, pcm.samples.size());
  REQUIRE(exact.size() == 1);
  const double d_exact = max_abs_diff(exact[0].data, ref);
  INFO("max |diff| with the peer's table: " << d_exact);
  CHECK(d_exact == 0.0);
}

TEST_CASE("mel chunking: the peer's count and the cover-audio alternative") {
  struct expect {
    std::size_t n;
    std::size_t peer, cover;
  };
  for (const expect e : {expect{160, 1, 1}, expect{176000, 1, 1}, expect{479999, 1, 1}, expect{480000, 2, 1},
                         expect{496000, 2, 2}, expect{960000, 3, 2}}) {
    INFO("samples " << e.n);
    std::vector<float> x(e.n, 0.0f);
    for (std::size_t i = 0; i < e.n; i += 97) x[i] = 0.25f;
    auto full = media::whisper_log_mel(x, 80);
    REQUIRE(full);
    CHECK(std::size_t(full->n_frames) == (e.n + 480000) / 160);
    CHECK(media::split_mel_chunks(*full, e.n).size() == e.peer);
    CHECK(media::split_mel_chunks(*full, e.n, media::mel_chunking::cover_audio).size() == e.cover);
  }
  media::audio_pcm wrong_rate{44100, std::vector<float>(1000, 0.0f)};
  CHECK_FALSE(media::whisper_log_mel_chunks_peer(wrong_rate));
  CHECK_FALSE(media::whisper_log_mel(std::vector<float>{}, 128));
  CHECK_FALSE(media::whisper_log_mel(std::vector<float>(100, 0.1f), 64));
  // Very short audio (shorter than the 200-sample reflection) still works.
  auto tiny = media::whisper_log_mel(std::vector<float>(50, 0.1f), 128);
  REQUIRE(tiny);
  CHECK(tiny->n_frames == (50 + 480000) / 160);
}

TEST_CASE("log-mel of a pure tone peaks in the right mel bin") {
  // 1 kHz: Slaney mel 15 → bin position 15 / (mel(8 kHz) / 129) among 128 triangles.
  media::audio_pcm pcm{16000, sine(16000, 1000.0, 16000)};
  auto chunks = media::whisper_log_mel_chunks_peer(pcm, 128);
  REQUIRE(chunks);
  const auto& m = (*chunks)[0];
  int best = 0;
  for (int j = 1; j < 128; ++j)
    if (m.at(j, 50) > m.at(best, 50)) best = j;
  const double mel_max = 15.0 + std::log(8000.0 / 1000.0) / (std::log(6.4) / 27.0);
  const double centre = 15.0 / (mel_max / 129.0) - 1.0;  // triangle j peaks at mel point j + 1
  CHECK(std::abs(best - centre) <= 1.0);
  CHECK(m.at(best, 50) == Approx((*std::max_element(m.data.begin(), m.data.end()))));
}

TEST_CASE("WAV sample formats, channels, extensible header") {
  std::vector<double> mono(1000), stereo(2000);
  for (int i = 0; i < 1000; ++i) {
    mono[i] = 0.9 * std::sin(i * 0.05) - 0.05;
    stereo[2 * i] = mono[i];
    stereo[2 * i + 1] = -0.5 * mono[i];
  }
  struct fmt {
    int format, bits;
    double tol;
  };
  for (const fmt f : {fmt{1, 8, 1.0 / 128}, fmt{1, 16, 1.0 / 32768}, fmt{1, 24, 1.0 / 8388608},
                      fmt{1, 32, 1e-7}, fmt{3, 32, 1e-7}, fmt{3, 64, 1e-7}}) {
    for (const bool ext : {false, true}) {
      INFO("format " << f.format << " bits " << f.bits << " extensible " << ext);
      auto frames = media::decode_audio_frames(make_wav(stereo, 2, 22050, f.format, f.bits, ext));
      REQUIRE(frames);
      CHECK(frames->channels == 2);
      CHECK(frames->sample_rate == 22050);
      REQUIRE(frames->samples.size() == stereo.size());
      for (std::size_t i = 0; i < stereo.size(); ++i)
        REQUIRE(std::abs(frames->samples[i] - stereo[i]) <= f.tol);
      const auto m = media::downmix_to_mono(*frames);
      REQUIRE(m.samples.size() == 1000);
      CHECK(std::abs(m.samples[10] - 0.25 * mono[10]) <= f.tol);
    }
  }
  // decode_audio: mono, resampled to 16 kHz.
  auto pcm = media::decode_audio(make_wav(mono, 1, 8000, 1, 16));
  REQUIRE(pcm);
  CHECK(pcm->sample_rate == 16000);
  CHECK(pcm->samples.size() == 2000);
  media::audio_decode_options keep;
  keep.target_sample_rate = 0;
  CHECK(media::decode_audio(make_wav(mono, 1, 8000, 1, 16), keep)->sample_rate == 8000);
}

TEST_CASE("WAV errors: truncation, bad headers, limits, unsupported formats") {
  std::vector<double> s(4000, 0.25);
  const auto w = make_wav(s, 1, 16000, 1, 16);
  REQUIRE(media::decode_audio(w));
  for (std::size_t cut : {std::size_t(0), std::size_t(4), std::size_t(11), std::size_t(20), std::size_t(40),
                          std::size_t(70), w.size() / 2, w.size() - 2, w.size() - 1}) {
    INFO("cut " << cut);
    std::vector<std::uint8_t> part(w.begin(), w.begin() + std::ptrdiff_t(cut));
    auto r = media::decode_audio(part);
    CHECK_FALSE(r);
  }
  // declared "unknown size" (streaming writers) reads to the end
  auto stream = w;
  const std::uint32_t unknown = 0xFFFFFFFFu;
  std::memcpy(stream.data() + stream.size() - 8000 - 4, &unknown, 4);
  auto st = media::decode_audio(stream);
  REQUIRE(st);
  CHECK(st->samples.size() == 4000);
  // limits
  media::audio_decode_options opt;
  opt.max_seconds = 0.2;
  auto lim = media::decode_audio(w, opt);
  REQUIRE_FALSE(lim);
  CHECK(lim.error().code == mmllm::errc::resource_limit);
  // unsupported: A-law (format 6), 12-bit, 0 channels, NaN floats
  auto alaw = make_wav(s, 1, 16000, 1, 16);
  alaw[20 + 12] = 6;  // format tag (after the 12-byte LIST chunk)
  CHECK(media::decode_audio(alaw).error().code == mmllm::errc::unsupported);
  std::vector<double> nan_s = {0.0, std::nan("")};
  CHECK_FALSE(media::decode_audio(make_wav(nan_s, 1, 16000, 3, 32)));
  CHECK_FALSE(media::decode_audio(read_bytes(fixture_path("media/hopper.png"))));
}

#if defined(MMLLM_WITH_SNDFILE)
TEST_CASE("jfk.mp3 (libsndfile) agrees with jfk.wav within MP3 tolerance, samples and mel") {
  const auto wav = jfk_reference();
  auto mp3 = media::decode_audio(read_bytes(fixture_path("media/jfk.mp3")));
  REQUIRE(mp3);
  CHECK(mp3->sample_rate == 16000);
  REQUIRE(mp3->samples.size() == wav.size());  // gapless: the encoder delay is trimmed
  double sig = 0, err = 0;
  for (std::size_t i = 0; i < wav.size(); ++i) {
    sig += double(wav[i]) * wav[i];
    err += (double(mp3->samples[i]) - wav[i]) * (double(mp3->samples[i]) - wav[i]);
  }
  const double snr = 10 * std::log10(sig / err);
  INFO("MP3 vs WAV SNR " << snr << " dB");
  CHECK(snr > 10.0);  // 64 kbit/s MP3
  auto mw = media::whisper_log_mel_chunks_peer(media::audio_pcm{16000, wav});
  auto mm = media::whisper_log_mel_chunks_peer(*mp3);
  REQUIRE(mw);
  REQUIRE(mm);
  REQUIRE(mm->size() == 1);
  double mean = 0, within = 0;
  const auto& a = (*mw)[0].data;
  const auto& b = (*mm)[0].data;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(double(a[i]) - b[i]);
    mean += d;
    within += d < 0.1;
  }
  mean /= double(a.size());
  INFO("mel mean |diff| " << mean << ", fraction within 0.1: " << within / double(a.size()));
  CHECK(mean < 0.03);
  CHECK(within / double(a.size()) > 0.95);
}

TEST_CASE("test-2.mp3 (44.1 kHz) decodes and resamples to 16 kHz; MP3/FLAC truncation") {
  const auto bytes = read_bytes(fixture_path("media/test-2.mp3"));
  auto native = media::decode_audio_frames(bytes);
  REQUIRE(native);
  CHECK(native->sample_rate == 44100);
  auto pcm = media::decode_audio(bytes);
  REQUIRE(pcm);
  CHECK(pcm->sample_rate == 16000);
  CHECK(std::abs(double(pcm->samples.size()) - native->frame_count() * 16000.0 / 44100.0) <= 1.0);
  // A truncated MP3 with a frame count in its header is an error, not silently shorter audio.
  const auto jfk = read_bytes(fixture_path("media/jfk.mp3"));
  std::vector<std::uint8_t> half(jfk.begin(), jfk.begin() + std::ptrdiff_t(jfk.size() / 2));
  CHECK_FALSE(media::decode_audio(half));
  std::vector<std::uint8_t> head(jfk.begin(), jfk.begin() + 8);
  CHECK_FALSE(media::decode_audio(head));
}
namespace {
/// A growable in-memory file for libsndfile's virtual I/O (writing).
struct mem_file {
  std::vector<std::uint8_t> data;
  sf_count_t pos = 0;
};
std::vector<std::uint8_t> encode_with_sndfile(const std::vector<float>& mono, int rate, int format) {
  mem_file f;
  SF_VIRTUAL_IO io{};
  io.get_filelen = [](void* u) { return sf_count_t(static_cast<mem_file*>(u)->data.size()); };
  io.seek = [](sf_count_t off, int whence, void* u) {
    auto* m = static_cast<mem_file*>(u);
    const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : sf_count_t(m->data.size());
    m->pos = base + off;
    return m->pos;
  };
  io.read = [](void* ptr, sf_count_t n, void* u) {
    auto* m = static_cast<mem_file*>(u);
    const sf_count_t k =
        std::max<sf_count_t>(0, std::min<sf_count_t>(n, sf_count_t(m->data.size()) - m->pos));
    std::memcpy(ptr, m->data.data() + m->pos, std::size_t(k));
    m->pos += k;
    return k;
  };
  io.write = [](const void* ptr, sf_count_t n, void* u) {
    auto* m = static_cast<mem_file*>(u);
    if (m->data.size() < std::size_t(m->pos + n)) m->data.resize(std::size_t(m->pos + n));
    std::memcpy(m->data.data() + m->pos, ptr, std::size_t(n));
    m->pos += n;
    return n;
  };
  io.tell = [](void* u) { return static_cast<mem_file*>(u)->pos; };
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = format;
  SNDFILE* sf = sf_open_virtual(&io, SFM_WRITE, &info, &f);
  REQUIRE(sf != nullptr);
  // 16-bit formats get the exact int16 values (libsndfile scales floats by 32767 on writing)
  std::vector<short> pcm16(mono.size());
  for (std::size_t i = 0; i < mono.size(); ++i)
    pcm16[i] = static_cast<short>(std::lround(mono[i] * 32768.0f));
  REQUIRE(sf_writef_short(sf, pcm16.data(), sf_count_t(pcm16.size())) == sf_count_t(pcm16.size()));
  sf_close(sf);
  return f.data;
}
}  // namespace

TEST_CASE("FLAC (lossless) and Ogg Vorbis through libsndfile") {
  const auto wav = jfk_reference();
  const auto flac = encode_with_sndfile(wav, 16000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  CHECK(media::sniff_format(flac) == media::media_format::flac);
  auto back = media::decode_audio(flac);
  REQUIRE(back);
  CHECK(back->samples == wav);  // lossless: the same int16 / 32768 values
  std::vector<std::uint8_t> cut(flac.begin(), flac.begin() + std::ptrdiff_t(flac.size() / 2));
  CHECK_FALSE(media::decode_audio(cut));
  const auto ogg = encode_with_sndfile(wav, 16000, SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  CHECK(media::sniff_format(ogg) == media::media_format::ogg_audio);
  auto vorbis = media::decode_audio(ogg);
  REQUIRE(vorbis);
  REQUIRE(vorbis->samples.size() == wav.size());
  double sig = 0, err = 0;
  for (std::size_t i = 0; i < wav.size(); ++i) {
    sig += double(wav[i]) * wav[i];
    err += (double(vorbis->samples[i]) - wav[i]) * (double(vorbis->samples[i]) - wav[i]);
  }
  INFO("Vorbis SNR " << 10 * std::log10(sig / err));
  CHECK(10 * std::log10(sig / err) > 10.0);
}
#else
TEST_CASE("MP3 without libsndfile is a clear error") {
  auto r = media::decode_audio(read_bytes(fixture_path("media/jfk.mp3")));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::unsupported);
}
#endif

TEST_CASE("resampler: passband tones survive, aliases are removed") {
  const std::size_t n = 44100;
  // 1 kHz at 44.1 kHz → 16 kHz equals the analytic 1 kHz tone at 16 kHz (away from the edges).
  auto out = media::resample(media::audio_pcm{44100, sine(44100, 1000.0, n)}, 16000);
  REQUIRE(out);
  REQUIRE(out->samples.size() == 16000);
  const auto want = sine(16000, 1000.0, 16000);
  double worst = 0;
  for (std::size_t i = 400; i < 15600; ++i)
    worst = std::max(worst, std::abs(double(out->samples[i]) - want[i]));
  INFO("1 kHz max error " << worst);
  CHECK(worst < 1e-3);
  // 7 kHz (88 % of the new Nyquist) keeps its amplitude; 10 kHz (above it) is removed.
  auto rms = [](const std::vector<float>& v) {
    double s = 0;
    for (std::size_t i = 400; i + 400 < v.size(); ++i) s += double(v[i]) * v[i];
    return std::sqrt(s / double(v.size() - 800));
  };
  auto pass = media::resample(media::audio_pcm{44100, sine(44100, 7000.0, n)}, 16000);
  auto stop = media::resample(media::audio_pcm{44100, sine(44100, 10000.0, n)}, 16000);
  REQUIRE(pass);
  REQUIRE(stop);
  const double full = 0.5 / std::sqrt(2.0);
  INFO("7 kHz rms " << rms(pass->samples) << ", 10 kHz rms " << rms(stop->samples));
  CHECK(std::abs(rms(pass->samples) / full - 1.0) < 0.01);
  CHECK(rms(stop->samples) / full < 1e-3);  // ≥ 60 dB down (a linear resampler folds it to 6 kHz)
  // Upsampling 8 kHz → 16 kHz and DC.
  auto up = media::resample(media::audio_pcm{8000, sine(8000, 1000.0, 8000)}, 16000);
  REQUIRE(up);
  const auto want_up = sine(16000, 1000.0, 16000);
  worst = 0;
  for (std::size_t i = 400; i < 15600; ++i)
    worst = std::max(worst, std::abs(double(up->samples[i]) - want_up[i]));
  CHECK(worst < 1e-3);
  auto dc = media::resample(media::audio_pcm{48000, std::vector<float>(48000, 0.3f)}, 16000);
  REQUIRE(dc);
  CHECK(dc->samples[8000] == Approx(0.3f).margin(1e-6));
  // An awkward ratio (numerator > 1024) uses the tabulated kernel: same accuracy.
  auto odd = media::resample(media::audio_pcm{44101, sine(44101, 1000.0, 44101)}, 16000);
  REQUIRE(odd);
  worst = 0;
  for (std::size_t i = 400; i < 15600; ++i)
    worst = std::max(worst, std::abs(double(odd->samples[i]) - want[i]));
  CHECK(worst < 1e-3);
  CHECK_FALSE(media::resample(media::audio_pcm{0, {}}, 16000));
}
