// The test suite compiles the matmul dispatcher once, here, instead of in every test that
// multiplies matrices (MMLLM_SEPARATE_KERNELS, see include/mmllm/compute/matmul.hpp).
#define MMLLM_KERNELS_IMPLEMENTATION
#include <mmllm/compute/matmul.hpp>
