// mmllm/io/little_endian.hpp — unaligned little-endian loads and stores of fixed-size values.
//
// File formats (GGUF, safetensors) store numbers little-endian and without alignment, so
// values are read with memcpy (never through a cast pointer) and byte-swapped on
// big-endian hosts:
//
//   std::uint64_t n = mmllm::detail::load_le<std::uint64_t>(p);
//   mmllm::detail::store_le(out, n);
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mmllm::detail {

/// Types that load_le/store_le handle: integers, float, double (bool is not one of them:
/// a stored byte other than 0/1 must not become a bool object).
template <class T>
concept little_endian_value = (std::is_integral_v<T> && !std::is_same_v<T, bool>) ||
                              std::is_same_v<T, float> || std::is_same_v<T, double>;

/// Reverses the byte order of an unsigned integer.
template <class U>
constexpr U byte_swap(U v) noexcept {
  static_assert(std::is_unsigned_v<U>);
  U r = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    r = static_cast<U>((r << 8) | (v & 0xffu));
    v = static_cast<U>(v >> 8);
  }
  return r;
}

/// Unsigned integer of the same size as T.
template <class T>
using same_size_unsigned =
    std::conditional_t<sizeof(T) == 1, std::uint8_t,
                       std::conditional_t<sizeof(T) == 2, std::uint16_t,
                                          std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;

/// Reads a T stored little-endian at `p` (any alignment).
template <little_endian_value T>
inline T load_le(const std::byte* p) noexcept {
  using U = same_size_unsigned<T>;
  U u;
  std::memcpy(&u, p, sizeof(U));
  if constexpr (std::endian::native == std::endian::big) u = byte_swap(u);
  return std::bit_cast<T>(u);
}

/// Writes `v` little-endian to `p` (any alignment).
template <little_endian_value T>
inline void store_le(std::byte* p, T v) noexcept {
  using U = same_size_unsigned<T>;
  U u = std::bit_cast<U>(v);
  if constexpr (std::endian::native == std::endian::big) u = byte_swap(u);
  std::memcpy(p, &u, sizeof(U));
}

}  // namespace mmllm::detail
