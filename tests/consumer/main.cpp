// Uses a few installed headers; exits non-zero if they misbehave.
#include <mmllm/core/dtype.hpp>
#include <mmllm/core/f16.hpp>
#include <mmllm/core/tensor_view.hpp>

#include <cstdio>

int main() {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  mmllm::matrix_view<float> m(buf, 2, 3);
  const bool ok = m(1, 2) == 6.0f && mmllm::to_f32(mmllm::to_f16(0.5f)) == 0.5f &&
                  mmllm::traits(mmllm::dtype::q4_0).type_size == 18;
  std::puts(ok ? "mmllm consumer: ok" : "mmllm consumer: FAILED");
  return ok ? 0 : 1;
}
