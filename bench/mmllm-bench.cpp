// mmllm-bench — language-model throughput in llama-bench's terms: prompt processing (ppN: one
// batch of N tokens into an empty cache, logits for the last one) and generation (tgN: N
// single-token steps from an empty cache), in tokens per second, for a GGUF model.
//
//   mmllm-bench -m /tmp/tinyllama-q4_0.gguf -t 2            # pp512 and tg128, 5 repetitions
//   mmllm-bench -m model.gguf -t 1,2 -p 128,512 -n 64 -r 3
//   mmllm-make-model --params 1B --type q4_0 -o /tmp/tinyllama-q4_0.gguf   # a model to measure
//
// The table has llama-bench's columns (model, size, params, backend, threads, test, t/s as
// mean ± standard deviation over the repetitions, after one warm-up run). Below it: the
// memory read bandwidth measured in this program with the same threads (a streaming sum
// over a buffer much larger than the last-level cache), the bytes one generated token must
// read (every weight used per token — the token-embedding table only when it is also the
// output — plus the average KV cache read), the resulting bandwidth limit on generation
// (bandwidth / bytes per token) and the measured tgN as a fraction of it.
#include <mmllm/compute/isa.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/models/batch.hpp>
#include <mmllm/models/decoder.hpp>
#include <mmllm/models/kv_cache.hpp>
#include <mmllm/models/text_model.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if MMLLM_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::size_t p = 0;
  while (p < s.size()) {
    const std::size_t e = std::min(s.find(',', p), s.size());
    v.push_back(std::atoi(s.substr(p, e - p).c_str()));
    p = e + 1;
  }
  return v;
}

