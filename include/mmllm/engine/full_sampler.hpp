// mmllm/engine/full_sampler.hpp — the sampling layer's full chain as the engine's sampler:
// every llama.cpp sampler in a run-time order, GBNF grammars, JSON schemas, n_probs.
//
//   using engine_t = mmllm::engine<mmllm::compute::simd, mmllm::full_sampler>;
//   engine_t::params_type p;                       // generation_params<sampling_params>
//   p.sampling.min_p = 0.1f;
//   p.sampling.json_schema = R"({"type": "object"})";
//   p.sampling.n_probs = 5;                        // generation_output::probabilities
//
// It models the engine's token_sampler concept. A request whose seed is default_seed gets
// the engine's per-request seed. The grammar vocabulary and DRY breaker tables are built once
// per engine (sampler_setup::shared). The engine ends a request when the grammar is complete
// (finished()), and with an error when sampling fails (failure(): resource limits of a
// hostile grammar, or no token can continue it).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "../core/result.hpp"
#include "../sampling/sampled_token.hpp"
#include "../sampling/sampling_params.hpp"
#include "../sampling/sampling_resources.hpp"
#include "../sampling/sequence_sampler.hpp"
#include "token_sampler.hpp"

namespace mmllm {

class full_sampler {
 public:
  using params_type = sampling_params;

  static result<full_sampler> make(const sampling_params& p, const sampler_setup& setup) {
    sampling_params q = p;
    if (q.seed == default_seed) q.seed = setup.seed;
    sampler_context ctx;
    ctx.vocab = setup.vocab;
    ctx.n_vocab = setup.n_vocab;
    if (setup.n_ctx > 0) ctx.n_ctx = setup.n_ctx;
    if (setup.shared != nullptr) {
      std::shared_ptr<void>& slot = *setup.shared;
      if (!slot) slot = std::make_shared<sampling_resources>(setup.vocab);
      static_cast<sampling_resources*>(slot.get())->prepare(q, ctx);
    }
    MMLLM_TRY_ASSIGN(sequence_sampler s, sequence_sampler::create(q, ctx));
    return full_sampler(std::move(s));
  }

  /// The next token; no_token (and failure() set) when sampling fails.
  token_id sample(std::span<const float> logits) {
    auto t = s_.sample(logits);
    if (!t) {
      failure_ = std::move(t).error();
      return no_token;
    }
    last_ = std::move(*t);
    return last_.id;
  }

  void accept(token_id t) {
    if (t == no_token) return;
    auto r = s_.accept(t);
    if (!r) failure_ = std::move(r).error();
  }

  [[nodiscard]] std::uint32_t seed() const { return s_.seed(); }
  /// The grammar is complete and nothing can follow.
  [[nodiscard]] bool finished() const noexcept { return s_.grammar_finished(); }
  [[nodiscard]] const std::optional<error>& failure() const noexcept { return failure_; }
  /// Whether probabilities are reported (n_probs > 0), and the last sampled token's.
  [[nodiscard]] bool reports_probabilities() const noexcept { return s_.params().n_probs > 0; }
  [[nodiscard]] const sampled_token& last() const noexcept { return last_; }
  [[nodiscard]] const sequence_sampler& sampler() const noexcept { return s_; }

 private:
  sequence_sampler s_;
  sampled_token last_;
  std::optional<error> failure_;

  explicit full_sampler(sequence_sampler s) : s_(std::move(s)) {}
};

static_assert(token_sampler<full_sampler>);

}  // namespace mmllm
