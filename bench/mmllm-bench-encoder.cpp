// mmllm-bench-encoder — multimodal encoder time (compute::simd).
//
// 1. Fixtures: every mmproj under <fixtures>/synthetic/mm/* (f32 and f16 files) encodes its
//    fixture's media (test-1.jpeg / jfk.wav): milliseconds per image, per audio second.
// 2. The benchmark encoder: a synthetic SigLIP-so400m/14 at 896 px with Gemma 3's
//    projector (27 blocks, n_embd 1152, n_ff 4304, 16 heads, 4096 patches; f16 weights as in
//    real mmproj files), written with the GGUF writer (bench/mm_synth_mmproj.hpp) unless the
//    file exists. One image is encoded per rep; printed: wall and CPU seconds, the encoder's
//    FLOP count, achieved GFLOP/s, the ratio to a GEMM of the same policy measured here
//    (4096 × 1152 → 4304, f16 weights), and the speed-up over the peer's 157 s per image.
// 3. --breakdown: the stages of one so400m block timed separately (projections, attention,
//    FFN, norms, activation) on random data, times 27.
//
// Wall time on a shared machine depends on the load; CPU time (getrusage) is printed too, and
// /proc/loadavg with every measurement.
//
//   mmllm-bench-encoder                          # fixtures, then so400m with all cores
//   mmllm-bench-encoder -t 2 --reps 2 --skip-fixtures --mmproj /tmp/so400m.gguf
// Flags: -t threads, --reps N, --skip-fixtures, --skip-synth, --breakdown,
//        --mmproj PATH (synthetic file; default in the build dir), --regen, --n-embd-text N,
//        --attention f32|flash (flash: the peer's f16 flash-attention emulation),
//        --fixtures DIR, --peer-seconds S (default 157).
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/media/image_decode.hpp>
#include <mmllm/models/encoder_kernels.hpp>
#include <mmllm/models/multimodal_encoder.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mm_synth_mmproj.hpp"

#ifndef MMLLM_FIXTURES_DIR
#define MMLLM_FIXTURES_DIR "../shared/fixtures"
#endif
#ifndef MMLLM_BENCH_OUT_DIR
#define MMLLM_BENCH_OUT_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
namespace mm = mmllm::mm;
using clock_type = std::chrono::steady_clock;
using mmllm::compute::simd;
using mmllm::compute::thread_pool;

struct options {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  int reps = 1;
  bool fixtures = true, synth = true, breakdown = false, regen = false;
  std::string mmproj = std::string(MMLLM_BENCH_OUT_DIR) + "/so400m-896-gemma3-f16.gguf";
  std::string fixtures_dir = MMLLM_FIXTURES_DIR;
  int n_embd_text = 2560;
  mm::attention_precision attention = mm::attention_precision::f32;
  double peer_seconds = 157.0;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "error: %s\nusage: mmllm-bench-encoder [-t N] [--reps N] [--skip-fixtures] [--skip-synth]\n"
               "       [--breakdown] [--mmproj PATH] [--regen] [--n-embd-text N] [--attention f32|flash]\n"
               "       [--fixtures DIR] [--peer-seconds S]\n",
               msg);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "-t") {
      o.threads = static_cast<unsigned>(std::stoul(value()));
    } else if (a == "--reps") {
      o.reps = std::max(1, std::stoi(value()));
    } else if (a == "--skip-fixtures") {
      o.fixtures = false;
    } else if (a == "--skip-synth") {
      o.synth = false;
    } else if (a == "--breakdown") {
      o.breakdown = true;
    } else if (a == "--mmproj") {
      o.mmproj = value();
    } else if (a == "--regen") {
      o.regen = true;
    } else if (a == "--n-embd-text") {
      o.n_embd_text = std::stoi(value());
    } else if (a == "--attention") {
      const std::string v = value();
      if (v == "f32") {
        o.attention = mm::attention_precision::f32;
      } else if (v == "flash") {
        o.attention = mm::attention_precision::peer_flash_f16;
      } else {
        usage("--attention is f32 or flash");
      }
    } else if (a == "--fixtures") {
      o.fixtures_dir = value();
    } else if (a == "--peer-seconds") {
      o.peer_seconds = std::stod(value());
    } else {
      usage(("unknown flag " + std::string(a)).c_str());
    }
  }
  if (o.threads == 0) usage("-t must be positive");
  return o;
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "n/a";
  return a + " " + b + " " + c;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// Wall and CPU seconds of one call.
