// mmllm/core/any_matrix_view.hpp — a read-only matrix whose element type is a run-time dtype.
//
// Model weights come from files whose types are only known at run time (GGUF says "q4_K"),
// so kernels take this type-erased view and dispatch on `type`. A row holds `cols`
// elements stored as `cols / block_size` blocks; rows are `row_stride` bytes apart.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dtype.hpp"

namespace mmllm {

/// Non-owning rows × cols matrix of a run-time dtype (weights used in place from a file).
struct any_matrix_view {
  dtype type = dtype::f32;
  const std::byte* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;        ///< elements per row (a multiple of the type's block size)
  std::size_t row_stride = 0;  ///< bytes from one row to the next

  /// Dense view over `data` (row_stride = bytes of one row).
  static any_matrix_view dense(dtype t, const void* data, std::size_t rows, std::size_t cols) noexcept {
    const auto& tr = traits(t);
    return {t, static_cast<const std::byte*>(data), rows, cols, cols / tr.block_size * tr.type_size};
  }

  /// First byte of row r.
  const std::byte* row(std::size_t r) const noexcept { return data + r * row_stride; }

  /// Rows [begin, end) as a view.
  any_matrix_view rows_range(std::size_t begin, std::size_t end) const noexcept {
    return {type, row(begin), end - begin, cols, row_stride};
  }
};

}  // namespace mmllm
