// mmllm/core/dtype.hpp — run-time element/block type ids (ggml's numbering) and their sizes.
//
// Model files name tensor types by ggml's integer ids; `dtype` uses the same numbers so
// a GGUF type field converts directly. Block layouts live in core/quant/*.hpp; this header
// only knows sizes, so it stays cheap to include.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace mmllm {

/// Tensor element or block type; values are ggml's `ggml_type` ids.
enum class dtype : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_K = 10,
  q3_K = 11,
  q4_K = 12,
  q5_K = 13,
  q6_K = 14,
  q8_K = 15,
  iq2_xxs = 16,
  iq2_xs = 17,
  iq3_xxs = 18,
  iq1_s = 19,
  iq4_nl = 20,
  iq3_s = 21,
  iq2_s = 22,
  iq4_xs = 23,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  iq1_m = 29,
  bf16 = 30,
  tq1_0 = 34,
  tq2_0 = 35,
  mxfp4 = 39,
};

/// Size facts of a dtype: `block_size` elements are stored in `type_size` bytes.
struct dtype_traits {
  std::string_view name;
  std::uint32_t block_size = 0;  ///< elements per block (1 for plain types); 0 = unknown id
  std::uint32_t type_size = 0;   ///< bytes per block
  bool quantized = false;
  bool supported = false;  ///< mmllm can dequantize / compute with it
};

namespace detail {
inline constexpr std::size_t dtype_table_size = 40;
constexpr std::array<dtype_traits, dtype_table_size> make_dtype_table() {
  std::array<dtype_traits, dtype_table_size> t{};
  auto set = [&t](dtype d, std::string_view n, std::uint32_t bs, std::uint32_t ts, bool q, bool s) {
    t[static_cast<std::size_t>(d)] = dtype_traits{n, bs, ts, q, s};
  };
  set(dtype::f32, "f32", 1, 4, false, true);
  set(dtype::f16, "f16", 1, 2, false, true);
  set(dtype::q4_0, "q4_0", 32, 18, true, true);
  set(dtype::q4_1, "q4_1", 32, 20, true, true);
  set(dtype::q5_0, "q5_0", 32, 22, true, true);
  set(dtype::q5_1, "q5_1", 32, 24, true, true);
  set(dtype::q8_0, "q8_0", 32, 34, true, true);
  set(dtype::q8_1, "q8_1", 32, 36, true, true);
  set(dtype::q2_K, "q2_K", 256, 84, true, true);
  set(dtype::q3_K, "q3_K", 256, 110, true, true);
  set(dtype::q4_K, "q4_K", 256, 144, true, true);
  set(dtype::q5_K, "q5_K", 256, 176, true, true);
  set(dtype::q6_K, "q6_K", 256, 210, true, true);
  set(dtype::q8_K, "q8_K", 256, 292, true, true);
  set(dtype::iq2_xxs, "iq2_xxs", 256, 66, true, false);
  set(dtype::iq2_xs, "iq2_xs", 256, 74, true, false);
  set(dtype::iq3_xxs, "iq3_xxs", 256, 98, true, false);
  set(dtype::iq1_s, "iq1_s", 256, 50, true, false);
  set(dtype::iq4_nl, "iq4_nl", 32, 18, true, true);
  set(dtype::iq3_s, "iq3_s", 256, 110, true, false);
  set(dtype::iq2_s, "iq2_s", 256, 82, true, false);
  set(dtype::iq4_xs, "iq4_xs", 256, 136, true, true);
  set(dtype::i8, "i8", 1, 1, false, false);
  set(dtype::i16, "i16", 1, 2, false, false);
  set(dtype::i32, "i32", 1, 4, false, false);
  set(dtype::i64, "i64", 1, 8, false, false);
  set(dtype::f64, "f64", 1, 8, false, false);
  set(dtype::iq1_m, "iq1_m", 256, 56, true, false);
  set(dtype::bf16, "bf16", 1, 2, false, true);
  set(dtype::tq1_0, "tq1_0", 256, 54, true, false);
  set(dtype::tq2_0, "tq2_0", 256, 66, true, false);
  set(dtype::mxfp4, "mxfp4", 32, 17, true, true);
  return t;
}
inline constexpr auto dtype_table = make_dtype_table();
}  // namespace detail

/// Traits of a known dtype id, or nullopt for ids ggml never defined (or retired).
constexpr std::optional<dtype_traits> traits_of(std::uint32_t id) noexcept {
  if (id >= detail::dtype_table_size || detail::dtype_table[id].block_size == 0) return std::nullopt;
  return detail::dtype_table[id];
}

/// Traits of a dtype (which must be a defined id).
constexpr const dtype_traits& traits(dtype d) noexcept {
  return detail::dtype_table[static_cast<std::size_t>(d)];
}

/// Name such as "q4_K"; "?" for an undefined id.
constexpr std::string_view name_of(dtype d) noexcept {
  const auto i = static_cast<std::size_t>(d);
  return i < detail::dtype_table_size && detail::dtype_table[i].block_size ? detail::dtype_table[i].name
                                                                           : std::string_view("?");
}

/// Looks a dtype up by its name ("q8_0", "F16", case-insensitive).
constexpr std::optional<dtype> dtype_from_name(std::string_view n) noexcept {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < detail::dtype_table_size; ++i) {
    const auto& t = detail::dtype_table[i];
    if (t.block_size == 0 || t.name.size() != n.size()) continue;
    bool eq = true;
    for (std::size_t k = 0; k < n.size() && eq; ++k) eq = lower(t.name[k]) == lower(n[k]);
    if (eq) return static_cast<dtype>(i);
  }
  return std::nullopt;
}

/// Bytes of a row of `n` elements, or nullopt if `n` is not a whole number of blocks
/// or the size overflows.
constexpr std::optional<std::uint64_t> row_bytes(dtype d, std::uint64_t n) noexcept {
  const auto& t = traits(d);
  if (t.block_size == 0 || n % t.block_size != 0) return std::nullopt;
  const std::uint64_t blocks = n / t.block_size;
  if (blocks > std::numeric_limits<std::uint64_t>::max() / t.type_size) return std::nullopt;
  return blocks * t.type_size;
}

}  // namespace mmllm
