// Helpers shared by the quantized-format tests (tests/core/test_quant_*.cpp and
// tests/compute/test_quant_dot_*.cpp): the quant/ fixtures of ../shared/fixtures, read
// through mmllm::test::fixture_path, and a minimal reader for quant_reference.json.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixtures.hpp"

namespace mmllm::test {

/// One entry of quant/quant_reference.json.
struct quant_reference {
  std::string type;
  std::string activation_type;
  std::string activation_blocks;  ///< file name of the quantized activations
  std::size_t block_size = 0, type_size = 0, row_bytes = 0;
  std::vector<double> vec_dot;  ///< ggml's CPU dot of each weight row with the activations
};

namespace detail {
inline std::string json_string_after(const std::string& s, std::size_t from, const std::string& key) {
  const std::size_t k = s.find("\"" + key + "\"", from);
  if (k == std::string::npos) throw std::runtime_error("quant_reference.json: no key " + key);
  const std::size_t a = s.find('"', s.find(':', k) + 1);
  const std::size_t b = s.find('"', a + 1);
  return s.substr(a + 1, b - a - 1);
}
inline std::size_t json_number_after(const std::string& s, std::size_t from, const std::string& key) {
  const std::size_t k = s.find("\"" + key + "\"", from);
  if (k == std::string::npos) throw std::runtime_error("quant_reference.json: no key " + key);
  return static_cast<std::size_t>(std::strtoull(s.c_str() + s.find(':', k) + 1, nullptr, 10));
}
}  // namespace detail

/// The reference entry for ggml type name `type` ("q4_0", "q4_K", …).
inline quant_reference load_quant_reference(const std::string& type) {
  const std::string s = read_text(fixture_path("quant/quant_reference.json"));
  const std::size_t at = s.find("\"type\": \"" + type + "\"");
  if (at == std::string::npos) throw std::runtime_error("quant_reference.json: no type " + type);
  quant_reference r;
  r.type = type;
  r.activation_type = detail::json_string_after(s, at, "activation_type");
  r.activation_blocks = detail::json_string_after(s, at, "activation_blocks");
  r.block_size = detail::json_number_after(s, at, "block_size");
  r.type_size = detail::json_number_after(s, at, "type_size");
  r.row_bytes = detail::json_number_after(s, at, "row_bytes");
  std::size_t p = s.find('[', s.find("\"vec_dot\"", at)) + 1;
  const std::size_t end = s.find(']', p);
  while (p < end) {
    char* next = nullptr;
    r.vec_dot.push_back(std::strtod(s.c_str() + p, &next));
    p = static_cast<std::size_t>(next - s.c_str());
    while (p < end && (s[p] == ',' || s[p] == ' ')) ++p;
  }
  return r;
}

inline constexpr std::size_t quant_rows = 8;
inline constexpr std::size_t quant_cols = 512;

/// The 8×512 weights and 512 activations every quant fixture was made from.
inline std::vector<float> quant_weights() { return read_f32(fixture_path("quant/input_w.f32")); }
inline std::vector<float> quant_activations() { return read_f32(fixture_path("quant/input_x.f32")); }

/// Whole fixture file as a vector of blocks of type B (the file must be a whole number of them).
template <class B>
std::vector<B> read_blocks(const std::string& rel) {
  const auto bytes = read_bytes(fixture_path(rel));
  if (bytes.size() % sizeof(B) != 0) throw std::runtime_error("not a whole number of blocks: " + rel);
  std::vector<B> v(bytes.size() / sizeof(B));
  if (!bytes.empty()) std::memcpy(static_cast<void*>(v.data()), bytes.data(), bytes.size());
  return v;
}

/// Relative difference |a − b| / max(|b|, floor) (floor avoids blowing up near zero).
inline double rel_diff(double a, double b, double floor = 1e-3) {
  return std::fabs(a - b) / std::fmax(std::fabs(b), floor);
}

}  // namespace mmllm::test
