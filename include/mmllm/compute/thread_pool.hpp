// mmllm/compute/thread_pool.hpp — caller-owned worker threads and the `executor` concept.
//
// mmllm never starts threads on its own. A program that wants parallel kernels creates a
// `thread_pool` (or adapts its own pool to the `executor` concept) and hands it to a
// compute policy. `run(fn)` calls fn(index, n_threads) once for every index in
// [0, n_threads) — the calling thread runs index 0 — and returns when all calls have
// returned; calls that overlap in time always have distinct indices. Workers spin briefly
// after a job (kernels arrive back to back during generation), then sleep.
// Indices are claimed, not assigned: a worker takes the next unclaimed index when it wakes,
// and the caller, once done with index 0, runs every index no worker has claimed yet. So a
// worker that the OS has not scheduled (cores shared with other programs) never holds up a
// job it has not started; the caller only waits for calls already running.
//
//   mmllm::compute::thread_pool pool(4);
//   pool.parallel_for(rows, [&](std::size_t begin, std::size_t end) { ... });
#pragma once

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mmllm::compute {

/// Runs a job on a fixed set of threads: `run(fn)` calls fn(i, size()) for i in [0, size()).
template <class E>
concept executor = requires(E& e, void (*fn)(unsigned, unsigned)) {
  { e.size() } -> std::convertible_to<unsigned>;
  e.run(fn);
};

/// Executor with one thread: the caller. The default when no pool is given.
struct inline_executor {
  [[nodiscard]] static constexpr unsigned size() noexcept { return 1; }
  template <class F>
  void run(F&& fn) const {
    fn(0u, 1u);
  }
};

namespace detail {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
}  // namespace detail

/// A fixed pool of `n_threads - 1` workers plus the calling thread.
class thread_pool {
 public:
  /// `n_threads` counts the caller; 0 means std::thread::hardware_concurrency().
  explicit thread_pool(unsigned n_threads = 0) {
    if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
    n_threads_ = n_threads;
    workers_.reserve(n_threads - 1);
    for (unsigned i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  ~thread_pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
  }

  [[nodiscard]] unsigned size() const noexcept { return n_threads_; }

  /// Calls fn(i, size()) once for every index i in [0, size()) and waits for all of them.
  /// The caller runs index 0, then every index no worker has claimed yet; concurrent calls
  /// have distinct indices. fn must not throw. Not reentrant: call from one thread at a time.
  template <class F>
  void run(F&& fn) {
    if (n_threads_ == 1) {
      fn(0u, 1u);
      return;
    }
    using fn_t = std::remove_reference_t<F>;
    job_ = [](void* ctx, unsigned i, unsigned n) { (*static_cast<fn_t*>(ctx))(i, n); };
    job_ctx_ = const_cast<void*>(static_cast<const void*>(std::addressof(fn)));
    done_.store(0, std::memory_order_relaxed);
    next_index_.store(1, std::memory_order_release);  // publishes job_ / job_ctx_ to claimers
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    fn(0u, n_threads_);
    // Run the indices no worker has claimed yet; then wait for the claimed ones.
    unsigned own = 1;
    for (unsigned i = next_index_.fetch_add(1, std::memory_order_acq_rel); i < n_threads_;
         i = next_index_.fetch_add(1, std::memory_order_acq_rel)) {
      fn(i, n_threads_);
      ++own;
    }
    const unsigned expect = n_threads_ - own;
    for (unsigned spin = 0;; ++spin) {
      const unsigned d = done_.load(std::memory_order_acquire);
      if (d == expect) break;
      if (spin < spin_limit) {
        detail::cpu_relax();
      } else {
        done_.wait(d, std::memory_order_acquire);
      }
    }
  }

  /// Splits [0, n) into size() contiguous ranges of near-equal length (multiples of
  /// `grain`, except the last) and calls fn(begin, end) for each non-empty one.
  template <class F>
  void parallel_for(std::size_t n, F&& fn, std::size_t grain = 1) {
    parallel_for_on(*this, n, std::forward<F>(fn), grain);
  }

  /// Static partition of [0, n) for thread i of nt (grain-aligned); returns {begin, end}.
  static constexpr std::pair<std::size_t, std::size_t> partition(std::size_t n, unsigned i, unsigned nt,
                                                                 std::size_t grain = 1) noexcept {
    const std::size_t units = (n + grain - 1) / grain;
    const std::size_t per = units / nt, extra = units % nt;
    const std::size_t ub = i * per + std::min<std::size_t>(i, extra);
    const std::size_t ue = ub + per + (i < extra ? 1 : 0);
    return {std::min(n, ub * grain), std::min(n, ue * grain)};
  }

  /// Runs fn(begin, end) on the executor's threads over a static partition of [0, n).
  template <executor E, class F>
  static void parallel_for_on(E& ex, std::size_t n, F&& fn, std::size_t grain = 1) {
    if (n == 0) return;
    if (ex.size() == 1 || n <= grain) {
      fn(std::size_t{0}, n);
      return;
    }
    ex.run([&](unsigned i, unsigned nt) {
      const auto [b, e] = partition(n, i, nt, grain);
      if (b < e) fn(b, e);
    });
  }

 private:
  static constexpr unsigned spin_limit = 1u << 14;

  void worker_loop() {
    std::uint64_t seen = 0;
    for (;;) {
      // Wait for a new generation: spin, then sleep on the atomic.
      std::uint64_t g = generation_.load(std::memory_order_acquire);
      for (unsigned spin = 0; g == seen; ++spin) {
        if (spin < spin_limit) {
          detail::cpu_relax();
        } else {
          generation_.wait(seen, std::memory_order_acquire);
        }
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      // Claim indices of the current job until none is left (a late claim may land in the
      // next job, which is then already published: the claim reads its job_).
      for (unsigned i = next_index_.fetch_add(1, std::memory_order_acq_rel); i < n_threads_;
           i = next_index_.fetch_add(1, std::memory_order_acq_rel)) {
        job_(job_ctx_, i, n_threads_);
        done_.fetch_add(1, std::memory_order_acq_rel);
        done_.notify_one();
      }
    }
  }

  unsigned n_threads_ = 1;
  std::vector<std::thread> workers_;
  alignas(64) std::atomic<std::uint64_t> generation_{0};
  alignas(64) std::atomic<unsigned> next_index_{0};  ///< next unclaimed index of the current job
  alignas(64) std::atomic<unsigned> done_{0};        ///< indices finished by workers in this job
  std::atomic<bool> stop_{false};
  void (*job_)(void*, unsigned, unsigned) = nullptr;
  void* job_ctx_ = nullptr;
};

static_assert(executor<thread_pool>);
static_assert(executor<inline_executor>);

}  // namespace mmllm::compute
