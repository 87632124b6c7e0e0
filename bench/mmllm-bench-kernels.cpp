// mmllm-bench-kernels — matmul throughput of compute::simd next to the machine's measured
// memory read bandwidth.
//
// 1. Read bandwidth: a streaming sum over a buffer of 8× the last-level cache, on 1 and on
//    n threads (best of several passes).
// 2. Mat-vec (batch 1) and mat-mat (batch 64) per weight dtype at LLM shapes, reported as
//    weight GB/s and as a ratio to the read bandwidth of the same thread count. Weights
//    are rotated over enough copies to exceed 4× the LLC (as a model much larger than the
//    cache behaves), unless --hot.
// 3. GEMM GFLOP/s for f32 / f16 weights at a vision-encoder shape (tokens × in → out).
//
//   mmllm-bench-kernels                       # everything, threads 1 and 2
//   mmllm-bench-kernels -t 2 -d q4_0,q8_0 -b 1 --no-gemm   # a short run
// Flags: -t threads list, -d dtypes, -s WxK shapes (rows x cols of W), -b batches,
//        -g TOKENSxINxOUT gemm shape, --no-gemm, --no-matmul, --hot, -l level
//        (generic|avx2|avx512), --seconds per measurement (default 0.3), --reps rounds,
//        --gemm-min-rows N (plain-float weights use the GEMM from N activation rows).
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/core/quant_formats.hpp>

#include "read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using mmllm::compute::isa;
using mmllm::compute::simd;
using mmllm::compute::thread_pool;

struct options {
  std::vector<unsigned> threads{1, 2};
  std::vector<mmllm::dtype> dtypes{mmllm::dtype::q4_0, mmllm::dtype::q8_0, mmllm::dtype::q4_K,
                                   mmllm::dtype::q6_K, mmllm::dtype::f16,  mmllm::dtype::bf16,
                                   mmllm::dtype::f32};
  std::vector<std::pair<std::size_t, std::size_t>> shapes{{4096, 4096}, {11008, 4096}};
  std::vector<std::size_t> batches{1, 64};
  std::size_t gemm_tokens = 4096, gemm_in = 1152, gemm_out = 4304;
  bool gemm = true, matmul = true, hot = false;
  std::optional<isa> level;
  double seconds = 0.3;
  int reps = 5;
  std::optional<std::size_t> gemm_min_rows;
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b <= s.size()) {
    const std::size_t e = std::min(s.find(sep, b), s.size());
    if (e > b) out.emplace_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(
      stderr,
      "error: %s\nusage: mmllm-bench-kernels [-t 1,2] [-d q4_0,q8_0,...] [-s 4096x4096,...] [-b 1,64]\n"
      "       [-g 4096x1152x4304] [--no-gemm] [--no-matmul] [--hot] [-l generic|avx2|avx512]\n"
      "       [--seconds 0.3] [--reps 5] [--gemm-min-rows 16]\n",
      msg);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "-t") {
      o.threads.clear();
      for (auto& s : split(value(), ',')) o.threads.push_back(static_cast<unsigned>(std::stoul(s)));
    } else if (a == "-d") {
      o.dtypes.clear();
      for (auto& s : split(value(), ',')) {
        const auto d = mmllm::dtype_from_name(s);
        if (!d) usage(("unknown dtype " + s).c_str());
        o.dtypes.push_back(*d);
      }
    } else if (a == "-s") {
      o.shapes.clear();
      for (auto& s : split(value(), ',')) {
        const auto p = split(s, 'x');
        if (p.size() != 2) usage("shape is ROWSxCOLS");
        o.shapes.emplace_back(std::stoul(p[0]), std::stoul(p[1]));
      }
    } else if (a == "-b") {
      o.batches.clear();
      for (auto& s : split(value(), ',')) o.batches.push_back(std::stoul(s));
    } else if (a == "-g") {
      const auto p = split(value(), 'x');
      if (p.size() != 3) usage("gemm shape is TOKENSxINxOUT");
      o.gemm_tokens = std::stoul(p[0]);
      o.gemm_in = std::stoul(p[1]);
      o.gemm_out = std::stoul(p[2]);
    } else if (a == "--no-gemm") {
      o.gemm = false;
    } else if (a == "--no-matmul") {
      o.matmul = false;
    } else if (a == "--hot") {
      o.hot = true;
    } else if (a == "-l") {
      const auto v = value();
      o.level = v == "generic"  ? isa::generic
                : v == "avx2"   ? isa::avx2
                : v == "avx512" ? isa::avx512
                                : (usage("level"), isa::generic);
    } else if (a == "--seconds") {
      o.seconds = std::stod(std::string(value()));
    } else if (a == "--gemm-min-rows") {
      o.gemm_min_rows = std::stoul(std::string(value()));
    } else if (a == "--reps") {
      o.reps = std::stoi(std::string(value()));
    } else {
      usage(("unknown flag " + std::string(a)).c_str());
    }
  }
  return o;
}

