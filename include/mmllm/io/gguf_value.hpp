// mmllm/io/gguf_value.hpp — zero-copy views of GGUF metadata values.
//
// A `gguf_value` views one value inside a parsed file: a number, a bool, a string or an
// array (arrays may nest). Nothing is copied: strings are `std::string_view`s into the
// file bytes and numeric arrays are read in place, so a 150k-token vocabulary costs one
// string_view per token. Views stay valid while the `gguf_reader` that made them lives.
//
//   gguf_value v = *reader.find("llama.context_length");
//   result<std::uint32_t> n = v.get<std::uint32_t>();   // exact type, else a clear error
//   result<std::uint64_t> m = v.as<std::uint64_t>();    // any integer type, range-checked
//   gguf_array tokens = *reader.get<gguf_array>("tokenizer.ggml.tokens");
//   for (std::string_view t : *tokens.strings()) ...
//   for (float s : *reader.get<gguf_array>("tokenizer.ggml.scores")->numbers<float>()) ...
//
// Type mapping: uint8_t…int64_t, float, double, bool ↔ the numeric types and bool;
// std::string_view (or std::string, a copy) ↔ string; gguf_array ↔ array.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "gguf_format.hpp"
#include "little_endian.hpp"

namespace mmllm {

class gguf_value;
class gguf_array;

namespace detail {
struct gguf_value_access;
}  // namespace detail

/// The GGUF value type a C++ type reads as (only defined for the mapped types).
template <class T>
struct gguf_type_of;
template <>
struct gguf_type_of<std::uint8_t> : std::integral_constant<gguf_type, gguf_type::uint8> {};
template <>
struct gguf_type_of<std::int8_t> : std::integral_constant<gguf_type, gguf_type::int8> {};
template <>
struct gguf_type_of<std::uint16_t> : std::integral_constant<gguf_type, gguf_type::uint16> {};
template <>
struct gguf_type_of<std::int16_t> : std::integral_constant<gguf_type, gguf_type::int16> {};
template <>
struct gguf_type_of<std::uint32_t> : std::integral_constant<gguf_type, gguf_type::uint32> {};
template <>
struct gguf_type_of<std::int32_t> : std::integral_constant<gguf_type, gguf_type::int32> {};
template <>
struct gguf_type_of<std::uint64_t> : std::integral_constant<gguf_type, gguf_type::uint64> {};
template <>
struct gguf_type_of<std::int64_t> : std::integral_constant<gguf_type, gguf_type::int64> {};
template <>
struct gguf_type_of<float> : std::integral_constant<gguf_type, gguf_type::float32> {};
template <>
struct gguf_type_of<double> : std::integral_constant<gguf_type, gguf_type::float64> {};
template <>
struct gguf_type_of<bool> : std::integral_constant<gguf_type, gguf_type::boolean> {};
template <>
struct gguf_type_of<std::string_view> : std::integral_constant<gguf_type, gguf_type::string> {};
template <>
struct gguf_type_of<std::string> : std::integral_constant<gguf_type, gguf_type::string> {};
template <>
struct gguf_type_of<gguf_array> : std::integral_constant<gguf_type, gguf_type::array> {};

/// C++ types that map to a fixed-size GGUF value (the ten numeric types and bool).
template <class T>
concept gguf_scalar = requires {
  gguf_type_of<T>::value;
}
&&(gguf_type_size(gguf_type_of<T>::value) != 0);

/// C++ types `gguf_value::get<T>` accepts.
template <class T>
concept gguf_gettable = requires {
  gguf_type_of<T>::value;
};

/// A random-access, read-only view of a numeric (or bool) GGUF array, read in place.
/// Elements are loaded with memcpy on access (GGUF does not align metadata).
template <gguf_scalar T>
class gguf_numbers {
 public:
  class iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T;
    using pointer = void;

    iterator() noexcept = default;
    explicit iterator(const std::byte* p) noexcept : p_(p) {}
    T operator*() const noexcept { return gguf_numbers::load(p_); }
    T operator[](difference_type n) const noexcept { return *(*this + n); }
    iterator& operator++() noexcept { return *this += 1; }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    iterator& operator--() noexcept { return *this -= 1; }
    iterator operator--(int) noexcept {
      iterator t = *this;
      --*this;
      return t;
    }
    iterator& operator+=(difference_type n) noexcept {
      p_ += n * static_cast<difference_type>(sizeof(T));
      return *this;
    }
    iterator& operator-=(difference_type n) noexcept { return *this += -n; }
    friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
    friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
    friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(iterator a, iterator b) noexcept {
      return (a.p_ - b.p_) / static_cast<difference_type>(sizeof(T));
    }
    friend bool operator==(iterator a, iterator b) noexcept { return a.p_ == b.p_; }
    friend auto operator<=>(iterator a, iterator b) noexcept { return a.p_ <=> b.p_; }

