// mmllm/sampling/sequence_sampler.hpp — everything that picks one sequence's next token: the
// sampler chain, an optional grammar (GBNF or JSON schema) and n_probs reporting. This is
// llama.cpp's common_sampler.
//
//   mmllm::sampler_context ctx{.vocab = &tok, .n_ctx = 4096, .grammar_vocab = gv};
//   auto s = mmllm::sequence_sampler::create(params, ctx);   // result<sequence_sampler>
//   auto t = s->sample(logits);                              // result<sampled_token>
//   s->accept(t->id);                                        // penalties, DRY, grammar state
//   mmllm::sequence_sampler fork = *s;                       // clone for a forked sequence
//
// Grammar handling as llama.cpp's common sampler (grammar_first = false): the chain samples
// from all tokens; if the grammar rejects the choice, the logits are masked by the grammar
// and the chain samples again. With grammar_first the mask is applied before the chain.
// Either way the result obeys the grammar. When the grammar is complete and nothing may
// follow (grammar_finished()), only end-of-generation tokens are allowed: an engine should
// stop there (or when ignore_eos bans them).
//
// n_probs > 0 reports, for each sampled token, its probability and the n_probs most likely
// tokens, as llama-server's completion_probabilities: by default from the softmax of the raw
// logits (before any sampler, bias or grammar); with post_sampling_probs from the candidates
// left after the chain (their probabilities, highest first).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "../tokenize/tokenizer.hpp"
#include "grammar_sampler.hpp"
#include "grammar_vocabulary.hpp"
#include "json_schema_grammar.hpp"
#include "sampled_token.hpp"
#include "sampler_chain.hpp"
#include "sampling_params.hpp"
#include "token_candidates.hpp"

namespace mmllm {

class sequence_sampler {
 public:
  /// Builds the chain and, when params.grammar or params.json_schema is set, the grammar
  /// (ctx.vocab is then required; ctx.grammar_vocab is built when absent).
  static result<sequence_sampler> create(const sampling_params& p, const sampler_context& ctx) {
    sequence_sampler s;
    s.params_ = p;
    MMLLM_TRY_ASSIGN(s.chain_, make_sampler_chain(p, ctx));
    std::string gbnf = p.grammar;
    if (gbnf.empty() && !p.json_schema.empty()) {
      MMLLM_TRY_ASSIGN(gbnf, json_schema_to_gbnf(p.json_schema));
    }
    if (!gbnf.empty()) {
      std::shared_ptr<const grammar_vocabulary> gv = ctx.grammar_vocab;
      if (!gv) {
        if (ctx.vocab == nullptr || !ctx.vocab->valid())
          return make_error(errc::invalid_argument, "grammar: a grammar needs the tokenizer");
        gv = grammar_vocabulary::build(*ctx.vocab);
      }
      MMLLM_TRY_ASSIGN(grammar_sampler g, grammar_sampler::create(gbnf, std::move(gv)));
      s.grammar_ = std::make_unique<grammar_sampler>(std::move(g));
    }
    return s;
  }

  sequence_sampler(const sequence_sampler& o)
      : params_(o.params_),
        chain_(o.chain_),
        grammar_(o.grammar_ ? std::make_unique<grammar_sampler>(*o.grammar_) : nullptr),
        buf_(o.buf_) {}
  sequence_sampler& operator=(const sequence_sampler& o) {
    if (this != &o) *this = sequence_sampler(o);
    return *this;
  }
  sequence_sampler(sequence_sampler&&) noexcept = default;
  sequence_sampler& operator=(sequence_sampler&&) noexcept = default;
  ~sequence_sampler() = default;

  /// Picks the next token from one row of logits (does not accept it).
  result<sampled_token> sample(std::span<const float> logits) {
    if (logits.empty()) return make_error(errc::invalid_argument, "sampling: empty logits");
    candidate_list* cur = &buf_.fill(logits);
    if (grammar_ && params_.grammar_first) {
      MMLLM_TRY(grammar_->apply(*cur));
      MMLLM_TRY(require_some(*cur));
    }
    chain_.apply(*cur);
    if (cur->selected < 0) return make_error(errc::internal, "sampling: the chain selected no token");
    token_id id = cur->selected_id();
    if (grammar_ && !params_.grammar_first) {
      MMLLM_TRY_ASSIGN(const bool allowed, grammar_->allows(id));
      if (!allowed) {  // mask by the grammar, then sample again
        cur = &buf_.fill(logits);
        MMLLM_TRY(grammar_->apply(*cur));
        MMLLM_TRY(require_some(*cur));
        chain_.apply(*cur);
        if (cur->selected < 0) return make_error(errc::internal, "sampling: the chain selected no token");
        id = cur->selected_id();
      }
    }
    sampled_token out;
    out.id = id;
    if (params_.n_probs > 0) report_probabilities(out, logits);
    return out;
  }

