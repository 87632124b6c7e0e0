// mmllm/sampling/sampler_chain.hpp — samplers applied in order, and the chain llama.cpp builds
// from sampling parameters.
//
// A `sampler_chain` is itself a sampler: apply runs every member in order, accept and reset
// reach every member, and copying it clones every member's state (forked sequences).
//
//   mmllm::sampler_context ctx{.vocab = &tok, .n_vocab = n, .n_ctx = 4096};
//   auto chain = mmllm::make_sampler_chain(params, ctx);   // result<sampler_chain>
//   chain->apply(c);  token_id t = c.selected_id();  chain->accept(t);
//
// make_sampler_chain follows llama.cpp's common sampler: logit-bias first (including the
// end-of-generation bans of ignore_eos), then — mirostat = 0 — params.samplers in order and a
// final random draw (dist), or — mirostat = 1/2 — a plain temperature and the Mirostat sampler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/result.hpp"
#include "../tokenize/tokenizer.hpp"
#include "dist_sampler.hpp"
#include "dry_breakers.hpp"
#include "dry_sampler.hpp"
#include "logit_bias_sampler.hpp"
#include "min_p_sampler.hpp"
#include "mirostat_sampler.hpp"
#include "penalties_sampler.hpp"
#include "sampler.hpp"
#include "sampling_params.hpp"
#include "temperature_sampler.hpp"
#include "top_k_sampler.hpp"
#include "top_n_sigma_sampler.hpp"
#include "top_p_sampler.hpp"
#include "typical_p_sampler.hpp"
#include "xtc_sampler.hpp"

namespace mmllm {

class grammar_vocabulary;

/// One member of a chain: a built-in sampler or a custom (type-erased) one.
using chain_sampler =
    std::variant<logit_bias_sampler, penalties_sampler, dry_sampler, top_n_sigma_sampler, top_k_sampler,
                 typical_p_sampler, top_p_sampler, min_p_sampler, xtc_sampler, temperature_sampler,
                 dist_sampler, greedy_sampler, mirostat_sampler, mirostat_v2_sampler, custom_sampler>;

class sampler_chain {
 public:
  sampler_chain() = default;

  /// Appends a sampler (built-in types are stored directly, others through custom_sampler).
  template <sampler S>
  void push_back(S s) {
    if constexpr (std::is_constructible_v<chain_sampler, S&&>) {
      samplers_.emplace_back(std::move(s));
    } else {
      samplers_.emplace_back(custom_sampler(std::move(s)));
    }
  }

  [[nodiscard]] std::string_view name() const { return "chain"; }
  [[nodiscard]] std::size_t size() const noexcept { return samplers_.size(); }
  [[nodiscard]] const chain_sampler& operator[](std::size_t i) const noexcept { return samplers_[i]; }
  [[nodiscard]] chain_sampler& operator[](std::size_t i) noexcept { return samplers_[i]; }

  void apply(candidate_list& c) {
    for (chain_sampler& s : samplers_) std::visit([&](auto& x) { x.apply(c); }, s);
  }
  void accept(token_id t) {
    for (chain_sampler& s : samplers_) std::visit([&](auto& x) { x.accept(t); }, s);
  }
  void reset() {
    for (chain_sampler& s : samplers_) std::visit([](auto& x) { x.reset(); }, s);
  }

  /// "logit-bias -> penalties -> … -> dist" (llama.cpp's sampler chain print).
  [[nodiscard]] std::string describe() const {
    std::string s = "logits";
    for (const chain_sampler& x : samplers_) {
      s += " -> ";
      s += std::visit([](const auto& y) { return std::string(y.name()); }, x);
    }
    return s;
  }

  /// The seed of the last random member (dist or mirostat), or default_seed when none.
  [[nodiscard]] std::uint32_t seed() const {
    for (auto it = samplers_.rbegin(); it != samplers_.rend(); ++it) {
      const std::uint32_t s = std::visit(
          [](const auto& y) -> std::uint32_t {
            using T = std::remove_cvref_t<decltype(y)>;
            if constexpr (std::is_same_v<T, dist_sampler> || std::is_same_v<T, mirostat_sampler> ||
                          std::is_same_v<T, mirostat_v2_sampler>) {
              return y.seed();
            } else {
              return default_seed;
            }
          },
          *it);
      if (s != default_seed) return s;
    }
    return default_seed;
  }

