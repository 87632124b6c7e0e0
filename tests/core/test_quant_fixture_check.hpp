// The fixture checks every format test runs (see tests/core/test_quant_*.cpp): quantize,
// dequantize, activation quantization and the scalar dot against ggml's own outputs.
#pragma once

#include <mmllm/core/quant_format.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "catch.hpp"
#include "test_quant_support.hpp"

namespace mmllm::test {

/// Checks format Q (ggml name `name`) against quant/<name>.*; returns the largest relative
/// error of Q::dot against ggml's vec_dot.
template <quant_format Q>
double check_format_against_fixtures(const std::string& name) {
  using block = typename Q::block;
  using act_block = typename Q::activation::block;
  const quant_reference ref = load_quant_reference(name);
  REQUIRE(ref.block_size == Q::block_size);
  REQUIRE(ref.type_size == sizeof(block));
  const std::size_t n = quant_cols, blocks_per_row = n / Q::block_size;
  REQUIRE(ref.row_bytes == blocks_per_row * sizeof(block));

  const std::vector<float> w = quant_weights();
  const std::vector<float> x = quant_activations();
  REQUIRE(w.size() == quant_rows * n);
  REQUIRE(x.size() == n);
  const auto expect_blocks = read_blocks<block>("quant/" + name + ".blocks");
  REQUIRE(expect_blocks.size() == quant_rows * blocks_per_row);

  SECTION("quantize_row reproduces ggml's blocks bit for bit") {
    for (std::size_t r = 0; r < quant_rows; ++r) {
      std::vector<block> got(blocks_per_row);
      Q::quantize_row(w.data() + r * n, got.data(), n);
      for (std::size_t b = 0; b < blocks_per_row; ++b) {
        INFO(name << " row " << r << " block " << b);
        CHECK(std::memcmp(&got[b], &expect_blocks[r * blocks_per_row + b], sizeof(block)) == 0);
      }
    }
  }

  SECTION("dequantize_row equals ggml's to_float exactly") {
    const std::vector<float> expect = read_f32(fixture_path("quant/" + name + ".dequant.f32"));
    REQUIRE(expect.size() == quant_rows * n);
    std::vector<float> got(quant_rows * n);
    for (std::size_t r = 0; r < quant_rows; ++r) {
      Q::dequantize_row(expect_blocks.data() + r * blocks_per_row, got.data() + r * n, n);
    }
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
      mismatches += std::memcmp(&got[i], &expect[i], sizeof(float)) != 0;
    INFO(name);
    CHECK(mismatches == 0);
  }

  SECTION("quantize_activation_row reproduces ggml's CPU backend bit for bit") {
    const auto expect = read_blocks<act_block>("quant/" + ref.activation_blocks);
    REQUIRE(expect.size() == n / Q::activation::block_size);
    std::vector<act_block> got(expect.size());
    Q::activation::quantize_activation_row(x.data(), got.data(), n);
    for (std::size_t b = 0; b < got.size(); ++b) {
      INFO(name << " activation block " << b);
      CHECK(std::memcmp(&got[b], &expect[b], sizeof(act_block)) == 0);
    }
  }

  double max_rel = 0;
  SECTION("dot matches ggml's vec_dot") {
    const auto act = read_blocks<act_block>("quant/" + ref.activation_blocks);
    REQUIRE(ref.vec_dot.size() == quant_rows);
    for (std::size_t r = 0; r < quant_rows; ++r) {
      const double got = Q::dot(expect_blocks.data() + r * blocks_per_row, act.data(), n);
      const double rel = rel_diff(got, ref.vec_dot[r]);
      max_rel = rel > max_rel ? rel : max_rel;
      INFO(name << " row " << r << ": " << got << " vs ggml " << ref.vec_dot[r]);
      CHECK(rel <= 1e-4);
    }
    std::printf("%-7s scalar dot: max relative error vs ggml vec_dot %.3g\n", name.c_str(), max_rel);
  }
  return max_rel;
}

}  // namespace mmllm::test
