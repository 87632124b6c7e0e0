// mmllm/compute/executor_ref.hpp — a non-owning, type-erased reference to any `executor`.
//
// Compute policies take their threads from the caller. `executor_ref` lets a policy hold
// any `executor` (mmllm's `thread_pool`, or an adapter over a game engine's job system)
// without being a template over it. An empty `executor_ref` runs every job on the caller.
//
//   mmllm::compute::thread_pool pool(2);
//   mmllm::compute::simd policy(pool);          // converts to executor_ref
//
// Adapting another pool: anything with `unsigned size()` and `run(fn)` that calls
// fn(i, size()) for every i in [0, size()) and returns when all calls have returned.
// mmllm's jobs never wait for one another, so an adapter may run the calls in any order,
// on any number of threads, or one after another on the calling thread.
//
//   struct engine_pool_adapter {
//     engine::jobs* jobs;
//     unsigned size() const { return jobs->worker_count(); }
//     template <class F> void run(F&& fn) {
//       const unsigned n = size();
//       jobs->parallel_for(n, [&](unsigned i) { fn(i, n); });   // blocks until done
//     }
//   };
#pragma once

#include <memory>
#include <type_traits>

#include "thread_pool.hpp"

namespace mmllm::compute {

/// Non-owning reference to an executor (the referenced object must outlive every use).
/// Models `executor` itself; an empty reference has size() 1 and runs jobs on the caller.
class executor_ref {
 public:
  /// Empty: jobs run on the calling thread.
  constexpr executor_ref() noexcept = default;

  /// Refers to `e` (not copied; keep it alive while this reference is used).
  template <executor E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, executor_ref>) executor_ref(E& e)
  noexcept  // NOLINT
      : obj_(std::addressof(e)), size_(&size_thunk<E>), run_(&run_thunk<E>) {}

  /// Number of threads a job runs on (1 when empty).
  [[nodiscard]] unsigned size() const noexcept { return obj_ != nullptr ? size_(obj_) : 1u; }

  /// True when this refers to an executor.
  explicit operator bool() const noexcept { return obj_ != nullptr; }

  /// Calls fn(i, size()) for every i in [0, size()) and returns when all calls have returned.
  template <class F>
  void run(F&& fn) const {
    if (obj_ == nullptr) {
      fn(0u, 1u);
      return;
    }
    using fn_t = std::remove_reference_t<F>;
    run_(
        obj_, [](void* ctx, unsigned i, unsigned n) { (*static_cast<fn_t*>(ctx))(i, n); },
        const_cast<void*>(static_cast<const void*>(std::addressof(fn))));  // NOLINT
  }

 private:
  using job_fn = void (*)(void*, unsigned, unsigned);

  template <class E>
  static unsigned size_thunk(void* obj) noexcept {
    return static_cast<unsigned>(static_cast<E*>(obj)->size());
  }
  template <class E>
  static void run_thunk(void* obj, job_fn job, void* ctx) {
    static_cast<E*>(obj)->run([job, ctx](unsigned i, unsigned n) { job(ctx, i, n); });
  }

  void* obj_ = nullptr;
  unsigned (*size_)(void*) noexcept = nullptr;
  void (*run_)(void*, job_fn, void*) = nullptr;
};

static_assert(executor<executor_ref>);

}  // namespace mmllm::compute