 private:
  std::vector<chain_sampler> samplers_;
};

/// What the chain needs to know about the model and its context.
struct sampler_context {
  const tokenizer* vocab = nullptr;  ///< for DRY breakers, text logit biases, ignore_eos
  std::int32_t n_vocab = 0;          ///< logits per row (defaults to the tokenizer's size)
  std::int32_t n_ctx = 4096;         ///< context size: repeat_last_n / dry_penalty_last_n = -1
  std::int32_t n_ctx_train = 0;      ///< DRY's window bound (0: n_ctx)
  /// Optional precomputed DRY breaker table for params.dry_sequence_breakers (building it
  /// decodes the whole vocabulary; an engine may cache it per breaker list).
  std::shared_ptr<const dry_breaker_table> dry_breakers = nullptr;
  /// Optional grammar vocabulary (grammar_vocabulary::build(*vocab)); built on demand when a
  /// request has a grammar. An engine should build it once per model and share it.
  std::shared_ptr<const grammar_vocabulary> grammar_vocab = nullptr;
};

/// The logit biases of `p` as token ids: ids, tokenized texts, and -inf for every
/// end-of-generation token when ignore_eos. Ids outside the vocabulary are an error.
inline result<std::vector<logit_bias_entry>> resolve_logit_biases(const sampling_params& p,
                                                                  const sampler_context& ctx) {
  std::vector<logit_bias_entry> out;
  const std::int32_t n_vocab =
      ctx.n_vocab > 0 ? ctx.n_vocab
                      : (ctx.vocab != nullptr ? static_cast<std::int32_t>(ctx.vocab->size()) : 0);
  for (const logit_bias_entry& b : p.logit_bias) {
    if (b.token < 0 || (n_vocab > 0 && b.token >= n_vocab))
      return make_error(errc::out_of_range, "logit_bias: token ", std::to_string(b.token),
                        " is not in the vocabulary");
    out.push_back(b);
  }
  if (!p.logit_bias_texts.empty()) {
    if (ctx.vocab == nullptr || !ctx.vocab->valid())
      return make_error(errc::invalid_argument, "logit_bias: a text bias needs the tokenizer");
    for (const logit_bias_text& b : p.logit_bias_texts)
      for (const token_id t : ctx.vocab->encode(b.text, {false, false})) out.push_back({t, b.bias});
  }
  if (p.ignore_eos && ctx.vocab != nullptr && ctx.vocab->valid()) {
    for (const token_id t : ctx.vocab->config().end_of_generation) out.push_back({t, -INFINITY});
    if (ctx.vocab->config().end_of_generation.empty() && ctx.vocab->eos() != no_token)
      out.push_back({ctx.vocab->eos(), -INFINITY});
  }
  return out;
}

/// Builds llama.cpp's chain for `p` (see the file comment).
inline result<sampler_chain> make_sampler_chain(const sampling_params& p, const sampler_context& ctx) {
  MMLLM_TRY(p.validate());
  MMLLM_TRY_ASSIGN(std::vector<logit_bias_entry> biases, resolve_logit_biases(p, ctx));
  const std::int32_t n_vocab =
      ctx.n_vocab > 0 ? ctx.n_vocab
                      : (ctx.vocab != nullptr ? static_cast<std::int32_t>(ctx.vocab->size()) : 0);
  const auto min_keep = static_cast<std::size_t>(p.min_keep);
  sampler_chain chain;
  chain.push_back(logit_bias_sampler(std::move(biases)));
  if (p.mirostat == 0) {
    for (const sampler_type t : p.samplers) {
      switch (t) {
        case sampler_type::penalties: {
          const std::int32_t last_n = p.repeat_last_n == -1 ? ctx.n_ctx : p.repeat_last_n;
          chain.push_back(
              penalties_sampler(last_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty));
          break;
        }
        case sampler_type::dry: {
          const std::int32_t train = ctx.n_ctx_train > 0 ? ctx.n_ctx_train : ctx.n_ctx;
          const std::int32_t last_n = p.dry_penalty_last_n == -1 ? ctx.n_ctx : p.dry_penalty_last_n;
          std::shared_ptr<const dry_breaker_table> table = ctx.dry_breakers;
          const bool enabled = p.dry_multiplier != 0.0f && p.dry_base >= 1.0f && last_n != 0;
          if (enabled && !table && !p.dry_sequence_breakers.empty()) {
            if (ctx.vocab == nullptr || !ctx.vocab->valid())
              return make_error(errc::invalid_argument, "dry: sequence breakers need the tokenizer");
            table = make_dry_breakers(*ctx.vocab, p.dry_sequence_breakers);
          }
          chain.push_back(
              dry_sampler(train, p.dry_multiplier, p.dry_base, p.dry_allowed_length, last_n, table));
          break;
        }
        case sampler_type::top_n_sigma: chain.push_back(top_n_sigma_sampler(p.top_n_sigma)); break;
        case sampler_type::top_k: chain.push_back(top_k_sampler(p.top_k)); break;
        case sampler_type::typical_p: chain.push_back(typical_p_sampler(p.typical_p, min_keep)); break;
        case sampler_type::top_p: chain.push_back(top_p_sampler(p.top_p, min_keep)); break;
        case sampler_type::min_p: chain.push_back(min_p_sampler(p.min_p, min_keep)); break;
        case sampler_type::xtc:
          chain.push_back(xtc_sampler(p.xtc_probability, p.xtc_threshold, min_keep, p.seed));
          break;
        case sampler_type::temperature:
          chain.push_back(temperature_sampler(p.temperature, p.dynatemp_range, p.dynatemp_exponent));
          break;
      }
    }
    chain.push_back(dist_sampler(p.seed));
  } else if (p.mirostat == 1) {
    chain.push_back(temperature_sampler(p.temperature));
    chain.push_back(mirostat_sampler(n_vocab, p.seed, p.mirostat_tau, p.mirostat_eta, 100));
  } else {
    chain.push_back(temperature_sampler(p.temperature));
    chain.push_back(mirostat_v2_sampler(p.seed, p.mirostat_tau, p.mirostat_eta));
  }
  return chain;
}

}  // namespace mmllm
