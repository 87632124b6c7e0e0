// mmllm/compute/isa.hpp — CPU instruction-set levels and run-time detection.
//
// mmllm is compiled for the baseline target (no -march needed) and selects the best kernel
// at run time. x86-64 kernels for a level are ordinary functions marked with
// MMLLM_TARGET_AVX2 / MMLLM_TARGET_AVX512, so they may use that level's intrinsics while the
// rest of the program stays portable. Every helper such a kernel calls that uses
// intrinsics must carry the same attribute. Other architectures use the `generic` level
// (xsimd at the compile-time architecture, or the scalar reference).
#pragma once

#include <cstdint>
#include <string_view>

namespace mmllm::compute {

/// Kernel level, ordered: a CPU supporting a level supports all lower ones.
enum class isa : std::uint8_t {
  generic = 0,  ///< portable code (xsimd at compile-time arch, or scalar)
  avx2 = 1,     ///< x86-64 AVX2 + FMA + F16C
  avx512 = 2,   ///< AVX-512 F/BW/DQ/VL (+ VNNI and BF16 when `cpu_features` says so)
};

constexpr std::string_view to_string(isa i) noexcept {
  switch (i) {
    case isa::generic: return "generic";
    case isa::avx2: return "avx2";
    case isa::avx512: return "avx512";
  }
  return "?";
}

/// What the running CPU supports.
struct cpu_features {
  bool avx2 = false;    ///< with FMA and F16C
  bool avx512 = false;  ///< F, BW, DQ, VL
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool avx_vnni = false;
  bool amx_int8 = false;
  bool amx_bf16 = false;

  /// Best level usable on this CPU.
  [[nodiscard]] constexpr isa best() const noexcept {
    return avx512 ? isa::avx512 : avx2 ? isa::avx2 : isa::generic;
  }
};

/// Detects the running CPU's features (cheap: a few cpuid queries, cache the result).
inline cpu_features detect_cpu_features() noexcept {
  cpu_features f;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  // Newer extensions straight from cpuid leaf 7 (compilers differ in the names they accept);
  // the OS-state check for the wide registers is already implied by f.avx2 / f.avx512.
  unsigned a0 = 0, b0 = 0, c0 = 0, d0 = 0, a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __asm__ volatile("cpuid" : "=a"(a0), "=b"(b0), "=c"(c0), "=d"(d0) : "a"(7), "c"(0));
  __asm__ volatile("cpuid" : "=a"(a1), "=b"(b1), "=c"(c1), "=d"(d1) : "a"(7), "c"(1));
  f.avx512_vnni = f.avx512 && ((c0 >> 11) & 1u);
  f.avx512_fp16 = f.avx512 && ((d0 >> 23) & 1u);
  f.avx512_bf16 = f.avx512 && ((a1 >> 5) & 1u);
  f.avx_vnni = f.avx2 && ((a1 >> 4) & 1u);
  // AMX also needs OS permission (arch_prctl) before use; kernels that use it request that.
  f.amx_bf16 = (d0 >> 22) & 1u;
  f.amx_int8 = (d0 >> 25) & 1u;
#endif
  return f;
}

}  // namespace mmllm::compute

// GCC 12 reports the `__Y = __Y` placeholders inside its own AVX-512 intrinsics as
// uninitialized when they are inlined into target-attributed functions (GCC bug 105593).
// Sections of kernels are wrapped in these two macros to silence exactly that.
#if defined(__GNUC__) && !defined(__clang__)
#define MMLLM_KERNELS_BEGIN                                                            \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define MMLLM_KERNELS_END _Pragma("GCC diagnostic pop")
#else
#define MMLLM_KERNELS_BEGIN
#define MMLLM_KERNELS_END
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MMLLM_HAVE_X86_KERNELS 1
/// Marks a function compiled for the avx2 level.
#define MMLLM_TARGET_AVX2 __attribute__((target("avx2,fma,f16c,bmi2")))
/// Marks a function compiled for the avx512 level (VNNI/BF16 variants add their own features).
#define MMLLM_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi2")))
/// avx512 level plus VNNI (vpdpbusd) — only call when cpu_features::avx512_vnni.
#define MMLLM_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c,bmi2")))
/// avx512 level plus BF16 (vdpbf16ps) — only call when cpu_features::avx512_bf16.
#define MMLLM_TARGET_AVX512_BF16 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c,bmi2")))
#else
#define MMLLM_HAVE_X86_KERNELS 0
#endif
