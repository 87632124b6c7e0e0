#include <mmllm/core/bf16.hpp>
#include <mmllm/core/f16.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "catch.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MMLLM_TEST_HAVE_F16C 1
namespace {
// Hardware conversion as an independent oracle (F16C rounds to nearest even).
__attribute__((target("f16c"))) std::uint16_t hw_to_f16(float f) {
  return static_cast<std::uint16_t>(
      _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}
__attribute__((target("f16c"))) float hw_to_f32(std::uint16_t h) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}
bool have_f16c() { return __builtin_cpu_supports("avx2"); }  // every AVX2 CPU has F16C
}  // namespace
#endif

TEST_CASE("f16 round trips every half value") {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = mmllm::f16::from_bits(static_cast<std::uint16_t>(b));
    const float f = mmllm::to_f32(h);
    if (std::isnan(f)) {
      CHECK(std::isnan(mmllm::to_f32(mmllm::to_f16(f))));
      continue;
    }
    REQUIRE(mmllm::to_f16(f).bits == b);
  }
}

TEST_CASE("f16 conversion of known values") {
  CHECK(mmllm::to_f16(1.0f).bits == 0x3c00);
  CHECK(mmllm::to_f16(-2.0f).bits == 0xc000);
  CHECK(mmllm::to_f16(65504.0f).bits == 0x7bff);
  CHECK(mmllm::to_f16(65520.0f).bits == 0x7c00);  // rounds up to inf
  CHECK(mmllm::to_f16(65519.99f).bits == 0x7bff);
  CHECK(mmllm::to_f16(std::ldexp(1.0f, -24)).bits == 0x0001);  // smallest subnormal
  CHECK(mmllm::to_f16(std::ldexp(1.0f, -25)).bits == 0x0000);  // tie → even (zero)
  CHECK(mmllm::to_f16(std::ldexp(1.5f, -25)).bits == 0x0001);
  CHECK(mmllm::to_f16(1.0f + std::ldexp(1.0f, -11)).bits == 0x3c00);  // tie → even
  CHECK(mmllm::to_f16(1.0f + 3 * std::ldexp(1.0f, -11)).bits == 0x3c02);
  CHECK(mmllm::to_f32(mmllm::f16::from_bits(0x0001)) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(mmllm::to_f32(mmllm::f16::from_bits(0xfc00))));
  static_assert(mmllm::to_f16(0.5f).bits == 0x3800, "constexpr conversion");
}

#ifdef MMLLM_TEST_HAVE_F16C
TEST_CASE("f16 conversion equals the F16C instruction") {
  if (!have_f16c()) return;
  std::mt19937 rng(1234);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 2000000; ++i) {
    const float f = std::bit_cast<float>(bits(rng));
    if (std::isnan(f)) continue;
    REQUIRE(mmllm::to_f16(f).bits == hw_to_f16(f));
  }
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const float a = mmllm::to_f32(mmllm::f16::from_bits(static_cast<std::uint16_t>(b)));
    const float h = hw_to_f32(static_cast<std::uint16_t>(b));
    REQUIRE(std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(h));
  }
}
#endif

TEST_CASE("bf16 rounds to nearest even and keeps NaN") {
  CHECK(mmllm::to_bf16(1.0f).bits == 0x3f80);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down)
  CHECK(mmllm::to_bf16(1.0f + std::ldexp(1.0f, -8)).bits == 0x3f80);
  CHECK(mmllm::to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)).bits == 0x3f82);
  CHECK(std::isnan(mmllm::to_f32(mmllm::to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = mmllm::bf16::from_bits(static_cast<std::uint16_t>(b));
    const float f = mmllm::to_f32(h);
    if (std::isnan(f)) continue;
    REQUIRE(mmllm::to_bf16(f).bits == b);
  }
}
