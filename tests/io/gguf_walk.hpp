// Test helper (also used by tests/fuzz/fuzz_gguf.cpp): walks everything a parsed GGUF
// file exposes — every metadata value (arrays recursively), every tensor's data span and
// matrix view — and checks the invariants the reader promises. Reading every byte it
// hands out lets ASan catch any view that points outside the file.
#pragma once

#include <mmllm/io/gguf_reader.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mmllm::test {

struct gguf_walk_result {
  std::string problem;  ///< empty when every invariant held
  std::uint64_t checksum = 0;
  std::uint64_t values = 0;  ///< metadata values visited (array elements included)
};

namespace detail {
inline bool inside(std::span<const std::byte> file, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  return n == 0 || (b >= file.data() && n <= file.size() &&
                    b - file.data() <= static_cast<std::ptrdiff_t>(file.size() - n));
}

inline void walk_value(const gguf_value& v, std::span<const std::byte> file, gguf_walk_result& out,
                       int depth) {
  ++out.values;
  const auto raw = v.raw();
  if (!inside(file, raw.data(), raw.size())) out.problem = "value bytes outside the file";
  for (std::byte b : raw.first(std::min<std::size_t>(raw.size(), 16)))
    out.checksum += static_cast<std::uint8_t>(b);
  if (v.is_string()) {
    const std::string_view s = *v.get<std::string_view>();
    if (!inside(file, s.data(), s.size())) out.problem = "string outside the file";
    if (!s.empty())
      out.checksum += static_cast<unsigned char>(s.front()) + static_cast<unsigned char>(s.back());
    return;
  }
  if (!v.is_array()) {
    // Every scalar converts to its own type and reads through as<>.
    if (v.is_integer()) {
      auto a = v.as<std::int64_t>();
      auto b = v.as<std::uint64_t>();
      if (!a && !b) out.problem = "integer converts to neither int64 nor uint64";
      out.checksum += a ? static_cast<std::uint64_t>(*a) : *b;
    } else if (v.is_floating()) {
      if (!v.as<double>()) out.problem = "float does not convert to double";
    } else if (!v.get<bool>()) {
      out.problem = "bool value unreadable";
    }
    return;
  }
  const gguf_array a(v);
  if (depth > 64) {
    out.problem = "array nesting deeper than any limit";
    return;
  }
  std::size_t n = 0;
  for (const gguf_value& e : a) {
    if (e.type() != a.element_type()) out.problem = "array element of the wrong type";
    walk_value(e, file, out, depth + 1);
    ++n;
  }
  if (n != a.size()) out.problem = "array iteration count differs from size()";
  if (a.element_type() == gguf_type::string && a.strings()->size() != a.size())
    out.problem = "strings() size";
  if (a.element_type() == gguf_type::float32) {
    const auto nums = *a.numbers<float>();
    if (!inside(file, nums.bytes().data(), nums.bytes().size())) out.problem = "numbers outside the file";
    for (float f : nums) out.checksum += f == f ? 1 : 2;
  }
}
}  // namespace detail

/// Visits everything `r` exposes; see gguf_walk_result.
inline gguf_walk_result walk(const gguf_reader& r) {
  gguf_walk_result out;
  const auto file = r.file_bytes();
  for (const gguf_kv& kv : r.metadata()) {
    if (kv.key.empty()) out.problem = "empty key";
    if (!detail::inside(file, kv.key.data(), kv.key.size())) out.problem = "key outside the file";
    if (r.find(kv.key) != &kv.value) out.problem = "find() does not return the entry";
    detail::walk_value(kv.value, file, out, 1);
  }
  for (const gguf_tensor_info& t : r.tensors()) {
    if (r.find_tensor(t.name) != &t) out.problem = "find_tensor() does not return the tensor";
    if (t.n_dims > gguf_max_dims) out.problem = "too many dimensions";
    if (t.offset % r.alignment() != 0) out.problem = "unaligned tensor offset";
    const auto traits = mmllm::traits(t.type);
    if (traits.block_size == 0 || t.ne[0] % traits.block_size != 0) out.problem = "row not whole blocks";
    const auto data = r.tensor_data(t);
    if (data.size() != t.size) out.problem = "tensor_data size differs from info";
    if (!detail::inside(file, data.data(), data.size())) out.problem = "tensor data outside the file";
    if (!data.empty())
      out.checksum += static_cast<std::uint8_t>(data.front()) + static_cast<std::uint8_t>(data.back());
    const any_matrix_view m = r.tensor_matrix(t);
    if (m.cols != t.ne[0] || m.rows != t.rows()) out.problem = "matrix view shape";
    if (t.size != 0 && m.row_stride * m.rows != t.size) out.problem = "matrix view stride";
  }
  return out;
}

}  // namespace mmllm::test