// ---- memory read bandwidth ------------------------------------------------------------------
MMLLM_KERNELS_BEGIN
#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX512 float sum_avx512(const float* p, std::size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}
MMLLM_TARGET_AVX2 float sum_avx2(const float* p, std::size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
MMLLM_KERNELS_END

float sum_any(const mmllm::compute::cpu_features& f, const float* p, std::size_t n) {
#if MMLLM_HAVE_X86_KERNELS
  if (f.avx512) return sum_avx512(p, n);
  if (f.avx2) return sum_avx2(p, n);
#else
  (void)f;
#endif
  float a[8] = {};
  for (std::size_t i = 0; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) a[k] += p[i + k];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

/// Best GB/s of a streaming sum over `bytes` split among the pool's threads.
double read_bandwidth(mmllm::compute::thread_pool& pool, std::size_t bytes, int reps) {
  const std::size_t n = bytes / sizeof(float) / 4096 * 4096;
  auto* data = static_cast<float*>(::operator new (n * sizeof(float), std::align_val_t{64}));
  pool.run([&](unsigned i, unsigned nt) {  // first touch by the threads that read
    const auto [b, e] = mmllm::compute::thread_pool::partition(n, i, nt, 4096);
    for (std::size_t k = b; k < e; ++k) data[k] = 1.0f;
  });
  const auto f = mmllm::compute::detect_cpu_features();
  std::vector<float> part(pool.size());
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock_type::now();
    pool.run([&](unsigned i, unsigned nt) {
      const auto [b, e] = mmllm::compute::thread_pool::partition(n, i, nt, 4096);
      part[i] = b < e ? sum_any(f, data + b, e - b) : 0.0f;
    });
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    float t = 0;
    for (const float v : part) t += v;
    sink = sink + t;
    best = std::max(best, static_cast<double>(n * sizeof(float)) / s / 1e9);
  }
  ::operator delete (data, std::align_val_t{64});
  return best;
}

struct stats {
  double mean = 0, sd = 0;
};
stats summarize(const std::vector<double>& v) {
  stats s;
  for (const double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (const double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

int fail(const std::string& m) {
  std::fprintf(stderr, "mmllm-bench: %s\n", m.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  std::vector<int> threads{static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  std::vector<int> n_prompt{512}, n_gen{128};
  int reps = 5;
  bool bandwidth = true;
  mmllm::models::kv_type type_k = mmllm::models::kv_type::f16, type_v = mmllm::models::kv_type::f16;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mmllm-bench: missing value for %s\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "-m" || a == "--model") {
      model_path = next();
    } else if (a == "-t" || a == "--threads") {
      threads = parse_list(next());
    } else if (a == "-p" || a == "--n-prompt") {
      n_prompt = parse_list(next());
    } else if (a == "-n" || a == "--n-gen") {
      n_gen = parse_list(next());
    } else if (a == "-r" || a == "--repetitions") {
      reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "-ctk" || a == "--cache-type-k" || a == "-ctv" || a == "--cache-type-v") {
      const auto t = mmllm::models::kv_type_from_name(next());
      if (!t) return fail("cache type must be f32, f16 or q8_0");
      (a == "-ctk" || a == "--cache-type-k" ? type_k : type_v) = *t;
    } else if (a == "--no-bandwidth") {
      bandwidth = false;
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: %s -m model.gguf [-t 1,2] [-p 512] [-n 128] [-r 5] [-ctk f16] [-ctv f16] [--no-bandwidth]\n"
          "  -p/-n 0 skips that test. KV cache f16 by default (llama-bench's default).\n",
          argv[0]);
      return 0;
    } else {
      return fail("unknown argument '" + a + "' (see -h)");
    }
  }
  if (model_path.empty()) return fail("no model (-m FILE); mmllm-make-model writes synthetic ones");
  auto model = mmllm::models::text_model::open(model_path);
  if (!model) return fail(model_path + ": " + model.error().what());
  const auto& d = model->desc();

  // model description as llama-bench prints it: "llama 1B Q4_0", size, params
  const auto te_type = model->layers()[0].ffn_down.type;
  char model_name[96];
  std::snprintf(model_name, sizeof model_name, "%s %.2fB %s", d.arch.c_str(),
                static_cast<double>(model->n_params()) / 1e9, std::string(mmllm::name_of(te_type)).c_str());
  const double size_mib = static_cast<double>(model->weight_bytes()) / (1 << 20);
  // bytes one generated token reads from the weights
  const std::uint64_t te_bytes =
      static_cast<std::uint64_t>(model->token_embd().row_stride) * model->token_embd().rows;
  const std::uint64_t weight_bytes_per_token = model->weight_bytes() - (model->tied_output() ? 0 : te_bytes);

  std::printf("| %-22s | %10s | %7s | %-12s | %7s | %8s | %16s |\n", "model", "size", "params", "backend",
              "threads", "test", "t/s");
  std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", std::string(22, '-').c_str(),
              std::string(10, '-').c_str(), std::string(7, '-').c_str(), std::string(12, '-').c_str(),
              std::string(7, '-').c_str(), std::string(8, '-').c_str(), std::string(16, '-').c_str());

  struct tg_result {
    int threads, n;
    double tps;
  };
  std::vector<tg_result> tg_results;
  std::uint32_t max_ctx = 16;
  for (const int p : n_prompt) max_ctx = std::max<std::uint32_t>(max_ctx, static_cast<std::uint32_t>(p));
  for (const int n : n_gen) max_ctx = std::max<std::uint32_t>(max_ctx, static_cast<std::uint32_t>(n));

  for (const int nt : threads) {
    mmllm::compute::thread_pool pool(static_cast<unsigned>(std::max(1, nt)));
    mmllm::models::decoder<mmllm::compute::simd> dec(*model, mmllm::compute::simd(pool));
    char backend[32];
    std::snprintf(backend, sizeof backend, "CPU %s",
                  std::string(mmllm::compute::to_string(dec.policy().level())).c_str());
    mmllm::models::kv_cache_options ko;
    ko.n_ctx = max_ctx;
    ko.type_k = type_k;
    ko.type_v = type_v;
    auto kv = mmllm::models::kv_cache::create(d, ko);
    if (!kv) return fail(kv.error().what());
    std::uint64_t rng = 12345;
    auto random_token = [&] {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<mmllm::token_id>((rng >> 33) % d.n_vocab);
    };
    mmllm::models::batch b;

    for (const int p : n_prompt) {
      if (p <= 0) continue;
      std::vector<double> tps;
      for (int r = 0; r <= reps; ++r) {  // r = 0: warm-up
        kv->clear();
        b.clear();
        for (int i = 0; i < p; ++i) b.add_token(random_token(), 0, i, i + 1 == p);
        const auto t0 = clock_type::now();
        auto out = dec.forward(b, *kv);
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (!out) return fail(out.error().what());
        if (r > 0) tps.push_back(p / s);
      }
      const stats st = summarize(tps);
      char test[16], ts[32];
      std::snprintf(test, sizeof test, "pp%d", p);
      std::snprintf(ts, sizeof ts, "%.2f ± %.2f", st.mean, st.sd);
      std::printf("| %-22s | %6.2f MiB | %5.2f B | %-12s | %7d | %8s | %16s |\n", model_name, size_mib,
                  static_cast<double>(model->n_params()) / 1e9, backend, nt, test, ts);
      std::fflush(stdout);
    }
    for (const int n : n_gen) {
      if (n <= 0) continue;
      std::vector<double> tps;
      for (int r = 0; r <= reps; ++r) {
        kv->clear();
        const auto t0 = clock_type::now();
        for (int i = 0; i < n; ++i) {
          b.clear();
          b.add_token(random_token(), 0, i, true);
          auto out = dec.forward(b, *kv);
          if (!out) return fail(out.error().what());
        }
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (r > 0) tps.push_back(n / s);
      }
      const stats st = summarize(tps);
      char test[16], ts[32];
      std::snprintf(test, sizeof test, "tg%d", n);
      std::snprintf(ts, sizeof ts, "%.2f ± %.2f", st.mean, st.sd);
      std::printf("| %-22s | %6.2f MiB | %5.2f B | %-12s | %7d | %8s | %16s |\n", model_name, size_mib,
                  static_cast<double>(model->n_params()) / 1e9, backend, nt, test, ts);
      std::fflush(stdout);
      tg_results.push_back({nt, n, st.mean});
    }
  }

  if (bandwidth && !tg_results.empty()) {
    std::printf("\n");
    for (const auto& t : tg_results) {
      mmllm::compute::thread_pool pool(static_cast<unsigned>(std::max(1, t.threads)));
      const double bw = read_bandwidth(pool, std::size_t{1} << 30, 5);
      // average KV cache bytes read per token over the run (cells 1 … n)
      std::uint64_t kv_row = 0;
      for (const auto& l : d.layers) {
        kv_row +=
            *mmllm::row_bytes(mmllm::models::to_dtype(type_k), std::uint64_t{l.n_head_kv} * d.head_dim_k);
        kv_row +=
            *mmllm::row_bytes(mmllm::models::to_dtype(type_v), std::uint64_t{l.n_head_kv} * d.head_dim_v);
      }
      const double bytes =
          static_cast<double>(weight_bytes_per_token) + static_cast<double>(kv_row) * (t.n + 1) / 2.0;
      const double limit = bw * 1e9 / bytes;
      std::printf(
          "tg%d, %d threads: read bandwidth %.1f GB/s (streaming sum, 1 GiB); %.1f MB read per token "
          "(weights %.1f MB + "
          "KV %.2f MB on average) -> limit %.2f t/s; measured %.2f t/s = %.0f%% of the bandwidth limit\n",
          t.n, t.threads, bw, bytes / 1e6, static_cast<double>(weight_bytes_per_token) / 1e6,
          static_cast<double>(kv_row) * (t.n + 1) / 2.0 / 1e6, limit, t.tps, 100.0 * t.tps / limit);
    }
  }
  return 0;
}
