#include <mmllm/compute/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "catch.hpp"

using mmllm::compute::inline_executor;
using mmllm::compute::thread_pool;

// Catch2 assertions are not thread-safe: jobs only record, the test thread checks.
TEST_CASE("run calls the job once per index, overlapping calls have distinct indices") {
  for (unsigned n : {1u, 2u, 3u, 8u}) {
    thread_pool pool(n);
    REQUIRE(pool.size() == n);
    for (int rep = 0; rep < 200; ++rep) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<unsigned> active{0};  // bit i set while index i runs
      std::atomic<bool> bad_n{false}, overlap{false};
      pool.run([&](unsigned i, unsigned nt) {
        if (nt != n) bad_n = true;
        if (active.fetch_or(1u << i) & (1u << i)) overlap = true;
        hits[i].fetch_add(1);
        active.fetch_and(~(1u << i));
      });
      CHECK_FALSE(bad_n.load());
      CHECK_FALSE(overlap.load());
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("the caller runs indices that sleeping workers have not claimed") {
  // After a pause the workers sleep; a job of trivial calls is mostly over before they wake,
  // so the calling thread runs most indices itself and run() returns without waiting for
  // them. Every index must still run exactly once, on some thread.
  thread_pool pool(4);
  const auto caller = std::this_thread::get_id();
  int caller_extra = 0;
  for (int rep = 0; rep < 20; ++rep) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rep % 4 == 0 ? 20 : 0));
    std::vector<std::atomic<int>> hits(4);
    std::vector<std::thread::id> who(4);
    pool.run([&](unsigned i, unsigned) {
      who[i] = std::this_thread::get_id();
      hits[i].fetch_add(1);
    });
    for (auto& h : hits) REQUIRE(h.load() == 1);
    CHECK(who[0] == caller);
    for (unsigned i = 1; i < 4; ++i) caller_extra += who[i] == caller ? 1 : 0;
  }
  INFO("indices > 0 run by the caller: " << caller_extra);
  SUCCEED();
}

TEST_CASE("parallel_for covers [0, n) exactly once, grain-aligned") {
  thread_pool pool(3);
  for (std::size_t n : {0u, 1u, 2u, 7u, 64u, 1000u}) {
    for (std::size_t grain : {1u, 4u, 32u}) {
      std::vector<std::atomic<int>> seen(n);
      std::atomic<bool> empty_range{false}, misaligned{false};
      pool.parallel_for(
          n,
          [&](std::size_t b, std::size_t e) {
            if (b >= e) empty_range = true;
            if (b % grain != 0) misaligned = true;
            for (std::size_t i = b; i < e; ++i) seen[i].fetch_add(1);
          },
          grain);
      CHECK_FALSE(empty_range.load());
      CHECK_FALSE(misaligned.load());
      for (auto& s : seen) REQUIRE(s.load() == 1);
    }
  }
}

TEST_CASE("partition splits evenly") {
  std::size_t total = 0;
  for (unsigned i = 0; i < 4; ++i) {
    auto [b, e] = thread_pool::partition(10, i, 4);
    CHECK(e - b >= 2);
    CHECK(e - b <= 3);
    total += e - b;
  }
  CHECK(total == 10);
}

TEST_CASE("inline_executor runs on the caller") {
  inline_executor ex;
  int calls = 0;
  thread_pool::parallel_for_on(ex, 10, [&](std::size_t b, std::size_t e) {
    CHECK(b == 0);
    CHECK(e == 10);
    ++calls;
  });
  CHECK(calls == 1);
}

TEST_CASE("a pool survives many short jobs and parallel sums are right") {
  thread_pool pool(2);
  std::vector<int> v(100000);
  std::iota(v.begin(), v.end(), 0);
  for (int rep = 0; rep < 2000; ++rep) {
    std::atomic<long long> sum{0};
    pool.parallel_for(v.size(), [&](std::size_t b, std::size_t e) {
      long long s = 0;
      for (std::size_t i = b; i < e; ++i) s += v[i];
      sum += s;
    });
    REQUIRE(sum.load() == 100000LL * 99999 / 2);
  }
}
