// quant_dot kernels of the plain formats (f32, f16, bf16) at every level this CPU runs,
// including row lengths that are not a multiple of the vector width; and the formats
// without SIMD kernels (q8_1, q8_K as weights), which fall back to the scalar reference.
#include <type_traits>

#include "test_quant_dot_support.hpp"

using namespace mmllm;

TEST_CASE("f32 kernels") { test::check_format_kernels<fmt::f32>("f32", 21); }
TEST_CASE("f16 kernels") { test::check_format_kernels<fmt::f16>("f16", 22); }
TEST_CASE("bf16 kernels") { test::check_format_kernels<fmt::bf16>("bf16", 23); }

TEST_CASE("formats without SIMD kernels fall back to the generic level") {
  using compute::isa;
  using compute::isa_ext;
  STATIC_REQUIRE(std::is_base_of_v<compute::quant_dot<fmt::q8_K, isa::generic>,
                                   compute::quant_dot<fmt::q8_K, isa::avx512>>);
  STATIC_REQUIRE(std::is_base_of_v<compute::quant_dot<fmt::q8_1, isa::generic>,
                                   compute::quant_dot<fmt::q8_1, isa::avx512, isa_ext::vnni_bf16>>);
  for (const auto& lc : test::runnable_levels()) {
    test::with_level(lc, [&]<isa I, isa_ext E>() {
      INFO(lc.name);
      CHECK(test::check_tiles_against_scalar<fmt::q8_1, I, E>(31) <= 1e-5);
      CHECK(test::check_tiles_against_scalar<fmt::q8_K, I, E>(32) <= 1e-5);
    });
  }
}

TEST_CASE("best_ext and visit_kernel_level pick runnable variants") {
  using compute::isa;
  using compute::isa_ext;
  compute::cpu_features f;
  CHECK(compute::best_ext(isa::avx512, f) == isa_ext::none);
  f.avx2 = f.avx512 = true;
  CHECK(compute::best_ext(isa::avx512, f) == isa_ext::none);
  f.avx512_bf16 = true;  // BF16 without VNNI does not occur in practice; stay conservative
  CHECK(compute::best_ext(isa::avx512, f) == isa_ext::none);
  f.avx512_vnni = true;
  CHECK(compute::best_ext(isa::avx512, f) == isa_ext::vnni_bf16);
  CHECK(compute::best_ext(isa::avx2, f) == isa_ext::none);
  f.avx512_bf16 = false;
  CHECK(compute::best_ext(isa::avx512, f) == isa_ext::vnni);

  const auto cpu = compute::detect_cpu_features();
  const auto [level, ext] = compute::visit_kernel_level(cpu, [](auto k) {
    return std::pair{decltype(k)::level, decltype(k)::ext};
  });
#if MMLLM_HAVE_X86_KERNELS
  CHECK(level == cpu.best());
  CHECK(ext == compute::best_ext(cpu.best(), cpu));
#else
  CHECK(level == isa::generic);
#endif
  const auto generic =
      compute::visit_kernel_level(compute::cpu_features{}, [](auto k) { return decltype(k)::level; });
  CHECK(generic == isa::generic);
}
