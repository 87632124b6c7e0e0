// mmllm/engine/token_sampler.hpp — how the engine turns a row of logits into the next token:
// the `token_sampler` concept and `basic_sampler`, the engine's small built-in sampler
// (greedy, or seeded temperature / top-k / top-p).
//
// The engine is a template over its sampler (`engine<Policy, Sampler>`), so the full chain
// of the sampling layer (penalties, DRY, min-p, XTC, mirostat, grammars …) plugs in through
// an adapter that models `token_sampler`:
//
//   struct my_sampler {
//     using params_type = my_params;                                   // per-request parameters
//     static result<my_sampler> make(const my_params&, const sampler_setup&);
//     token_id sample(std::span<const float> logits);                  // may modify nothing
//     void accept(token_id t);                                         // the token taken
//   };
//
// `sampler_setup` gives what a sampler may need about the model and the request (vocabulary,
// context size, the prompt, a seed for requests that do not fix one).
//
// basic_sampler follows the order of llama.cpp's default chain for the samplers it has:
// top-k → top-p → temperature → draw (std::mt19937 seeded with the request's seed, as the
// peer's dist sampler is). temperature ≤ 0 is greedy: the highest logit, lowest id on ties.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "../core/result.hpp"
#include "../tokenize/tokenizer.hpp"

namespace mmllm {

/// What a sampler may know about the model and the request it samples for.
struct sampler_setup {
  const tokenizer* vocab = nullptr;  ///< the model's tokenizer
  std::int32_t n_vocab = 0;          ///< logits per row
  std::int32_t n_ctx = 0;            ///< context size of the sequence
  std::span<const token_id> prompt;  ///< the prompt tokens
  std::uint32_t seed = 0;            ///< seed to use when the parameters ask for a random one
  /// Engine-owned storage a sampler type may use for tables all requests share (built on
  /// first use, e.g. full_sampler's grammar vocabulary); null when there is none.
  std::shared_ptr<void>* shared = nullptr;
};

/// A sampler the engine can use (see the header comment).
template <class S>
concept token_sampler = std::move_constructible<S> &&
    requires(S& s, std::span<const float> logits, token_id t, const typename S::params_type& p,
             const sampler_setup& setup) {
  { S::make(p, setup) } -> std::same_as<result<S>>;
  { s.sample(logits) } -> std::convertible_to<token_id>;
  s.accept(t);
};

/// Parameters of basic_sampler (the peer's names and meanings).
struct basic_sampling_params {
  /// The peer's "random seed" marker: draw a seed (the engine's, see sampler_setup::seed).
  static constexpr std::uint32_t random_seed = 0xFFFFFFFFu;
  float temperature = 0.8f;  ///< ≤ 0: greedy
  std::int32_t top_k = 40;   ///< ≤ 0: off
  float top_p = 0.95f;       ///< ≥ 1: off
  std::uint32_t seed = random_seed;
};

/// Greedy / temperature / top-k / top-p sampling (see the header comment).
class basic_sampler {
 public:
  using params_type = basic_sampling_params;

  static result<basic_sampler> make(const basic_sampling_params& p, const sampler_setup& s) {
    if (!(p.top_p > 0.0f) || std::isnan(p.temperature))
      return make_error(errc::invalid_argument, "sampling: top_p must be > 0 and temperature a number");
    basic_sampler b;
    b.p_ = p;
    b.seed_ = p.seed == basic_sampling_params::random_seed ? s.seed : p.seed;
    b.rng_.seed(b.seed_);
    return b;
  }

  /// The seed in use.
  [[nodiscard]] std::uint32_t seed() const noexcept { return seed_; }

  token_id sample(std::span<const float> logits) {
    const auto n = static_cast<token_id>(logits.size());
    if (n == 0) return no_token;
    if (p_.temperature <= 0.0f) return greedy(logits);
    // candidates sorted by logit (descending, lower id first on ties)
    cand_.resize(logits.size());
    for (token_id i = 0; i < n; ++i)
      cand_[static_cast<std::size_t>(i)] = {i, logits[static_cast<std::size_t>(i)]};
    auto by_logit = [](const entry& a, const entry& b) {
      return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    std::size_t keep = cand_.size();
    if (p_.top_k > 0 && static_cast<std::size_t>(p_.top_k) < keep) {
      keep = static_cast<std::size_t>(p_.top_k);
      std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(keep), cand_.end(),
                        by_logit);
    } else {
      std::sort(cand_.begin(), cand_.end(), by_logit);
    }
    if (p_.top_p < 1.0f) {  // smallest prefix whose probability mass reaches top_p
      const std::vector<double> prob = softmax(keep, 1.0f);
      double cum = 0.0;
      std::size_t k = 0;
      while (k < keep) {
        cum += prob[k++];
        if (cum >= static_cast<double>(p_.top_p)) break;
      }
      keep = std::max<std::size_t>(1, k);
    }
    const std::vector<double> prob = softmax(keep, p_.temperature);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double cum = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
      cum += prob[i];
      if (u < cum) return cand_[i].id;
    }
    return cand_[keep - 1].id;
  }

  void accept(token_id) noexcept {}

  /// The highest logit, lowest id on ties.
  static token_id greedy(std::span<const float> logits) noexcept {
    return static_cast<token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

 private:
  struct entry {
    token_id id;
    float logit;
  };
  std::vector<double> softmax(std::size_t n, float temperature) const {
    std::vector<double> p(n);
    const double mx = cand_[0].logit;
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += p[i] = std::exp((cand_[i].logit - mx) / temperature);
    for (double& v : p) v /= sum;
    return p;
  }

  basic_sampling_params p_;
  std::uint32_t seed_ = 0;
  std::mt19937 rng_;
  std::vector<entry> cand_;
};

static_assert(token_sampler<basic_sampler>);

}  // namespace mmllm