  /// Records the token the sequence took (grammar state, penalties, DRY history).
  result<void> accept(token_id t, bool accept_grammar = true) {
    if (grammar_ && accept_grammar) MMLLM_TRY(grammar_->accept(t));
    chain_.accept(t);
    return ok();
  }

  result<sampled_token> sample_and_accept(std::span<const float> logits) {
    MMLLM_TRY_ASSIGN(sampled_token t, sample(logits));
    MMLLM_TRY(accept(t.id));
    return t;
  }

  /// Back to the state after construction (new random seeds when seeded randomly).
  void reset() {
    chain_.reset();
    if (grammar_) grammar_->reset();
  }

  [[nodiscard]] const sampling_params& params() const noexcept { return params_; }
  [[nodiscard]] const sampler_chain& chain() const noexcept { return chain_; }
  [[nodiscard]] bool has_grammar() const noexcept { return grammar_ != nullptr; }
  [[nodiscard]] grammar_sampler* grammar() noexcept { return grammar_.get(); }
  /// The grammar is complete and nothing but end of generation may follow.
  [[nodiscard]] bool grammar_finished() const noexcept { return grammar_ && grammar_->finished(); }
  /// The output so far is a complete match of the grammar (true without a grammar).
  [[nodiscard]] bool grammar_can_end() const noexcept { return !grammar_ || grammar_->can_end(); }
  /// The seed in use (the drawn one when params.seed is default_seed).
  [[nodiscard]] std::uint32_t seed() const { return chain_.seed(); }
  /// The candidates after the last sample() (post-chain).
  [[nodiscard]] const candidate_list& candidates() const noexcept { return buf_.list(); }
  /// "logits -> logit-bias -> … -> dist".
  [[nodiscard]] std::string describe() const { return chain_.describe(); }

 private:
  sampling_params params_;
  sampler_chain chain_;
  std::unique_ptr<grammar_sampler> grammar_;
  candidate_buffer buf_;
  std::vector<token_data> top_;  // scratch

  sequence_sampler() = default;

  static result<void> require_some(const candidate_list& c) {
    for (std::size_t i = 0; i < c.size; ++i)
      if (c.data[i].logit != -INFINITY) return ok();
    return make_error(errc::out_of_range, "grammar: no token can continue the grammar");
  }

  void report_probabilities(sampled_token& out, std::span<const float> logits) {
    const auto n = static_cast<std::size_t>(params_.n_probs);
    out.top.clear();
    if (params_.post_sampling_probs) {
      candidate_list& c = buf_.list();
      top_.assign(c.data, c.data + c.size);
      std::sort(top_.begin(), top_.end(), [](const token_data& a, const token_data& b) { return a.p > b.p; });
      for (const token_data& t : top_)
        if (t.id == out.id) {
          out.prob = t.p;
          break;
        }
      for (std::size_t i = 0; i < std::min(n, top_.size()); ++i) out.top.push_back({top_[i].id, top_[i].p});
      return;
    }
    // softmax of the raw logits
    float max_l = -INFINITY;
    for (const float l : logits)
      if (!std::isnan(l)) max_l = std::max(max_l, l);
    double sum = 0.0;
    for (const float l : logits)
      if (!std::isnan(l)) sum += std::exp(static_cast<double>(l - max_l));
    auto prob = [&](float l) {
      return std::isnan(l) ? 0.0f : static_cast<float>(std::exp(static_cast<double>(l - max_l)) / sum);
    };
    if (out.id >= 0 && static_cast<std::size_t>(out.id) < logits.size())
      out.prob = prob(logits[static_cast<std::size_t>(out.id)]);
    candidate_buffer all;
    const candidate_list& c = all.fill(logits);
    select_top(c.view(), n, top_);
    for (const token_data& t : top_) out.top.push_back({t.id, prob(t.logit)});
  }
};

}  // namespace mmllm
