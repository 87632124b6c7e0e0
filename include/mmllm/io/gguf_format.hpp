// mmllm/io/gguf_format.hpp — facts of the GGUF file format shared by the reader and writer.
//
// GGUF (ggml's model file format) stores, all little-endian: the magic "GGUF", a u32
// version, u64 tensor and key/value counts, the key/value pairs (key string, u32 value
// type, value), the tensor infos (name string, u32 n_dims, n_dims × i64 extents, u32 ggml
// type id, u64 offset into the data section) and, aligned to `general.alignment` (default
// 32), the tensor data. Strings are a u64 byte length followed by the bytes (no NUL).
// Arrays are a u32 element type, a u64 count, then the elements. Versions 2 and 3 share
// this layout (version 1 used 32-bit counts and is not supported).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mmllm {

/// Type id of a GGUF metadata value (the numbering of the format).
enum class gguf_type : std::uint32_t {
  uint8 = 0,
  int8 = 1,
  uint16 = 2,
  int16 = 3,
  uint32 = 4,
  int32 = 5,
  float32 = 6,
  boolean = 7,  ///< one byte, 0 = false, anything else = true
  string = 8,
  array = 9,
  uint64 = 10,
  int64 = 11,
  float64 = 12,
};

/// Number of GGUF value types; ids at or above this are invalid.
inline constexpr std::uint32_t gguf_type_count = 13;

/// Name of a value type: "uint32", "float32", "bool", "string", "array", …
constexpr std::string_view to_string(gguf_type t) noexcept {
  constexpr std::array<std::string_view, gguf_type_count> names = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  const auto i = static_cast<std::uint32_t>(t);
  return i < gguf_type_count ? names[i] : std::string_view("invalid");
}

/// Bytes of a fixed-size value of type `t`; 0 for string and array (variable size).
constexpr std::size_t gguf_type_size(gguf_type t) noexcept {
  switch (t) {
    case gguf_type::uint8:
    case gguf_type::int8:
    case gguf_type::boolean: return 1;
    case gguf_type::uint16:
    case gguf_type::int16: return 2;
    case gguf_type::uint32:
    case gguf_type::int32:
    case gguf_type::float32: return 4;
    case gguf_type::uint64:
    case gguf_type::int64:
    case gguf_type::float64: return 8;
    case gguf_type::string:
    case gguf_type::array: return 0;
  }
  return 0;
}

/// True for the eight integer types.
constexpr bool gguf_is_integer(gguf_type t) noexcept {
  switch (t) {
    case gguf_type::uint8:
    case gguf_type::int8:
    case gguf_type::uint16:
    case gguf_type::int16:
    case gguf_type::uint32:
    case gguf_type::int32:
    case gguf_type::uint64:
    case gguf_type::int64: return true;
    default: return false;
  }
}

/// True for float32 and float64.
constexpr bool gguf_is_floating(gguf_type t) noexcept {
  return t == gguf_type::float32 || t == gguf_type::float64;
}

/// The four magic bytes every GGUF file starts with.
inline constexpr std::array<char, 4> gguf_magic = {'G', 'G', 'U', 'F'};
/// Oldest and newest versions mmllm reads; the writer produces gguf_latest_version.
inline constexpr std::uint32_t gguf_oldest_version = 2;
inline constexpr std::uint32_t gguf_latest_version = 3;
/// Data alignment when the file has no `general.alignment` key.
inline constexpr std::uint32_t gguf_default_alignment = 32;
/// The key that sets the data alignment (must be a uint32 power of two).
inline constexpr std::string_view gguf_alignment_key = "general.alignment";
/// Most tensor dimensions a GGUF tensor may have (ggml's GGML_MAX_DIMS).
inline constexpr std::uint32_t gguf_max_dims = 4;
/// Peer limit: ggml stores tensor names in a 64-byte NUL-terminated buffer (GGML_MAX_NAME),
/// so llama.cpp rejects names of 64 bytes or more. mmllm's reader and writer default to it.
inline constexpr std::size_t gguf_peer_max_tensor_name_length = 63;

}  // namespace mmllm
