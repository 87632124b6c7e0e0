// bench/read_bandwidth.hpp — the machine's memory read bandwidth as the benchmarks measure it:
// a streaming sum (AVX-512 / AVX2 / portable) over a buffer much larger than the last-level
// cache, split among a thread pool's threads. Shared by mmllm-bench-kernels and mmllm-bench.
#pragma once

#include <mmllm/compute/isa.hpp>
#include <mmllm/compute/simd_math.hpp>
#include <mmllm/compute/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <new>
#include <vector>

#if MMLLM_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

namespace mmllm::bench {

MMLLM_KERNELS_BEGIN
#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX512 inline float sum_avx512(const float* p, std::size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}
MMLLM_TARGET_AVX2 inline float sum_avx2(const float* p, std::size_t n) {
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

/// Sum of p[0, n) (n a multiple of 64), with the widest loads `f` allows.
inline float streaming_sum(const mmllm::compute::cpu_features& f, const float* p, std::size_t n) {
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

/// A buffer for the streaming-read measurement, first touched by the threads that read it.
class bandwidth_probe {
 public:
  bandwidth_probe(mmllm::compute::thread_pool& pool, std::size_t bytes)
      : pool_(&pool), n_(bytes / sizeof(float) / 4096 * 4096), part_(pool.size()) {
    data_ = static_cast<float*>(::operator new (n_ * sizeof(float), std::align_val_t{64}));
    pool.run([&](unsigned i, unsigned nt) {
      const auto [b, e] = mmllm::compute::thread_pool::partition(n_, i, nt, 4096);
      for (std::size_t k = b; k < e; ++k) data_[k] = 1.0f;
    });
  }
  bandwidth_probe(const bandwidth_probe&) = delete;
  bandwidth_probe& operator=(const bandwidth_probe&) = delete;
  ~bandwidth_probe() { ::operator delete (data_, std::align_val_t{64}); }

  [[nodiscard]] std::size_t bytes() const noexcept { return n_ * sizeof(float); }

  /// Best GB/s over `passes` streaming sums of the whole buffer.
  double measure(int passes) {
    double best = 0;
    for (int r = 0; r < passes; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      pool_->run([&](unsigned i, unsigned nt) {
        const auto [b, e] = mmllm::compute::thread_pool::partition(n_, i, nt, 4096);
        part_[i] = b < e ? streaming_sum(features_, data_ + b, e - b) : 0.0f;
      });
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      float t = 0;
      for (const float v : part_) t += v;
      sink_ = sink_ + t;
      best = std::max(best, static_cast<double>(bytes()) / s / 1e9);
    }
    return best;
  }

 private:
  mmllm::compute::thread_pool* pool_;
  std::size_t n_;
  float* data_ = nullptr;
  std::vector<float> part_;
  mmllm::compute::cpu_features features_ = mmllm::compute::detect_cpu_features();
  volatile float sink_ = 0;
};

}  // namespace mmllm::bench