struct timing {
  double wall = 0.0, cpu = 0.0;
};

template <class F>
timing timed(F&& fn) {
  const double c0 = cpu_seconds();
  const auto t0 = clock_type::now();
  fn();
  const auto t1 = clock_type::now();
  return {std::chrono::duration<double>(t1 - t0).count(), cpu_seconds() - c0};
}

/// Best (lowest wall) of `reps` timings.
template <class F>
timing best_of(int reps, F&& fn) {
  timing best{1e300, 0.0};
  for (int r = 0; r < reps; ++r) {
    const timing t = timed(fn);
    if (t.wall < best.wall) best = t;
  }
  return best;
}

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// The "media" entry of a fixture's config.json (no JSON parser needed for one string).
std::string fixture_media(const fs::path& dir) {
  std::ifstream f(dir / "config.json");
  const std::string s{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  const std::string key = "\"media\": \"";
  const std::size_t p = s.find(key);
  if (p == std::string::npos) return {};
  const std::size_t b = p + key.size(), e = s.find('"', b);
  return e == std::string::npos ? std::string{} : s.substr(b, e - b);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  std::exit(1);
}

mm::encode_options encode_opts(const options& o) {
  mm::encode_options e;
  e.attention = o.attention;
  return e;
}

/// Encodes every entry of `in` once (vision).
void encode_image(simd& cpu, const mm::vision_encoder& v, const mm::vision_input& in, std::vector<float>& out,
                  const mm::encode_options& eo) {
  for (const auto& e : in.entries) {
    out.resize(v.n_tokens(e) * v.n_embd_out());
    if (auto r = v.encode(cpu, e, out, eo); !r) fail(std::string("encode: ") + r.error().what());
  }
}

void bench_fixtures(const options& o, simd& cpu) {
  const fs::path root = fs::path(o.fixtures_dir) / "synthetic" / "mm";
  if (!fs::is_directory(root)) {
    std::printf("fixtures: %s not found, skipped\n", root.string().c_str());
    return;
  }
  std::vector<fs::path> dirs;
  for (const auto& d : fs::directory_iterator(root))
    if (d.is_directory() && d.path().filename().string().front() != '_') dirs.push_back(d.path());
  std::sort(dirs.begin(), dirs.end());
  const mm::encode_options eo = encode_opts(o);
  std::printf("fixtures (%s), %u thread(s), best of %d\n", root.string().c_str(), cpu.n_threads(), o.reps);
  for (const auto& dir : dirs) {
    const std::string media = fixture_media(dir);
    for (const char* file : {"mmproj.gguf", "mmproj-f16.gguf"}) {
      const fs::path path = dir / file;
      if (!fs::exists(path)) continue;
      auto enc = mm::multimodal_encoder::open(path.string());
      if (!enc) fail(path.string() + ": " + enc.error().what());
      const std::string label = dir.filename().string() + "/" + file;
      if (const mm::vision_encoder* v = enc->vision()) {
        auto img = mmllm::media::decode_image(
            read_file(fs::path(o.fixtures_dir) / "media" / (media.empty() ? "test-1.jpeg" : media)),
            mmllm::media::image_decode_options::llama_cpp());
        if (!img) fail(label + ": image: " + img.error().what());
        auto in = v->preprocess(*img);
        if (!in) fail(label + ": preprocess: " + in.error().what());
        std::size_t tokens = 0;
        for (const auto& e : in->entries) tokens += v->n_tokens(e);
        std::vector<float> out;
        encode_image(cpu, *v, *in, out, eo);  // warm-up (workspace, page faults)
        const timing t = best_of(o.reps, [&] { encode_image(cpu, *v, *in, out, eo); });
        std::printf(
            "  %-28s vision %-10s %2zu entr%s %5zu tokens: %8.2f ms per image (cpu %.1f ms)  load %s\n",
            label.c_str(), std::string(v->projector_name()).c_str(), in->entries.size(),
            in->entries.size() == 1 ? "y  " : "ies", tokens, t.wall * 1e3, t.cpu * 1e3, loadavg().c_str());
      }
      if (const mm::audio_encoder* a = enc->audio()) {
        auto pcm = mmllm::media::decode_audio(
            read_file(fs::path(o.fixtures_dir) / "media" / (media.empty() ? "jfk.wav" : media)));
        if (!pcm) fail(label + ": audio: " + pcm.error().what());
        auto in = a->preprocess(*pcm);
        if (!in) fail(label + ": preprocess: " + in.error().what());
        std::vector<float> out;
        auto run = [&] {
          for (const auto& e : in->entries) {
            out.resize(a->n_tokens(e) * a->n_embd_out());
            if (auto r = a->encode(cpu, e, out, eo); !r) fail(label + ": encode: " + r.error().what());
          }
        };
        run();
        const timing t = best_of(o.reps, run);
        const double sec = pcm->duration_seconds();
        std::printf(
            "  %-28s audio  %-10s %zu chunk(s), %.2f s audio: %8.2f ms per audio second (%.2f ms total, cpu "
            "%.1f ms)  load %s\n",
            label.c_str(), std::string(a->projector_name()).c_str(), in->entries.size(), sec,
            t.wall * 1e3 / sec, t.wall * 1e3, t.cpu * 1e3, loadavg().c_str());
      }
    }
  }
}

/// FLOPs of one so400m/gemma3 image (multiply-adds count 2; norms, softmax, GELU excluded).
struct flop_count {
  double patch = 0, proj = 0, attn = 0, ffn = 0, projector = 0;
  [[nodiscard]] double total() const { return patch + proj + attn + ffn + projector; }
};

flop_count count_flops(const mmllm::bench::synth_spec& s) {
  const double n = std::pow(static_cast<double>(s.image_size / s.patch_size), 2.0);
  const double e = s.n_embd, f = s.n_ff, L = s.n_layer, pp = 3.0 * s.patch_size * s.patch_size;
  flop_count c;
  c.patch = 2 * n * pp * e;
  c.proj = L * 4 * 2 * n * e * e;  // q, k, v, out
  c.attn = L * 2 * 2 * n * n * e;  // Q·Kᵀ and P·V over all heads
  c.ffn = L * 2 * 2 * n * e * f;   // up, down
  c.projector = 2 * (n / 16) * e * s.n_embd_text;
  return c;
}

/// GFLOP/s of y = x·Wᵀ at m × k → n with random data (f16 weights), best of `reps`.
double gemm_gflops(simd& cpu, std::size_t m, std::size_t k, std::size_t n, int reps, timing& t_out) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(m * k), y(m * n);
  std::vector<mmllm::f16> w(n * k);
  for (auto& v : x) v = nd(rng);
  for (auto& v : w) v = mmllm::to_f16(nd(rng) * 0.03f);
  const auto wv =
      mmllm::any_matrix_view::dense(mmllm::dtype::f16, reinterpret_cast<const std::byte*>(w.data()), n, k);
  auto run = [&] {
    if (auto r = cpu.matmul(mmllm::matrix_view<const float>(x.data(), m, k), wv,
                            mmllm::matrix_view<float>(y.data(), m, n));
        !r)
      fail(std::string("gemm: ") + r.error().what());
  };
  run();
  t_out = best_of(std::max(3, reps), run);
  return 2.0 * static_cast<double>(m * n * k) / t_out.wall * 1e-9;
}

