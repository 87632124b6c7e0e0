#include <mmllm/core/dtype.hpp>

#include "catch.hpp"

using mmllm::dtype;

TEST_CASE("dtype ids, names and sizes follow ggml") {
  CHECK(static_cast<int>(dtype::q4_K) == 12);
  CHECK(static_cast<int>(dtype::bf16) == 30);
  CHECK(static_cast<int>(dtype::mxfp4) == 39);
  CHECK(mmllm::traits(dtype::q6_K).type_size == 210);
  CHECK(mmllm::traits(dtype::q8_0).block_size == 32);
  CHECK(mmllm::name_of(dtype::iq4_xs) == "iq4_xs");
  CHECK(mmllm::dtype_from_name("Q4_K") == dtype::q4_K);
  CHECK_FALSE(mmllm::dtype_from_name("q4_2").has_value());
}

TEST_CASE("retired and unknown type ids are rejected") {
  CHECK_FALSE(mmllm::traits_of(4).has_value());   // ggml's removed Q4_2
  CHECK_FALSE(mmllm::traits_of(31).has_value());  // removed Q4_0_4_4
  CHECK_FALSE(mmllm::traits_of(1000).has_value());
  CHECK(mmllm::traits_of(2)->name == "q4_0");
}

TEST_CASE("row_bytes checks block multiples and overflow") {
  CHECK(mmllm::row_bytes(dtype::q4_0, 4096) == 4096 / 32 * 18);
  CHECK(mmllm::row_bytes(dtype::f32, 3) == 12);
  CHECK_FALSE(mmllm::row_bytes(dtype::q4_K, 100).has_value());
  CHECK_FALSE(mmllm::row_bytes(dtype::f32, 0x4000'0000'0000'0000ull).has_value());
}
