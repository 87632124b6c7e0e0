// executor_ref (type-erased executors, including a foreign pool adapter) and workspace.
#include <mmllm/compute/executor_ref.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/compute/workspace.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <vector>

#include "catch.hpp"
#include "compute_test_support.hpp"

using mmllm::compute::executor_ref;
using mmllm::compute::thread_pool;
using mmllm::compute::workspace;

namespace {
/// A "foreign" executor that runs the n calls one after another on the caller, in reverse
/// order (a legal executor: mmllm's jobs must not wait for each other).
struct sequential_reverse_executor {
  unsigned n = 4;
  unsigned calls = 0;
  unsigned size() const { return n; }
  template <class F>
  void run(F&& fn) {
    ++calls;
    for (unsigned i = n; i-- > 0;) fn(i, n);
  }
};
}  // namespace

TEST_CASE("empty executor_ref runs on the caller") {
  executor_ref e;
  CHECK_FALSE(e);
  CHECK(e.size() == 1);
  int calls = 0;
  e.run([&](unsigned i, unsigned n) {
    CHECK(i == 0);
    CHECK(n == 1);
    ++calls;
  });
  CHECK(calls == 1);
}

TEST_CASE("executor_ref forwards to a thread_pool and to foreign executors") {
  thread_pool pool(3);
  executor_ref e(pool);
  CHECK(e);
  CHECK(e.size() == 3);
  std::vector<std::atomic<int>> hits(3);
  e.run([&](unsigned i, unsigned n) {
    CHECK(n == 3);
    hits[i].fetch_add(1);
  });
  for (auto& h : hits) CHECK(h.load() == 1);

  sequential_reverse_executor seq;
  executor_ref f(seq);
  CHECK(f.size() == 4);
  std::vector<unsigned> order;
  f.run([&](unsigned i, unsigned) { order.push_back(i); });
  CHECK(order == std::vector<unsigned>{3, 2, 1, 0});
  CHECK(seq.calls == 1);
}

TEST_CASE("kernels give the same bits on a sequential foreign executor as on the caller") {
  std::mt19937 rng(9);
  mmllm::test::test_matrix x(64, 1024), y1(64, 1024), y2(64, 1024);
  x.randomize(rng);
  std::vector<float> w(512 * 1024);
  std::normal_distribution<float> d(0.0f, 0.05f);
  for (float& v : w) v = d(rng);
  const auto wv = mmllm::any_matrix_view::dense(mmllm::dtype::f32, w.data(), 512, 1024);
  mmllm::test::test_matrix m1(64, 512), m2(64, 512);
  sequential_reverse_executor seq;
  mmllm::compute::simd alone, foreign(seq);
  alone.silu(x.cview(), y1.view());
  foreign.silu(x.cview(), y2.view());
  CHECK(mmllm::test::bitwise_equal(y1, y2));
  REQUIRE(alone.matmul(x.cview(), wv, m1.view()));
  REQUIRE(foreign.matmul(x.cview(), wv, m2.view()));
  CHECK(mmllm::test::bitwise_equal(m1, m2));
  CHECK(seq.calls >= 2);
}

TEST_CASE("workspace grows, stays aligned, and is reused") {
  workspace ws;
  CHECK(ws.capacity() == 0);
  std::byte* a = ws.get(100);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % workspace::alignment == 0);
  CHECK(ws.capacity() >= 100);
  CHECK(ws.get(50) == a);  // no reallocation when it fits
  std::byte* b = ws.get(1 << 20);
  REQUIRE(b != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(b) % workspace::alignment == 0);
  CHECK(ws.capacity() >= (1u << 20));
  workspace moved = std::move(ws);
  CHECK(moved.capacity() >= (1u << 20));
  CHECK(ws.capacity() == 0);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  moved.release();
  CHECK(moved.capacity() == 0);
}