   private:
    const std::byte* p_ = nullptr;
  };

  gguf_numbers() noexcept = default;
  /// Views `count` values of type T stored little-endian at `data`.
  gguf_numbers(const std::byte* data, std::size_t count) noexcept : data_(data), size_(count) {}

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Element i (i < size()).
  T operator[](std::size_t i) const noexcept { return load(data_ + i * sizeof(T)); }
  [[nodiscard]] iterator begin() const noexcept { return iterator(data_); }
  [[nodiscard]] iterator end() const noexcept { return iterator(data_ + size_ * sizeof(T)); }
  /// The elements copied into a vector.
  [[nodiscard]] std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }
  /// The stored bytes (little-endian).
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_ * sizeof(T)}; }

 private:
  static T load(const std::byte* p) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
      return detail::load_le<std::uint8_t>(p) != 0;
    } else {
      return detail::load_le<T>(p);
    }
  }
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {
/// Name of an arithmetic C++ type in GGUF terms ("uint32", "float64", …), for messages.
template <class T>
constexpr std::string_view cpp_type_name() noexcept {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_floating_point_v<T>) {
    return sizeof(T) == 4 ? "float32" : "float64";
  } else if constexpr (std::is_integral_v<T>) {
    constexpr std::string_view s[] = {"int8", "int16", "int32", "int64"};
    constexpr std::string_view u[] = {"uint8", "uint16", "uint32", "uint64"};
    constexpr std::size_t i = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
    return std::is_signed_v<T> ? s[i] : u[i];
  } else {
    return to_string(gguf_type_of<T>::value);
  }
}
}  // namespace detail

/// A view of one GGUF metadata value. Cheap to copy; valid while its reader lives.
/// A default-constructed value is an empty uint8 array.
class gguf_value {
 public:
  gguf_value() noexcept = default;

  /// The value's type (gguf_type::array for arrays; see gguf_array for the elements).
  [[nodiscard]] gguf_type type() const noexcept { return type_; }
  [[nodiscard]] bool is_array() const noexcept { return type_ == gguf_type::array; }
  [[nodiscard]] bool is_string() const noexcept { return type_ == gguf_type::string; }
  [[nodiscard]] bool is_integer() const noexcept { return gguf_is_integer(type_); }
  [[nodiscard]] bool is_floating() const noexcept { return gguf_is_floating(type_); }
  /// The value's encoded bytes as stored in the file (for a string: the u64 length and the
  /// bytes; for an array: element type, count and elements). Used to copy values verbatim.
  [[nodiscard]] std::span<const std::byte> raw() const noexcept { return {raw_, raw_size_}; }

  /// The value if its type is exactly T's (see the type mapping above), else nullopt.
  template <gguf_gettable T>
  [[nodiscard]] std::optional<T> try_get() const;

  /// The value if its type is exactly T's, else an errc::malformed error naming both types.
  template <gguf_gettable T>
  [[nodiscard]] result<T> get() const;

  /// The value converted to T: any integer type to an integral T when it fits
  /// (errc::out_of_range otherwise), any integer or float type to a floating T; other T
  /// (bool, strings, arrays) need the exact type, as with get().
  template <gguf_gettable T>
  [[nodiscard]] result<T> as() const;

  /// Short description of the value's type: "uint32", "string", "array<float32>",
  /// "array<array>".
  [[nodiscard]] std::string type_name() const {
    std::string s(to_string(type_));
    if (type_ == gguf_type::array) {
      s += '<';
      s += to_string(elem_type_);
      s += '>';
    }
    return s;
  }

 private:
  friend class gguf_array;
  friend struct detail::gguf_value_access;

  [[nodiscard]] std::string_view string_unchecked() const noexcept {
    return {reinterpret_cast<const char*>(raw_) + 8, raw_size_ - 8};
  }
  [[nodiscard]] error mismatch(std::string_view wanted) const {
    return make_error(errc::malformed, "value has type ", type_name(), ", expected ", wanted);
  }

