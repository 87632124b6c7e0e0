// The matmul dispatcher compiled once for the project's own programs — the test suite, the
// example tools and the benchmarks link it as the `mmllm_kernels` library — instead of in every
// translation unit that multiplies matrices. A program of yours can do the same: define
// MMLLM_SEPARATE_KERNELS everywhere and compile a file like this one once (docs/compute.md).
#define MMLLM_KERNELS_IMPLEMENTATION
#include <mmllm/compute/matmul.hpp>
