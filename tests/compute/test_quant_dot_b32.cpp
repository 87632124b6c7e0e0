// quant_dot kernels of the 32-value block formats at every level this CPU runs: every tile
// shape against the scalar reference, and ggml's vec_dot fixtures.
#include "test_quant_dot_support.hpp"

using namespace mmllm;

TEST_CASE("q4_0 kernels") { test::check_format_kernels<fmt::q4_0>("q4_0", 1); }
TEST_CASE("q4_1 kernels") { test::check_format_kernels<fmt::q4_1>("q4_1", 2); }
TEST_CASE("q5_0 kernels") { test::check_format_kernels<fmt::q5_0>("q5_0", 3); }
TEST_CASE("q5_1 kernels") { test::check_format_kernels<fmt::q5_1>("q5_1", 4); }
TEST_CASE("q8_0 kernels") { test::check_format_kernels<fmt::q8_0>("q8_0", 5); }
TEST_CASE("iq4_nl kernels") { test::check_format_kernels<fmt::iq4_nl>("iq4_nl", 6); }
TEST_CASE("mxfp4 kernels") { test::check_format_kernels<fmt::mxfp4>("mxfp4", 7); }
