// q2_K … q6_K (and their activation format q8_K) against ggml's outputs in
// ../shared/fixtures/quant.
#include <mmllm/core/quant/k_quants.hpp>

#include "catch.hpp"
#include "test_quant_fixture_check.hpp"

using namespace mmllm;

TEST_CASE("q2_K matches ggml") { test::check_format_against_fixtures<fmt::q2_K>("q2_K"); }
TEST_CASE("q3_K matches ggml") { test::check_format_against_fixtures<fmt::q3_K>("q3_K"); }
TEST_CASE("q4_K matches ggml") { test::check_format_against_fixtures<fmt::q4_K>("q4_K"); }
TEST_CASE("q5_K matches ggml") { test::check_format_against_fixtures<fmt::q5_K>("q5_K"); }
TEST_CASE("q6_K matches ggml") { test::check_format_against_fixtures<fmt::q6_K>("q6_K"); }
