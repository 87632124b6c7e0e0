// mmllm/core/tensor_view.hpp — non-owning multi-dimensional view (mdspan-like).
//
// `tensor_view<T, extents<E...>>` points at elements of type T laid out with per-dimension
// strides (in elements). Extents may be static (known at compile time, free at run time)
// or `dynamic_extent`. Index order is row-major: the last index varies fastest, so for a
// matrix view `m(row, col)`. Everything that can be is `constexpr`.
//
//   float buf[6];
//   mmllm::matrix_view<float> m(buf, 2, 3);           // 2 rows, 3 columns, contiguous
//   m(1, 2) = 1.0f;  auto r = m.row(1);  auto c = m.slice<1>(1, 3);
#pragma once

#include <array>
#include <cassert>
#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

namespace mmllm {

inline constexpr std::size_t dynamic_extent = std::dynamic_extent;

/// Shape of a view: each `E` is a compile-time size or `dynamic_extent`.
template <std::size_t... E>
class extents {
 public:
  static constexpr std::size_t rank = sizeof...(E);
  static constexpr std::size_t rank_dynamic = ((E == dynamic_extent ? 1 : 0) + ... + 0);

  /// Compile-time extent of dimension r (dynamic_extent if only known at run time).
  static constexpr std::size_t static_extent(std::size_t r) noexcept {
    constexpr std::array<std::size_t, rank> s{E...};
    return s[r];
  }

  constexpr extents() noexcept = default;

  /// Construct from the dynamic extents only (in order).
  template <std::integral... I>
  requires(sizeof...(I) == rank_dynamic && rank_dynamic != rank) constexpr explicit extents(I... dyn) noexcept
      : dyn_{static_cast<std::size_t>(dyn)...} {}

  /// Construct from all extents (static ones must match).
  template <std::integral... I>
  requires(sizeof...(I) == rank) constexpr explicit extents(I... all) noexcept {
    const std::array<std::size_t, rank> v{static_cast<std::size_t>(all)...};
    std::size_t k = 0;
    for (std::size_t r = 0; r < rank; ++r) {
      if (static_extent(r) == dynamic_extent) {
        dyn_[k++] = v[r];
      } else {
        assert(v[r] == static_extent(r));
      }
    }
  }

  /// Extent of dimension r.
  constexpr std::size_t extent(std::size_t r) const noexcept {
    if (static_extent(r) != dynamic_extent) return static_extent(r);
    std::size_t k = 0;
    for (std::size_t i = 0; i < r; ++i) k += static_extent(i) == dynamic_extent ? 1 : 0;
    return dyn_[k];
  }

  /// Product of all extents.
  constexpr std::size_t size() const noexcept {
    std::size_t n = 1;
    for (std::size_t r = 0; r < rank; ++r) n *= extent(r);
    return n;
  }

  friend constexpr bool operator==(const extents& a, const extents& b) noexcept {
    for (std::size_t r = 0; r < rank; ++r)
      if (a.extent(r) != b.extent(r)) return false;
    return true;
  }

 private:
  std::array<std::size_t, rank_dynamic> dyn_{};
};

namespace detail {
template <std::size_t R, class Seq>
struct dextents_impl;
template <std::size_t R, std::size_t... I>
struct dextents_impl<R, std::index_sequence<I...>> {
  using type = extents<((void)I, dynamic_extent)...>;
};

template <class Ext, std::size_t Drop, class Seq>
struct drop_extent;
template <std::size_t... E, std::size_t Drop, std::size_t... I>
struct drop_extent<extents<E...>, Drop, std::index_sequence<I...>> {
  static constexpr std::array<std::size_t, sizeof...(E)> all{E...};
  using type = extents<all[I < Drop ? I : I + 1]...>;
};

template <class Ext, std::size_t Dyn, class Seq>
struct make_dynamic_at;
template <std::size_t... E, std::size_t Dyn, std::size_t... I>
struct make_dynamic_at<extents<E...>, Dyn, std::index_sequence<I...>> {
  using type = extents<(I == Dyn ? dynamic_extent : E)...>;
};

template <class Ext, std::size_t... I>
constexpr Ext extents_from_array(const std::array<std::size_t, Ext::rank>& v, std::index_sequence<I...>) {
  return Ext(v[I]...);
}
}  // namespace detail

/// extents with all R dimensions dynamic.
template <std::size_t R>
using dextents = typename detail::dextents_impl<R, std::make_index_sequence<R>>::type;

/// Non-owning strided view of `T` elements shaped by `Extents`.
template <class T, class Extents>
class tensor_view {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using extents_type = Extents;
  using index_type = std::size_t;
  using strides_type = std::array<std::ptrdiff_t, Extents::rank>;
  static constexpr std::size_t rank = Extents::rank;

  constexpr tensor_view() noexcept = default;

  /// Contiguous row-major view over `p` with shape `e`.
  constexpr tensor_view(T* p, Extents e) noexcept : data_(p), ext_(e), strides_(row_major_strides(e)) {}

