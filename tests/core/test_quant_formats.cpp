// The format type list, visit_format dispatch, the rounding helpers (against the C library
// and the documented x86 instruction semantics), the x86 activation-rounding peer quirk,
// and edge cases (zero rows, large values, tiny values) for every format.
#include <mmllm/core/quant_formats.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "catch.hpp"

using namespace mmllm;

namespace {

template <class... Q>
std::vector<dtype> ids_of(format_list<Q...>) {
  return {Q::id...};
}

/// Quantizes x with Q, dequantizes again; returns the round trip.
template <class Q>
std::vector<float> round_trip(const std::vector<float>& x) {
  std::vector<typename Q::block> b(x.size() / Q::block_size);
  std::vector<float> y(x.size());
  Q::quantize_row(x.data(), b.data(), x.size());
  Q::dequantize_row(b.data(), y.data(), x.size());
  return y;
}

template <class F, class... Q>
void for_each_format(format_list<Q...>, F&& f) {
  (f(std::type_identity<Q>{}), ...);
}

}  // namespace

TEST_CASE("all_formats holds exactly the dtypes marked supported") {
  const auto ids = ids_of(all_formats{});
  for (std::uint32_t i = 0; i < 64; ++i) {
    const auto t = traits_of(i);
    const bool listed = std::find(ids.begin(), ids.end(), static_cast<dtype>(i)) != ids.end();
    INFO("dtype id " << i);
    CHECK(listed == (t.has_value() && t->supported));
  }
}

TEST_CASE("block sizes and byte sizes agree with dtype traits") {
  for_each_format(all_formats{}, [](auto tag) {
    using Q = typename decltype(tag)::type;
    INFO(name_of(Q::id));
    CHECK(Q::block_size == traits(Q::id).block_size);
    CHECK(sizeof(typename Q::block) == traits(Q::id).type_size);
    CHECK(Q::activation::block_size == Q::block_size);
  });
}

TEST_CASE("visit_format dispatches to the matching format") {
  for_each_format(all_formats{}, [](auto tag) {
    using Q = typename decltype(tag)::type;
    auto r = visit_format(Q::id, [](auto t) { return decltype(t)::type::id; });
    REQUIRE(r.has_value());
    CHECK(*r == Q::id);
  });
  // void callbacks give result<void>; result callbacks pass through.
  int calls = 0;
  result<void> v = visit_format(dtype::q4_K, [&](auto) { ++calls; });
  CHECK(v.has_value());
  CHECK(calls == 1);
  result<int> e = visit_format(dtype::q8_0, [](auto t) -> result<int> {
    if (decltype(t)::type::block_size == 32) return make_error(errc::invalid_argument, "blocks of 32");
    return 1;
  });
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == errc::invalid_argument);
}

TEST_CASE("visit_format rejects unsupported dtypes with their name") {
  for (dtype d : {dtype::iq2_xxs, dtype::iq1_s, dtype::tq2_0, dtype::i32, dtype::f64}) {
    bool called = false;
    auto r = visit_format(d, [&](auto) { called = true; });
    REQUIRE_FALSE(r.has_value());
    CHECK_FALSE(called);
    CHECK(r.error().code == errc::unsupported);
    CHECK(r.error().message.find(std::string(name_of(d))) != std::string::npos);
  }
  auto bogus = visit_format(static_cast<dtype>(31), [](auto) {});
  REQUIRE_FALSE(bogus.has_value());
  CHECK(bogus.error().code == errc::unsupported);
}

TEST_CASE("rounding helpers match the C library and x86 conversion rules") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-300.0f, 300.0f);
  std::vector<float> values;
  for (int i = 0; i < 20000; ++i) values.push_back(u(rng));
  for (int i = -600; i <= 600; ++i) values.push_back(static_cast<float>(i) * 0.5f);  // ties
  for (float v : values) {
    INFO(v);
    CHECK(detail::cvtn_i32(v) == static_cast<std::int32_t>(std::lrint(v)));  // ties to even
    CHECK(detail::nearest_int(v) == static_cast<int>(std::lrint(v)));
    CHECK(detail::cvtt_i32(v) == static_cast<std::int32_t>(std::trunc(v)));
    const long r = std::lround(v);  // ties away from zero
    CHECK(detail::round_away_to_i8(v) == static_cast<std::int8_t>(static_cast<std::uint8_t>(r & 0xff)));
  }
  // cvt(t)ss2si: NaN and out-of-range give the "integer indefinite" INT32_MIN.
  CHECK(detail::cvtt_i32(std::numeric_limits<float>::quiet_NaN()) == INT32_MIN);
  CHECK(detail::cvtn_i32(std::numeric_limits<float>::infinity()) == INT32_MIN);
  CHECK(detail::cvtn_i32(-std::numeric_limits<float>::infinity()) == INT32_MIN);
  CHECK(detail::cvtt_i32(3e9f) == INT32_MIN);
  CHECK(detail::cvtt_i32(-2147483648.0f) == INT32_MIN);
  CHECK(detail::cvtt_i32(2147483520.0f) == 2147483520);
  CHECK(detail::cvtn_i32(-8388609.0f) == -8388609);
}

