// mmllm/core/quant_formats.hpp — every storage format mmllm supports, as a type list, and
// run-time dispatch from a `dtype` to its format type.
//
// Formats live in namespace `mmllm::fmt` and carry ggml's type names (`fmt::q4_0`,
// `fmt::q4_K`, `fmt::f16` …); the namespace keeps `fmt::f16` (a format) apart from
// `mmllm::f16` (the half-precision storage type it stores).
//
//   auto r = mmllm::visit_format(tensor.type, [&](auto tag) {
//     using Q = typename decltype(tag)::type;          // e.g. mmllm::fmt::q4_K
//     Q::dequantize_row(reinterpret_cast<const typename Q::block*>(src), dst, n);
//   });                                                // r: result<void>
//   if (!r) log(r.error().what());                     // "unsupported: dtype iq2_xxs ..."
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "dtype.hpp"
#include "quant/iq4.hpp"
#include "quant/k_quants.hpp"
#include "quant/legacy.hpp"
#include "quant/mxfp4.hpp"
#include "quant/plain.hpp"
#include "quant_format.hpp"
#include "result.hpp"

namespace mmllm {

/// A compile-time list of formats.
template <class... Q>
struct format_list {
  static constexpr std::size_t size = sizeof...(Q);
};

/// Every supported format, in ggml id order (weights and activation formats alike).
using all_formats = format_list<fmt::f32, fmt::f16, fmt::q4_0, fmt::q4_1, fmt::q5_0, fmt::q5_1, fmt::q8_0,
                                fmt::q8_1, fmt::q2_K, fmt::q3_K, fmt::q4_K, fmt::q5_K, fmt::q6_K, fmt::q8_K,
                                fmt::iq4_nl, fmt::iq4_xs, fmt::bf16, fmt::mxfp4>;

namespace detail {
template <class... Q>
constexpr bool all_model_quant_format(format_list<Q...>) noexcept {
  return (quant_format<Q> && ...);
}
static_assert(all_model_quant_format(all_formats{}), "every listed format must model quant_format");

/// result<R> for a callback returning R; result<void> for void; a result<X> passes through.
template <class R>
struct visit_result {
  using type = result<R>;
};
template <>
struct visit_result<void> {
  using type = result<void>;
};
template <class X>
struct visit_result<result<X>> {
  using type = result<X>;
};

template <class Out, class F, class Q>
Out invoke_format(F& f) {
  using R = std::invoke_result_t<F&, std::type_identity<Q>>;
  if constexpr (std::is_void_v<R>) {
    f(std::type_identity<Q>{});
    return Out{};
  } else {
    return Out(f(std::type_identity<Q>{}));
  }
}

template <class F, class Q0, class... Q>
auto visit_format_in(format_list<Q0, Q...>, dtype d, F& f) {
  using R = std::invoke_result_t<F&, std::type_identity<Q0>>;
  static_assert((std::is_same_v<R, std::invoke_result_t<F&, std::type_identity<Q>>> && ...),
                "visit_format: the callback must return the same type for every format");
  using out_t = typename visit_result<R>::type;
  std::optional<out_t> out;
  const bool found = (d == Q0::id && (out.emplace(invoke_format<out_t, F, Q0>(f)), true)) ||
                     ((d == Q::id && (out.emplace(invoke_format<out_t, F, Q>(f)), true)) || ...);
  if (!found) {
    return out_t(make_error(errc::unsupported, "dtype ", name_of(d), " (ggml type id ",
                            std::to_string(static_cast<unsigned>(d)), ") is not supported"));
  }
  return std::move(*out);
}
}  // namespace detail

/// Calls f(std::type_identity<Q>{}) for the format Q whose id is `d` and returns what f
/// returns as a result (result<void> for void; a returned result<X> is passed through), or
/// an errc::unsupported error naming the dtype when no listed format has that id.
template <class F>
auto visit_format(dtype d, F&& f) {
  return detail::visit_format_in(all_formats{}, d, f);
}

}  // namespace mmllm