/// Stages of one so400m block on random data (the encoder's own kernels), times n_layer.
void bench_breakdown(const options& o, simd& cpu, const mmllm::bench::synth_spec& s) {
  const std::size_t n = static_cast<std::size_t>(s.image_size / s.patch_size) * (s.image_size / s.patch_size);
  const auto e = static_cast<std::size_t>(s.n_embd), f = static_cast<std::size_t>(s.n_ff);
  const auto L = static_cast<double>(s.n_layer);
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto rnd = [&](std::size_t cnt, float sd) {
    std::vector<float> v(cnt);
    for (auto& x : v) x = nd(rng) * sd;
    return v;
  };
  auto rnd16 = [&](std::size_t cnt, float sd) {
    std::vector<mmllm::f16> v(cnt);
    for (auto& x : v) x = mmllm::to_f16(nd(rng) * sd);
    return v;
  };
  const std::vector<float> x = rnd(n * e, 1.0f), ln_w = rnd(e, 0.1f);
  std::vector<float> h(n * e), q = rnd(n * e, 1.0f), k = rnd(n * e, 1.0f), v = rnd(n * e, 1.0f), a(n * e),
                               up(n * f);
  const std::vector<mmllm::f16> wq = rnd16(e * e, 0.03f), wup = rnd16(f * e, 0.03f),
                                wdown = rnd16(e * f, 0.015f);
  auto mv = [n](std::vector<float>& b, std::size_t c) { return mmllm::matrix_view<float>(b.data(), n, c); };
  auto w16 = [](const std::vector<mmllm::f16>& w, std::size_t rows, std::size_t cols) {
    return mmllm::any_matrix_view::dense(mmllm::dtype::f16, reinterpret_cast<const std::byte*>(w.data()),
                                         rows, cols);
  };
  const mm::encode_options eo = encode_opts(o);
  auto check = [](const mmllm::result<void>& r) {
    if (!r) fail(std::string("breakdown: ") + r.error().what());
  };
  struct stage {
    const char* name;
    double per_block_flops;
    timing t;
  };
  std::vector<stage> st;
  const auto xv = mmllm::matrix_view<const float>(x.data(), n, e);
  st.push_back({"layernorm x2", 0.0, best_of(o.reps, [&] {
                  cpu.layernorm(xv, mv(h, e), 1e-6f, ln_w, ln_w);
                  cpu.layernorm(xv, mv(h, e), 1e-6f, ln_w, ln_w);
                })});
  st.push_back({"q,k,v,out projections", 4 * 2.0 * n * e * e, best_of(o.reps, [&] {
                  for (int i = 0; i < 4; ++i) check(cpu.matmul(mv(h, e), w16(wq, e, e), mv(a, e)));
                })});
  st.push_back({"attention", 2 * 2.0 * n * n * e, best_of(o.reps, [&] {
                  check(mm::multi_head_attention(cpu, mv(q, e), mv(k, e), mv(v, e), mv(a, e),
                                                 static_cast<std::size_t>(s.n_head),
                                                 1.0f / std::sqrt(static_cast<float>(e / s.n_head)), {}, eo));
                })});
  st.push_back({"ffn up", 2.0 * n * e * f,
                best_of(o.reps, [&] { check(cpu.matmul(mv(h, e), w16(wup, f, e), mv(up, f))); })});
  st.push_back({"gelu (f16 table)", 0.0, best_of(o.reps, [&] { cpu.gelu_f16_table(mv(up, f), mv(up, f)); })});
  st.push_back({"ffn down", 2.0 * n * e * f,
                best_of(o.reps, [&] { check(cpu.matmul(mv(up, f), w16(wdown, e, f), mv(h, e))); })});
  st.push_back({"residual adds + biases", 0.0, best_of(o.reps, [&] {
                  for (int i = 0; i < 8; ++i)
                    cpu.add(mv(h, e), mmllm::matrix_view<const float>(ln_w.data(), 1, e), mv(h, e));
                })});
  double total = 0.0;
  std::printf("breakdown of one block (n = %zu tokens), x %d blocks:\n", n, s.n_layer);
  for (const auto& x2 : st) total += x2.t.wall * L;
  for (const auto& x2 : st) {
    std::string rate;
    if (x2.per_block_flops > 0)
      rate = "  " + std::to_string(static_cast<int>(x2.per_block_flops / x2.t.wall * 1e-9)) + " GFLOP/s (" +
             std::to_string(static_cast<int>(x2.per_block_flops / x2.t.cpu * 1e-9)) + " per busy core)";
    std::printf("  %-24s %8.2f ms per block (cpu %8.2f ms)  %6.2f s per image  %5.1f%%%s\n", x2.name,
                x2.t.wall * 1e3, x2.t.cpu * 1e3, x2.t.wall * L, 100.0 * x2.t.wall * L / total, rate.c_str());
  }
  std::printf("  %-24s %8.2f ms per block  %7.2f s per image  load %s\n", "sum", total / L * 1e3, total,
              loadavg().c_str());
}