/// Last-level cache size: sysfs (index3, then index2), else 32 MiB. (sysconf's
/// _SC_LEVEL3_CACHE_SIZE reports the whole host's L3 in some VMs.)
std::size_t llc_bytes() {
  for (const char* path :
       {"/sys/devices/system/cpu/cpu0/cache/index3/size", "/sys/devices/system/cpu/cpu0/cache/index2/size"}) {
    if (std::FILE* f = std::fopen(path, "r")) {
      unsigned long v = 0;
      char unit = 0;
      const int got = std::fscanf(f, "%lu%c", &v, &unit);
      std::fclose(f);
      if (got >= 1 && v > 0)
        return static_cast<std::size_t>(v) * (unit == 'K' ? 1024u : unit == 'M' ? 1024u * 1024u : 1u);
    }
  }
  return std::size_t{32} << 20;
}

struct aligned_free {
  void operator()(void* p) const { std::free(p); }
};
using buffer = std::unique_ptr<std::byte, aligned_free>;

buffer alloc(std::size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == nullptr) {
    std::fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
    std::exit(1);
  }
  return buffer(static_cast<std::byte*>(p));
}

/// CPU seconds used by the whole process so far (all threads).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct timing {
  double wall;  ///< best wall seconds per call
  double cpu;   ///< process CPU seconds per call in that round (all threads, spinning included)
};

/// Runs fn repeatedly: `reps` rounds of ≥ `seconds` each; returns the best round's seconds
/// per call (wall) and that round's CPU seconds per call.
template <class F>
timing time_best(F&& fn, double seconds, int reps) {
  fn();  // warm-up
  timing best{1e30, 1e30};
  for (int r = 0; r < reps; ++r) {
    std::size_t calls = 0;
    const auto t0 = clock_type::now();
    const double c0 = cpu_seconds();
    double el = 0;
    do {
      fn();
      ++calls;
      el = std::chrono::duration<double>(clock_type::now() - t0).count();
    } while (el < seconds);
    const double per = el / static_cast<double>(calls);
    if (per < best.wall) best = {per, (cpu_seconds() - c0) / static_cast<double>(calls)};
  }
  return best;
}

// ---- memory read bandwidth ------------------------------------------------------------------
/// GB/s of a streaming sum over `bytes` split among the pool's threads.
double read_bandwidth(thread_pool& pool, const float* data, std::size_t n, const options& o) {
  const auto features = mmllm::compute::detect_cpu_features();
  volatile float sink = 0;
  const double s = time_best(
                       [&] {
                         std::vector<float> part(pool.size());
                         pool.run([&](unsigned i, unsigned nt) {
                           const auto [b, e] = thread_pool::partition(n, i, nt, 4096);
                           part[i] = b < e ? mmllm::bench::streaming_sum(features, data + b, e - b) : 0.0f;
                         });
                         float t = 0;
                         for (float v : part) t += v;
                         sink = sink + t;
                       },
                       o.seconds, o.reps)
                       .wall;
  return static_cast<double>(n * sizeof(float)) / s / 1e9;
}

// ---- weights --------------------------------------------------------------------------------
struct weights {
  mmllm::dtype type;
  std::size_t rows, cols, bytes_per_copy;
  std::vector<buffer> copies;
};

weights make_weights(mmllm::dtype t, std::size_t rows, std::size_t cols, bool hot) {
  weights w{t, rows, cols, static_cast<std::size_t>(*mmllm::row_bytes(t, cols)) * rows, {}};
  w.copies.push_back(alloc(w.bytes_per_copy));
  std::mt19937 rng(42);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> src(cols);
  const std::size_t rb = w.bytes_per_copy / rows;
  auto r = mmllm::visit_format(t, [&](auto tag) {
    using Q = typename decltype(tag)::type;
    std::vector<typename Q::block> blocks(cols / Q::block_size);
    // quantize a handful of distinct rows and tile them (quantizing 45M values with the
    // reference quantizers would dominate the run time)
    constexpr std::size_t distinct = 64;
    for (std::size_t i = 0; i < std::min(rows, distinct); ++i) {
      for (float& v : src) v = d(rng);
      Q::quantize_row(src.data(), blocks.data(), cols);
      std::memcpy(w.copies[0].get() + i * rb, blocks.data(), rb);
    }
    for (std::size_t i = distinct; i < rows; ++i)
      std::memcpy(w.copies[0].get() + i * rb, w.copies[0].get() + (i % distinct) * rb, rb);
  });
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().what().c_str());
    std::exit(1);
  }
  if (!hot) {
    const std::size_t target = 4 * llc_bytes();
    while (w.copies.size() * w.bytes_per_copy < target) {
      w.copies.push_back(alloc(w.bytes_per_copy));
      std::memcpy(w.copies.back().get(), w.copies[0].get(), w.bytes_per_copy);
    }
  }
  return w;
}

