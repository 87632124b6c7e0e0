// matmul of compute::simd for every supported weight dtype, every level the CPU has, 1 and
// several threads, odd shapes and padded strides, against compute::scalar.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/core/quant_formats.hpp>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "compute_test_support.hpp"

using mmllm::any_matrix_view;
using mmllm::dtype;
using mmllm::compute::isa;
using mmllm::compute::scalar;
using mmllm::compute::simd;
using mmllm::compute::thread_pool;
using mmllm::test::test_matrix;

namespace {

/// Weights of format Q: `rows` rows of `cols` values quantized with the format's reference,
/// stored with `pad_bytes` extra bytes per row; also the dequantized values.
struct test_weights {
  dtype type;
  std::size_t rows, cols, stride;
  std::vector<std::byte> bytes;
  std::vector<float> dequant;  // rows × cols

  any_matrix_view view() const { return {type, bytes.data(), rows, cols, stride}; }
};

template <class Q>
test_weights make_weights(std::size_t rows, std::size_t cols, std::mt19937& rng, std::size_t pad_bytes = 0) {
  test_weights w{Q::id, rows, cols, cols / Q::block_size * sizeof(typename Q::block) + pad_bytes, {}, {}};
  w.bytes.assign(w.rows * w.stride + 64, std::byte{0x5a});
  w.dequant.resize(rows * cols);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> src(cols);
  std::vector<typename Q::block> blocks(cols / Q::block_size);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t i = 0; i < cols; ++i) src[i] = (i % 97 == 5) ? 8.0f * d(rng) : d(rng);
    Q::quantize_row(src.data(), blocks.data(), cols);
    std::memcpy(w.bytes.data() + r * w.stride, blocks.data(), blocks.size() * sizeof(typename Q::block));
    Q::dequantize_row(blocks.data(), w.dequant.data() + r * cols, cols);
  }
  return w;
}

/// |got − want| ≤ tol·Σ_i |x_i·w_i| + 1e-30 for every element.
bool within(const test_matrix& got, const test_matrix& want, const test_matrix& x, const test_weights& w,
            double tol, std::string& why) {
  for (std::size_t t = 0; t < got.rows; ++t)
    for (std::size_t o = 0; o < got.cols; ++o) {
      double mag = 0;
      for (std::size_t i = 0; i < w.cols; ++i)
        mag += std::fabs(static_cast<double>(x.at(t, i)) * w.dequant[o * w.cols + i]);
      const double err = std::fabs(static_cast<double>(got.at(t, o)) - want.at(t, o));
      if (!(err <= tol * mag + 1e-30)) {
        why = "t " + std::to_string(t) + " o " + std::to_string(o) + ": got " + std::to_string(got.at(t, o)) +
              " want " + std::to_string(want.at(t, o)) + " (sum|xw| " + std::to_string(mag) + ")";
        return false;
      }
    }
  return true;
}

struct shape {
  std::size_t t, o, k_blocks;
};

// Tolerance: both sides use the same converted activations (bit-exact conversion at every
// level), so they differ only by summation order and the per-block float scaling of the
// SIMD kernels: ≤ ~K·2^-24·Σ|x·w| in the worst case, ~√K·2^-24·Σ|x·w| in practice.
// 2e-5·Σ|x·w| passes that for K ≤ 4096 and still fails for any dropped or doubled term
// (each is ~Σ|x·w|/K ≥ 2.4e-4·Σ|x·w| on this random data).
constexpr double tolerance = 2e-5;

