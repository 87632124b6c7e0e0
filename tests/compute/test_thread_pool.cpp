#include <mmllm/compute/thread_pool.hpp>

#include <atomic>
#include <numeric>
#include <set>
#include <vector>

#include "catch.hpp"

using mmllm::compute::inline_executor;
using mmllm::compute::thread_pool;

TEST_CASE("run calls the job once per thread with distinct indices") {
  for (unsigned n : {1u, 2u, 3u, 8u}) {
    thread_pool pool(n);
    REQUIRE(pool.size() == n);
    for (int rep = 0; rep < 200; ++rep) {
      std::vector<std::atomic<int>> hits(n);
      pool.run([&](unsigned i, unsigned nt) {
        REQUIRE(nt == n);
        hits[i].fetch_add(1);
      });
      for (auto& h : hits) REQUIRE(h.load() == 1);
    }
  }
}

TEST_CASE("parallel_for covers [0, n) exactly once, grain-aligned") {
  thread_pool pool(3);
  for (std::size_t n : {0u, 1u, 2u, 7u, 64u, 1000u}) {
    for (std::size_t grain : {1u, 4u, 32u}) {
      std::vector<std::atomic<int>> seen(n);
      pool.parallel_for(
          n,
          [&](std::size_t b, std::size_t e) {
            REQUIRE(b < e);
            REQUIRE((b % grain == 0));
            for (std::size_t i = b; i < e; ++i) seen[i].fetch_add(1);
          },
          grain);
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