void bench_synth(const options& o, simd& cpu) {
  const mmllm::bench::synth_spec spec = mmllm::bench::siglip_so400m_gemma3(o.n_embd_text);
  if (o.regen || !fs::exists(o.mmproj)) {
    std::printf("writing %s (synthetic so400m/14 896 px, gemma3 projector, f16 weights) ...\n",
                o.mmproj.c_str());
    std::fflush(stdout);
    const timing t = timed([&] {
      if (auto r = mmllm::bench::write_synth_mmproj(o.mmproj, spec); !r)
        fail(o.mmproj + ": " + r.error().what());
    });
    std::printf("  written in %.1f s\n", t.wall);
  }
  auto enc = mm::multimodal_encoder::open(o.mmproj);
  if (!enc) fail(o.mmproj + ": " + enc.error().what());
  const mm::vision_encoder* v = enc->vision();
  if (v == nullptr || v->projector_name() != "gemma3") fail(o.mmproj + ": not a gemma3 vision mmproj");
  auto hp = enc->file().hparams(mm::modality::vision);
  if (!hp || hp->n_layer != spec.n_layer || hp->n_embd != spec.n_embd || hp->n_ff != spec.n_ff ||
      hp->image_size != spec.image_size || hp->patch_size != spec.patch_size)
    fail(o.mmproj + ": not the so400m/896 benchmark file (use --regen)");

  // a random image at the encoder's size (the content does not change the work)
  mmllm::media::image_u8 img;
  img.width = img.height = spec.image_size;
  img.pixels.resize(static_cast<std::size_t>(img.width * img.height * 3));
  std::mt19937 rng(5);
  for (auto& p : img.pixels) p = static_cast<std::uint8_t>(rng() & 0xff);
  auto in = v->preprocess(img);
  if (!in) fail(std::string("preprocess: ") + in.error().what());

  const flop_count fl = count_flops(spec);
  std::printf(
      "so400m/14 896 px + gemma3 (%s): 27 blocks, 4096 patches -> %zu tokens x %zu\n"
      "  FLOPs per image: %.1f G (patch %.1f, q/k/v/out %.1f, attention %.1f, ffn %.1f, projector %.1f)\n",
      o.mmproj.c_str(), v->n_tokens(in->entries[0]), v->n_embd_out(), fl.total() * 1e-9, fl.patch * 1e-9,
      fl.proj * 1e-9, fl.attn * 1e-9, fl.ffn * 1e-9, fl.projector * 1e-9);

  timing tg;
  const double gemm = gemm_gflops(cpu, 4096, 1152, 4304, o.reps, tg);
  std::printf(
      "  GEMM 4096 x 1152 -> 4304 (f16 weights): %.1f GFLOP/s (%.1f ms, cpu %.2f s: %.1f GFLOP/s per busy "
      "core)  load %s\n",
      gemm, tg.wall * 1e3, tg.cpu, 2.0 * 4096 * 1152 * 4304 / tg.cpu * 1e-9, loadavg().c_str());
  if (o.breakdown) bench_breakdown(o, cpu, spec);

  const mm::encode_options eo = encode_opts(o);
  std::vector<float> out;
  double best = 1e300;
  for (int r = 0; r < o.reps; ++r) {
    const std::string load_before = loadavg();
    const timing t = timed([&] { encode_image(cpu, *v, *in, out, eo); });
    best = std::min(best, t.wall);
    const double gf = fl.total() / t.wall * 1e-9;
    std::printf(
        "  encode %d/%d: %.2f s wall, %.2f s cpu (%.2f cores busy), %.1f GFLOP/s = %.2f x the GEMM rate, "
        "%.2f x the peer (%.0f s)  load %s -> %s\n",
        r + 1, o.reps, t.wall, t.cpu, t.cpu / t.wall, gf, gf / gemm, o.peer_seconds / t.wall, o.peer_seconds,
        load_before.c_str(), loadavg().c_str());
    std::printf(
        "    per busy core: %.1f GFLOP/s (cpu time); on %u idle core(s): about %.1f s (cpu time / threads)\n",
        fl.total() / t.cpu * 1e-9, cpu.n_threads(), t.cpu / cpu.n_threads());
    std::fflush(stdout);
  }
  std::printf("  best: %.2f s per image, %.2f x the peer's %.0f s (target: >= 3 x, <= %.1f s)\n", best,
              o.peer_seconds / best, o.peer_seconds, o.peer_seconds / 3.0);
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  thread_pool pool(o.threads);
  simd cpu(o.threads > 1 ? mmllm::compute::executor_ref(pool) : mmllm::compute::executor_ref{});
  std::printf("mmllm-bench-encoder: level %s, %u thread(s), attention %s, load %s\n",
              std::string(mmllm::compute::to_string(cpu.level())).c_str(), cpu.n_threads(),
              o.attention == mm::attention_precision::f32 ? "f32" : "peer flash f16", loadavg().c_str());
  if (o.fixtures) bench_fixtures(o, cpu);
  if (o.synth) bench_synth(o, cpu);
  return 0;
}