struct result_line {
  double seconds;
  double gbps;
  double gflops;
  double cpu_share;  ///< CPU seconds per wall second per thread (1 = the threads never waited)
};

result_line bench_matmul(simd& policy, const weights& w, std::size_t batch, const options& o) {
  std::vector<float> x(batch * w.cols), y(batch * w.rows);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : x) v = d(rng);
  const mmllm::matrix_view<const float> xv(x.data(), batch, w.cols);
  const mmllm::matrix_view<float> yv(y.data(), batch, w.rows);
  std::size_t next = 0;
  bool ok = true;
  const timing tm = time_best(
      [&] {
        const auto wv = mmllm::any_matrix_view::dense(w.type, w.copies[next].get(), w.rows, w.cols);
        next = (next + 1) % w.copies.size();
        ok = ok && static_cast<bool>(policy.matmul(xv, wv, yv));
      },
      o.seconds, o.reps);
  if (!ok) std::fprintf(stderr, "matmul failed\n");
  const double s = tm.wall;
  return {s, static_cast<double>(w.bytes_per_copy) / s / 1e9,
          2.0 * static_cast<double>(batch * w.rows * w.cols) / s / 1e9,
          tm.cpu / s / static_cast<double>(policy.n_threads())};
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  const auto feat = mmllm::compute::detect_cpu_features();
  const isa level = o.level ? std::min(*o.level, feat.best()) : feat.best();
  std::printf(
      "mmllm-bench-kernels: level %s (cpu: avx2 %d avx512 %d vnni %d bf16 %d), LLC %zu MiB, weights %s\n",
      std::string(to_string(level)).c_str(), feat.avx2, feat.avx512, feat.avx512_vnni, feat.avx512_bf16,
      llc_bytes() >> 20, o.hot ? "hot (cache-resident when they fit)" : "rotated over copies > 4x LLC");

  // 1. read bandwidth per thread count
  std::vector<double> bw(o.threads.size());
  {
    const std::size_t n = 8 * llc_bytes() / sizeof(float);
    buffer buf = alloc(n * sizeof(float));
    auto* f = reinterpret_cast<float*>(buf.get());
    for (std::size_t i = 0; i < n; ++i) f[i] = static_cast<float>(i & 7);
    for (std::size_t i = 0; i < o.threads.size(); ++i) {
      thread_pool pool(o.threads[i]);
      bw[i] = read_bandwidth(pool, f, n, o);
      std::printf("read bandwidth t=%u: %.1f GB/s (streaming sum over %zu MiB)\n", o.threads[i], bw[i],
                  n * sizeof(float) >> 20);
    }
  }

  // 2. matmul per dtype / shape / batch / threads
  if (o.matmul) {
    for (mmllm::dtype t : o.dtypes) {
      for (auto [rows, cols] : o.shapes) {
        const weights w = make_weights(t, rows, cols, o.hot);
        for (std::size_t batch : o.batches) {
          for (std::size_t ti = 0; ti < o.threads.size(); ++ti) {
            thread_pool pool(o.threads[ti]);
            simd policy(level, pool);
            if (o.gemm_min_rows) policy.options().gemm_min_rows = *o.gemm_min_rows;
            const auto r = bench_matmul(policy, w, batch, o);
            const char* kind = batch == 1 ? "matvec" : "matmat";
            std::printf(
                "%-5s %s %zux%zu b=%zu t=%u: %7.3f ms  %6.1f GB/s = %3.0f%% of read bandwidth  %7.1f GFLOP/s"
                "  (cpu %.2f)\n",
                std::string(mmllm::name_of(t)).c_str(), kind, rows, cols, batch, o.threads[ti],
                r.seconds * 1e3, r.gbps, 100.0 * r.gbps / bw[ti], r.gflops, r.cpu_share);
            std::fflush(stdout);
          }
        }
      }
    }
  }

  // 3. GEMM at the vision-encoder shape
  if (o.gemm) {
    for (mmllm::dtype t : {mmllm::dtype::f32, mmllm::dtype::f16}) {
      const weights w = make_weights(t, o.gemm_out, o.gemm_in, true);
      for (std::size_t ti = 0; ti < o.threads.size(); ++ti) {
        thread_pool pool(o.threads[ti]);
        simd policy(level, pool);
        if (o.gemm_min_rows) policy.options().gemm_min_rows = *o.gemm_min_rows;
        const auto r = bench_matmul(policy, w, o.gemm_tokens, o);
        std::printf(
            "%-5s gemm %zu tokens x %zu -> %zu t=%u: %8.2f ms  %7.1f GFLOP/s  (cpu %.2f: %.1f GFLOP/s per "
            "busy core)\n",
            std::string(mmllm::name_of(t)).c_str(), o.gemm_tokens, o.gemm_in, o.gemm_out, o.threads[ti],
            r.seconds * 1e3, r.gflops, r.cpu_share,
            r.gflops / std::max(0.01, r.cpu_share * static_cast<double>(o.threads[ti])));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
