#include <mmllm/core/tensor_view.hpp>

#include <array>
#include <numeric>

#include "catch.hpp"

using mmllm::dynamic_extent;
using mmllm::extents;
using mmllm::matrix_view;
using mmllm::tensor_view;

TEST_CASE("contiguous matrix view indexing, rows and slices") {
  std::array<float, 12> buf{};
  std::iota(buf.begin(), buf.end(), 0.0f);
  matrix_view<float> m(buf.data(), 3, 4);
  CHECK(m.extent(0) == 3);
  CHECK(m.extent(1) == 4);
  CHECK(m.size() == 12);
  CHECK(m.is_contiguous());
  CHECK(m(2, 1) == 9.0f);
  auto r = m.row(1);
  CHECK(r.extent(0) == 4);
  CHECK(r[3] == 7.0f);
  auto cols = m.slice<1>(1, 3);  // columns 1..2
  CHECK(cols.extent(1) == 2);
  CHECK(cols(0, 0) == 1.0f);
  CHECK(cols(2, 1) == 10.0f);
  CHECK_FALSE(cols.is_contiguous());
  auto rows = m.slice<0>(1, 3);
  CHECK(rows.is_contiguous());
  CHECK(rows(0, 0) == 4.0f);
  rows(1, 3) = -1.0f;
  CHECK(buf[11] == -1.0f);
  matrix_view<const float> cm = m;  // const conversion
  CHECK(cm(1, 1) == 5.0f);
}

TEST_CASE("static extents cost no storage and mix with dynamic ones") {
  using e = extents<dynamic_extent, 8>;
  static_assert(e::rank == 2 && e::rank_dynamic == 1);
  static_assert(sizeof(extents<4, 8>) == 1);  // empty array member
  std::array<int, 24> buf{};
  tensor_view<int, e> v(buf.data(), e(3));
  CHECK(v.extent(1) == 8);
  v(2, 7) = 5;
  CHECK(buf[23] == 5);
  auto row = v.row(2);
  static_assert(decltype(row)::extents_type::static_extent(0) == 8);
  CHECK(row[7] == 5);
}

TEST_CASE("strided views (transposed) report non-contiguity") {
  std::array<int, 6> buf{0, 1, 2, 3, 4, 5};                          // 2×3 row-major
  matrix_view<int> t(buf.data(), mmllm::dextents<2>(3, 2), {1, 3});  // its transpose
  CHECK(t(0, 1) == 3);
  CHECK(t(2, 0) == 2);
  CHECK_FALSE(t.is_contiguous());
}

constexpr int constexpr_sum() {
  std::array<int, 6> buf{1, 2, 3, 4, 5, 6};
  tensor_view<int, extents<2, 3>> v(buf.data(), extents<2, 3>{});
  int s = 0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) s += v(i, j) * static_cast<int>(i + 1);
  return s;
}
static_assert(constexpr_sum() == 1 + 2 + 3 + 2 * (4 + 5 + 6));

TEST_CASE("tensor_view is usable in constant expressions") { CHECK(constexpr_sum() == 36); }
