// q4_0, q4_1, q5_0, q5_1, q8_0 (and their activation formats q8_0 / q8_1) against ggml's
// outputs in ../shared/fixtures/quant.
#include <mmllm/core/quant/legacy.hpp>

#include "catch.hpp"
#include "test_quant_fixture_check.hpp"

using namespace mmllm;

TEST_CASE("q4_0 matches ggml") { test::check_format_against_fixtures<fmt::q4_0>("q4_0"); }
TEST_CASE("q4_1 matches ggml") { test::check_format_against_fixtures<fmt::q4_1>("q4_1"); }
TEST_CASE("q5_0 matches ggml") { test::check_format_against_fixtures<fmt::q5_0>("q5_0"); }
TEST_CASE("q5_1 matches ggml") { test::check_format_against_fixtures<fmt::q5_1>("q5_1"); }
TEST_CASE("q8_0 matches ggml") { test::check_format_against_fixtures<fmt::q8_0>("q8_0"); }