  /// Strided view: `s[r]` is the distance in elements between neighbours along dim r.
  constexpr tensor_view(T* p, Extents e, strides_type s) noexcept : data_(p), ext_(e), strides_(s) {}

  /// Contiguous view from all extents: `tensor_view<float, dextents<2>>(p, rows, cols)`.
  template <std::integral... I>
  requires(sizeof...(I) == rank && rank > 0) constexpr tensor_view(T* p, I... all) noexcept
      : tensor_view(p, Extents(all...)) {}

  /// Views of non-const elements convert to views of const elements.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) constexpr tensor_view(
      const tensor_view<U, Extents>& o) noexcept  // NOLINT(google-explicit-constructor)
      : data_(o.data()), ext_(o.extents()), strides_(o.strides()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr const Extents& extents() const noexcept { return ext_; }
  constexpr const strides_type& strides() const noexcept { return strides_; }
  constexpr std::size_t extent(std::size_t r) const noexcept { return ext_.extent(r); }
  constexpr std::ptrdiff_t stride(std::size_t r) const noexcept { return strides_[r]; }
  constexpr std::size_t size() const noexcept { return ext_.size(); }
  constexpr bool empty() const noexcept { return size() == 0; }

  /// True when the elements form one dense row-major block (no gaps, no reordering).
  constexpr bool is_contiguous() const noexcept {
    std::ptrdiff_t expect = 1;
    for (std::size_t r = rank; r-- > 0;) {
      if (ext_.extent(r) != 1 && strides_[r] != expect) return false;
      expect *= static_cast<std::ptrdiff_t>(ext_.extent(r));
    }
    return true;
  }

  /// Element at the given indices (one per dimension). Bounds are asserted in debug builds.
  template <std::integral... I>
  requires(sizeof...(I) == rank) constexpr T& operator()(I... idx) const noexcept {
    const std::array<std::size_t, rank> v{static_cast<std::size_t>(idx)...};
    std::ptrdiff_t off = 0;
    for (std::size_t r = 0; r < rank; ++r) {
      assert(v[r] < ext_.extent(r));
      off += static_cast<std::ptrdiff_t>(v[r]) * strides_[r];
    }
    return data_[off];
  }

  /// Element i of a rank-1 view.
  constexpr T& operator[](std::size_t i) const noexcept requires(rank == 1) {
    assert(i < ext_.extent(0));
    return data_[static_cast<std::ptrdiff_t>(i) * strides_[0]];
  }

  /// The sub-view at index i of the first dimension (rank drops by one).
  constexpr auto row(std::size_t i) const noexcept requires(rank >= 2) {
    using sub_ext = typename detail::drop_extent<Extents, 0, std::make_index_sequence<rank - 1>>::type;
    assert(i < ext_.extent(0));
    std::array<std::size_t, rank - 1> e{};
    typename tensor_view<T, sub_ext>::strides_type s{};
    for (std::size_t r = 1; r < rank; ++r) {
      e[r - 1] = ext_.extent(r);
      s[r - 1] = strides_[r];
    }
    return tensor_view<T, sub_ext>(
        data_ + static_cast<std::ptrdiff_t>(i) * strides_[0],
        detail::extents_from_array<sub_ext>(e, std::make_index_sequence<rank - 1>{}), s);
  }

  /// Half-open range [begin, end) along dimension D; that extent becomes dynamic.
  template <std::size_t D>
  requires(D < rank) constexpr auto slice(std::size_t begin, std::size_t end) const noexcept {
    using out_ext = typename detail::make_dynamic_at<Extents, D, std::make_index_sequence<rank>>::type;
    assert(begin <= end && end <= ext_.extent(D));
    std::array<std::size_t, rank> e{};
    for (std::size_t r = 0; r < rank; ++r) e[r] = ext_.extent(r);
    e[D] = end - begin;
    return tensor_view<T, out_ext>(data_ + static_cast<std::ptrdiff_t>(begin) * strides_[D],
                                   detail::extents_from_array<out_ext>(e, std::make_index_sequence<rank>{}),
                                   strides_);
  }

  /// The elements of a contiguous view as a span.
  constexpr std::span<T> span() const noexcept {
    assert(is_contiguous());
    return {data_, size()};
  }

 private:
  static constexpr strides_type row_major_strides(const Extents& e) noexcept {
    strides_type s{};
    std::ptrdiff_t acc = 1;
    for (std::size_t r = rank; r-- > 0;) {
      s[r] = acc;
      acc *= static_cast<std::ptrdiff_t>(e.extent(r));
    }
    return s;
  }

  T* data_ = nullptr;
  Extents ext_{};
  strides_type strides_{};
};

/// Rank-1 view with a run-time length.
template <class T>
using vector_view = tensor_view<T, dextents<1>>;
/// Rank-2 view (rows × columns) with run-time extents.
template <class T>
using matrix_view = tensor_view<T, dextents<2>>;

}  // namespace mmllm