  const std::byte* raw_ = nullptr;
  std::size_t raw_size_ = 0;
  std::uint64_t count_ = 0;      // arrays: number of elements
  const void* elems_ = nullptr;  // string arrays: string_view[]; arrays of arrays: gguf_value[]
  std::size_t pool_index_ = 0;   // parser bookkeeping: index of elems_ in its pool
  gguf_type type_ = gguf_type::array;
  gguf_type elem_type_ = gguf_type::uint8;
};

/// A view of a GGUF array value: its element type, its length and its elements.
class gguf_array {
 public:
  /// Iterates the elements as gguf_values (any element type).
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = gguf_value;
    using difference_type = std::ptrdiff_t;
    using reference = gguf_value;
    using pointer = void;
    iterator() noexcept = default;
    iterator(const gguf_array* a, std::size_t i) noexcept : a_(a), i_(i) {}
    gguf_value operator*() const noexcept { return (*a_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++i_;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    const gguf_array* a_ = nullptr;
    std::size_t i_ = 0;
  };

  gguf_array() noexcept = default;
  /// The array `v` (must have v.is_array()).
  explicit gguf_array(const gguf_value& v) noexcept : v_(v) {}

  [[nodiscard]] gguf_type element_type() const noexcept { return v_.elem_type_; }
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(v_.count_); }
  [[nodiscard]] bool empty() const noexcept { return v_.count_ == 0; }
  /// The array as a value (type gguf_type::array).
  [[nodiscard]] const gguf_value& value() const noexcept { return v_; }
  /// The encoded bytes (element type, count, elements).
  [[nodiscard]] std::span<const std::byte> raw() const noexcept { return v_.raw(); }

  /// Element i as a value (i < size()).
  gguf_value operator[](std::size_t i) const noexcept {
    gguf_value e;
    e.type_ = v_.elem_type_;
    switch (v_.elem_type_) {
      case gguf_type::string: {
        const std::string_view s = static_cast<const std::string_view*>(v_.elems_)[i];
        e.raw_ = reinterpret_cast<const std::byte*>(s.data()) - 8;
        e.raw_size_ = s.size() + 8;
        return e;
      }
      case gguf_type::array: return static_cast<const gguf_value*>(v_.elems_)[i];
      default: {
        const std::size_t sz = gguf_type_size(v_.elem_type_);
        e.elem_type_ = v_.elem_type_;
        e.raw_ = v_.raw_ + 12 + i * sz;
        e.raw_size_ = sz;
        return e;
      }
    }
  }
  /// Element i, or errc::out_of_range.
  [[nodiscard]] result<gguf_value> at(std::size_t i) const {
    if (i >= size())
      return make_error(errc::out_of_range, "array index ", std::to_string(i), " >= length ",
                        std::to_string(size()));
    return (*this)[i];
  }
  [[nodiscard]] iterator begin() const noexcept { return iterator(this, 0); }
  [[nodiscard]] iterator end() const noexcept { return iterator(this, size()); }

  /// The elements as T, read in place, if the element type is exactly T's.
  template <gguf_scalar T>
  [[nodiscard]] std::optional<gguf_numbers<T>> try_numbers() const noexcept {
    if (v_.elem_type_ != gguf_type_of<T>::value) return std::nullopt;
    return gguf_numbers<T>(v_.raw_ + 12, size());
  }
  /// As try_numbers, with an errc::malformed error on a type mismatch.
  template <gguf_scalar T>
  [[nodiscard]] result<gguf_numbers<T>> numbers() const {
    if (auto n = try_numbers<T>()) return *n;
    return mismatch(detail::cpp_type_name<T>());
  }
  /// The strings of a string array (no copies: views into the file).
  [[nodiscard]] std::optional<std::span<const std::string_view>> try_strings() const noexcept {
    if (v_.elem_type_ != gguf_type::string) return std::nullopt;
    return std::span<const std::string_view>(static_cast<const std::string_view*>(v_.elems_), size());
  }
  [[nodiscard]] result<std::span<const std::string_view>> strings() const {
    if (auto s = try_strings()) return *s;
    return mismatch("string");
  }
  /// The sub-arrays of an array of arrays (each a value of type array).
  [[nodiscard]] result<std::span<const gguf_value>> arrays() const {
    if (v_.elem_type_ != gguf_type::array) return mismatch("array");
    return std::span<const gguf_value>(static_cast<const gguf_value*>(v_.elems_), size());
  }
  /// Copies the elements converted with gguf_value::as<T> (T may be std::string or
  /// std::string_view for string arrays, gguf_array for arrays of arrays).
  template <gguf_gettable T>
  [[nodiscard]] result<std::vector<T>> to_vector() const {
    std::vector<T> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i) {
      auto r = (*this)[i].template as<T>();
      if (!r) return make_error(r.error().code, "array element ", std::to_string(i), ": ", r.error().message);
      out.push_back(std::move(*r));
    }
    return out;
  }

 private:
  [[nodiscard]] error mismatch(std::string_view wanted) const {
    return make_error(errc::malformed, "array has element type ", to_string(v_.elem_type_), ", expected ",
                      wanted);
  }
  gguf_value v_;
};

