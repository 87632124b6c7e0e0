// mmllm/media/detail/exact_fp.hpp — keep float expressions exactly as written.
//
// The preprocessing kernels that reproduce the peer bit for bit (bilinear/bicubic resize,
// the whisper FFT) must round after every multiply and add, as the peer's baseline x86-64
// build does. When a kernel is compiled with FMA available (-march=native, or a
// MMLLM_TARGET_AVX2 function), GCC fuses a*b+c across statements and clang within an
// expression, which changes results in the last bit. A function marked
//   MMLLM_MEDIA_EXACT_FP_FN void kernel(...) { MMLLM_MEDIA_EXACT_FP_BODY ... }
// is compiled without floating-point contraction on both compilers. (Lambdas inside such a
// function are separate functions: keep exact arithmetic out of them.)
#pragma once

#if defined(__clang__)
#define MMLLM_MEDIA_EXACT_FP_FN
#define MMLLM_MEDIA_EXACT_FP_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define MMLLM_MEDIA_EXACT_FP_FN __attribute__((optimize("fp-contract=off")))
#define MMLLM_MEDIA_EXACT_FP_BODY
#else
#define MMLLM_MEDIA_EXACT_FP_FN
#define MMLLM_MEDIA_EXACT_FP_BODY
#endif
