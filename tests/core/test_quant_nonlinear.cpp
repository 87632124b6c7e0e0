// iq4_nl, iq4_xs and mxfp4 against ggml's outputs in ../shared/fixtures/quant.
#include <mmllm/core/quant/iq4.hpp>
#include <mmllm/core/quant/mxfp4.hpp>

#include "catch.hpp"
#include "test_quant_fixture_check.hpp"

using namespace mmllm;

TEST_CASE("iq4_nl matches ggml") { test::check_format_against_fixtures<fmt::iq4_nl>("iq4_nl"); }
TEST_CASE("iq4_xs matches ggml") { test::check_format_against_fixtures<fmt::iq4_xs>("iq4_xs"); }
TEST_CASE("mxfp4 matches ggml") { test::check_format_against_fixtures<fmt::mxfp4>("mxfp4"); }