template <class Q>
void check_format(thread_pool& pool) {
  std::mt19937 rng(1234 + static_cast<unsigned>(Q::id));
  const bool plain = Q::block_size == 1;
  std::vector<shape> shapes = {{1, 1, 1},  {1, 33, 3},  {1, 100, 2}, {2, 7, 1},
                               {5, 33, 2}, {17, 40, 3}, {64, 65, 1}};
  if (plain) {
    shapes.push_back({1, 9, 4097});
    shapes.push_back({3, 5, 7});
    shapes.push_back({40, 70, 33});
    shapes.push_back({300, 600, 300});  // several GEMM tiles in both directions
    shapes.push_back({16, 17, 1});
  } else {
    shapes.push_back({1, 64, 4096 / Q::block_size});
    shapes.push_back({20, 48, 1024 / Q::block_size});
    // batches of several 16-token panels, ragged rows, K not a whole number of chunks
    shapes.push_back({50, 70, 2560 / Q::block_size});
  }
  for (const shape& s : shapes) {
    const std::size_t k = s.k_blocks * Q::block_size;
    const test_weights w = make_weights<Q>(s.o, k, rng, plain ? 4 : 0);
    test_matrix x(s.t, k, 5), want(s.t, s.o, 2);
    x.randomize(rng);
    scalar ref;
    REQUIRE(ref.matmul(x.cview(), w.view(), want.view()));
    for (isa level : mmllm::test::available_levels()) {
      INFO(name_of(Q::id) << " level " << to_string(level) << " t " << s.t << " o " << s.o << " k " << k);
      test_matrix y1(s.t, s.o, 2);
      simd one(level);
      REQUIRE(one.matmul(x.cview(), w.view(), y1.view()));
      std::string why;
      const bool close = within(y1, want, x, w, tolerance, why);
      INFO(why);
      CHECK(close);
      CHECK(y1.padding_intact());
      // the design guarantees identical bits for any thread count
      simd two(level, pool);
      test_matrix y2(s.t, s.o, 2);
      REQUIRE(two.matmul(x.cview(), w.view(), y2.view()));
      CHECK(mmllm::test::bitwise_equal(y1, y2));
      thread_pool three(3);
      simd three_threads(level, three);
      test_matrix y3(s.t, s.o, 2);
      REQUIRE(three_threads.matmul(x.cview(), w.view(), y3.view()));
      CHECK(mmllm::test::bitwise_equal(y1, y3));
    }
  }
}

template <class... Q>
void check_all(mmllm::format_list<Q...>, thread_pool& pool) {
  (check_format<Q>(pool), ...);
}

}  // namespace

TEST_CASE("matmul matches the reference for every dtype, level and thread count") {
  thread_pool pool(2);
  check_all(mmllm::all_formats{}, pool);
}

TEST_CASE("GEMM and dot paths agree for plain weights; peer rounding can be switched off") {
  std::mt19937 rng(77);
  thread_pool pool(2);
  const std::size_t t = 40, o = 50, k = 130;
  test_matrix x(t, k);
  x.randomize(rng);
  for (isa level : mmllm::test::available_levels()) {
    INFO("level " << to_string(level));
    // f16 weights: with peer rounding off the result must match f32 weights holding the
    // same (exactly representable) values, i.e. unrounded activations.
    const test_weights wh = make_weights<mmllm::fmt::f16>(o, k, rng);
    test_weights wf{dtype::f32, o, k, k * sizeof(float), {}, wh.dequant};
    wf.bytes.resize(o * k * sizeof(float));
    std::memcpy(wf.bytes.data(), wh.dequant.data(), wf.bytes.size());
    scalar ref;
    test_matrix want(t, o), got(t, o), dot(t, o);
    REQUIRE(ref.matmul(x.cview(), wf.view(), want.view()));
    simd s(level, pool);
    s.options().peer_activation_rounding = false;
    REQUIRE(s.matmul(x.cview(), wh.view(), got.view()));
    std::string why;
    const bool close = within(got, want, x, wf, tolerance, why);
    INFO(why);
    CHECK(close);
    // default (peer rounding): GEMM path equals the dot path (which rounds x to f16) within tolerance
    s.options().peer_activation_rounding = true;
    REQUIRE(s.matmul(x.cview(), wh.view(), got.view()));
    s.options().gemm_min_rows = 1000;  // force the dot path
    REQUIRE(s.matmul(x.cview(), wh.view(), dot.view()));
    const bool agree = within(got, dot, x, wh, tolerance, why);
    INFO(why);
    CHECK(agree);
  }
}

TEST_CASE("matmul reports unsupported dtypes and mismatched shapes") {
  std::vector<float> buf(64 * 64, 1.0f);
  test_matrix x(2, 64), y(2, 8);
  simd s;
  scalar ref;
  const any_matrix_view bad_type{dtype::iq2_xxs, reinterpret_cast<const std::byte*>(buf.data()), 8, 256, 66};
  auto r = s.matmul(x.cview(), bad_type, y.view());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::unsupported);
  CHECK_FALSE(ref.matmul(x.cview(), bad_type, y.view()));
  const auto w = any_matrix_view::dense(dtype::f32, buf.data(), 8, 63);
  CHECK_FALSE(s.matmul(x.cview(), w, y.view()));
  const auto q = any_matrix_view::dense(dtype::q4_0, buf.data(), 8, 48);  // not a multiple of 32
  test_matrix x48(2, 48);
  auto rq = s.matmul(x48.cview(), q, y.view());
  REQUIRE_FALSE(rq);
  CHECK(rq.error().code == mmllm::errc::invalid_argument);
}
