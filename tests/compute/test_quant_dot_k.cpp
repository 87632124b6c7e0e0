// quant_dot kernels of the super-block formats (q2_K … q6_K, iq4_xs) at every level this
// CPU runs: every tile shape against the scalar reference, and ggml's vec_dot fixtures.
#include "test_quant_dot_support.hpp"

using namespace mmllm;

TEST_CASE("q2_K kernels") { test::check_format_kernels<fmt::q2_K>("q2_K", 11); }
TEST_CASE("q3_K kernels") { test::check_format_kernels<fmt::q3_K>("q3_K", 12); }
TEST_CASE("q4_K kernels") { test::check_format_kernels<fmt::q4_K>("q4_K", 13); }
TEST_CASE("q5_K kernels") { test::check_format_kernels<fmt::q5_K>("q5_K", 14); }
TEST_CASE("q6_K kernels") { test::check_format_kernels<fmt::q6_K>("q6_K", 15); }
TEST_CASE("iq4_xs kernels") { test::check_format_kernels<fmt::iq4_xs>("iq4_xs", 16); }