TEST_CASE("peer quirk: x86 q8 activations round ties to even with scale 127/amax") {
  // amax = 127 makes both inverse scales exactly 1, so x = k + 0.5 is an exact tie:
  // quantize_row_q8_0_ref's roundf gives k+1 for positive k, vroundps gives the even one.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j) - 15.5f;  // −15.5 … 15.5
  x[31] = 127.0f;
  fmt::q8_0::block ref{}, act{};
  fmt::q8_0::quantize_row(x.data(), &ref, 32);
  fmt::q8_0::quantize_activation_row(x.data(), &act, 32);
  for (int j = 0; j < 31; ++j) {
    INFO(x[j]);
    CHECK(ref.qs[j] == static_cast<int>(std::lround(x[j])));
    CHECK(act.qs[j] == static_cast<int>(std::lrint(x[j])));
  }
  CHECK(ref.qs[31] == 127);
  CHECK(act.qs[31] == 127);
  CHECK(to_f32(act.d) == 1.0f);
  // q8_1 carries s = d·Σq of the quants it stored.
  fmt::q8_1::block b1{};
  fmt::q8_1::quantize_activation_row(x.data(), &b1, 32);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    CHECK(b1.qs[j] == act.qs[j]);
    sum += b1.qs[j];
  }
  CHECK(to_f32(b1.s) == to_f32(to_f16(static_cast<float>(sum))));
}

TEST_CASE("zero rows quantize to zero for every format") {
  for_each_format(all_formats{}, [](auto tag) {
    using Q = typename decltype(tag)::type;
    INFO(name_of(Q::id));
    const std::vector<float> zeros(512, 0.0f);
    for (float v : round_trip<Q>(zeros)) CHECK(v == 0.0f);
    std::vector<typename Q::block> w(512 / Q::block_size);
    std::vector<typename Q::activation::block> a(512 / Q::block_size);
    Q::quantize_row(zeros.data(), w.data(), 512);
    Q::activation::quantize_activation_row(zeros.data(), a.data(), 512);
    CHECK(Q::dot(w.data(), a.data(), 512) == 0.0f);
  });
  // Documented ggml encodings of a zero block.
  const std::vector<float> zeros(32, 0.0f);
  fmt::q4_0::block q4{};
  fmt::q4_0::quantize_row(zeros.data(), &q4, 32);
  CHECK(q4.d.bits == 0x8000);             // d = max / −8 = −0 (ggml's arithmetic, kept)
  for (auto b : q4.qs) CHECK(b == 0x88);  // q = 8 ↔ x = 0
  fmt::iq4_nl::block nl{};
  fmt::iq4_nl::quantize_row(zeros.data(), &nl, 32);
  for (auto b : nl.qs) CHECK(b == 0x88);  // level 8 (value 1) is the nearest to 0 from above
}

TEST_CASE("large and tiny values round trip without NaN or infinity") {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float scale : {1e-30f, 1e-6f, 1e-3f, 1.0f, 1000.0f, 3000.0f}) {
    std::vector<float> x(512);
    for (auto& v : x) v = nd(rng) * scale;
    for_each_format(all_formats{}, [&](auto tag) {
      using Q = typename decltype(tag)::type;
      INFO(name_of(Q::id) << " scale " << scale);
      const auto y = round_trip<Q>(x);
      double err = 0, norm = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        REQUIRE(std::isfinite(y[i]));
        err += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
        norm += static_cast<double>(x[i]) * x[i];
      }
      // Within the range of the f16 scales every format keeps the row's shape: relative
      // RMS error well below 1 (q2_K, the coarsest, is ~0.3 on Gaussian data). Below it
      // (sub-scales under ~1e-7) ggml's formats lose the values; only finiteness is required.
      if (scale >= 1e-3f) CHECK(std::sqrt(err / norm) < 0.45);
    });
  }
  std::vector<float> tiny(512, 1e-30f);
  for (float v : round_trip<fmt::f16>(tiny)) CHECK(v == 0.0f);
}
