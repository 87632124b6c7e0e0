// mmllm/models/architectures.hpp — the text architectures mmllm runs, as a type list, and the
// dispatch from a file's `general.architecture` to the architecture type that describes it.
//
// Each architecture is a type with a `name` (the GGUF `general.architecture` string) and a
// `describe(hparams_reader, common_hparams, model_desc&)` that fills what is specific to it
// (see arch/*.hpp; every peer quirk lives in its architecture's header). One decoder stack
// runs them all from the resulting `model_desc`.
//
//   auto desc = mmllm::models::describe_model(reader);     // result<model_desc>
//   mmllm::models::visit_architecture("qwen3", [](auto tag) {
//     using A = typename decltype(tag)::type;                // mmllm::models::arch::qwen3
//   });
//
// A program may describe its own list: `describe_model<arch_list<arch::llama, my_arch>>(r)`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"
#include "arch/gemma3.hpp"
#include "arch/llama.hpp"
#include "arch/phi3.hpp"
#include "arch/qwen2.hpp"
#include "arch/qwen3.hpp"
#include "hparams.hpp"
#include "model_desc.hpp"

namespace mmllm::models {

/// A compile-time list of architecture types.
template <class... A>
struct arch_list {
  static constexpr std::size_t size = sizeof...(A);
};

/// Every text architecture mmllm supports.
using text_architectures =
    arch_list<arch::llama, arch::qwen2, arch::qwen2vl, arch::qwen3, arch::gemma3, arch::phi3>;

/// Comma-separated names of a list ("llama, qwen2, …"), for error messages.
template <class... A>
std::string architecture_names(arch_list<A...>) {
  std::string s;
  ((s += (s.empty() ? "" : ", "), s += std::string(A::name)), ...);
  return s;
}

/// Calls f(std::type_identity<A>{}) for the architecture A of `List` named `name` and returns
/// f's result (which must be a result<…>), or an errc::unsupported error naming the
/// architecture and listing the supported ones.
template <class List = text_architectures, class F>
auto visit_architecture(std::string_view name, F&& f) {
  return [&]<class... A>(arch_list<A...>) {
    using R = std::invoke_result_t<F&, std::type_identity<std::tuple_element_t<0, std::tuple<A...>>>>;
    std::optional<R> out;
    const bool found = ((name == A::name && (out.emplace(f(std::type_identity<A>{})), true)) || ...);
    if (!found)
      return R(make_error(errc::unsupported, "model: architecture '", name,
                          "' is not supported (supported: ", architecture_names(List{}), ")"));
    return std::move(*out);
  }(List{});
}

/// Reads a model's description from its GGUF metadata (`general.architecture` picks the type).
template <class List = text_architectures>
result<model_desc> describe_model(const gguf_reader& r) {
  MMLLM_TRY_ASSIGN(const std::string_view name, r.architecture());
  return visit_architecture<List>(name, [&](auto tag) -> result<model_desc> {
    using A = typename decltype(tag)::type;
    model_desc d;
    const hparams_reader h(r, A::name);
    MMLLM_TRY_ASSIGN(const common_hparams c, read_common_hparams(h, d));
    MMLLM_TRY(A::describe(h, c, d));
    return d;
  });
}

}  // namespace mmllm::models