template <gguf_gettable T>
std::optional<T> gguf_value::try_get() const {
  if (type_ != gguf_type_of<T>::value) return std::nullopt;
  if constexpr (std::is_same_v<T, bool>) {
    return detail::load_le<std::uint8_t>(raw_) != 0;
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
    return T(string_unchecked());
  } else if constexpr (std::is_same_v<T, gguf_array>) {
    return gguf_array(*this);
  } else {
    return detail::load_le<T>(raw_);
  }
}

template <gguf_gettable T>
result<T> gguf_value::get() const {
  if (auto v = try_get<T>()) return std::move(*v);
  return mismatch(detail::cpp_type_name<T>());
}

template <gguf_gettable T>
result<T> gguf_value::as() const {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (is_integer()) {
      const bool is_signed = type_ == gguf_type::int8 || type_ == gguf_type::int16 ||
                             type_ == gguf_type::int32 || type_ == gguf_type::int64;
      std::int64_t s = 0;
      std::uint64_t u = 0;
      switch (type_) {
        case gguf_type::uint8: u = detail::load_le<std::uint8_t>(raw_); break;
        case gguf_type::uint16: u = detail::load_le<std::uint16_t>(raw_); break;
        case gguf_type::uint32: u = detail::load_le<std::uint32_t>(raw_); break;
        case gguf_type::uint64: u = detail::load_le<std::uint64_t>(raw_); break;
        // int8 is a signed integer here, not a character: sign extension is what is meant.
        // NOLINTNEXTLINE(bugprone-signed-char-misuse)
        case gguf_type::int8: s = detail::load_le<std::int8_t>(raw_); break;
        case gguf_type::int16: s = detail::load_le<std::int16_t>(raw_); break;
        case gguf_type::int32: s = detail::load_le<std::int32_t>(raw_); break;
        default: s = detail::load_le<std::int64_t>(raw_); break;
      }
      if constexpr (std::is_integral_v<T>) {
        const bool fits = is_signed ? std::in_range<T>(s) : std::in_range<T>(u);
        if (!fits)
          return make_error(errc::out_of_range, "value ", is_signed ? std::to_string(s) : std::to_string(u),
                            " of type ", to_string(type_), " does not fit in ", detail::cpp_type_name<T>());
        return is_signed ? static_cast<T>(s) : static_cast<T>(u);
      } else {
        return is_signed ? static_cast<T>(s) : static_cast<T>(u);
      }
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (type_ == gguf_type::float32) return static_cast<T>(detail::load_le<float>(raw_));
      if (type_ == gguf_type::float64) return static_cast<T>(detail::load_le<double>(raw_));
    }
    return mismatch(detail::cpp_type_name<T>());
  } else {
    return get<T>();
  }
}

namespace detail {
/// How parsers build and finish gguf_values (not part of the public API).
struct gguf_value_access {
  static gguf_value make(gguf_type type, gguf_type elem_type, const std::byte* raw, std::size_t raw_size,
                         std::uint64_t count, std::size_t pool_index) noexcept {
    gguf_value v;
    v.type_ = type;
    v.elem_type_ = elem_type;
    v.raw_ = raw;
    v.raw_size_ = raw_size;
    v.count_ = count;
    v.pool_index_ = pool_index;
    return v;
  }
  /// Points an array's elements at the finished pools (strings or nested values).
  static void resolve(gguf_value& v, const std::string_view* strings, const gguf_value* values) noexcept {
    if (v.type_ != gguf_type::array || v.count_ == 0) return;
    if (v.elem_type_ == gguf_type::string) v.elems_ = strings + v.pool_index_;
    if (v.elem_type_ == gguf_type::array) v.elems_ = values + v.pool_index_;
  }
};
}  // namespace detail

}  // namespace mmllm
