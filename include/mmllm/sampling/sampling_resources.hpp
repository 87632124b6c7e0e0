// mmllm/sampling/sampling_resources.hpp — per-model tables that every request's sampler can
// share: the grammar vocabulary (built on the first request with a grammar) and DRY
// sequence-breaker tables (per breaker list). Building them means decoding the whole
// vocabulary, so an engine keeps one sampling_resources per model. Not thread-safe.
//
//   mmllm::sampling_resources res(&tok);
//   mmllm::sampler_context ctx{.vocab = &tok, .n_ctx = 4096};
//   res.prepare(params, ctx);   // fills ctx.grammar_vocab / ctx.dry_breakers when params need them
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../tokenize/tokenizer.hpp"
#include "dry_breakers.hpp"
#include "grammar_vocabulary.hpp"
#include "sampler_chain.hpp"
#include "sampling_params.hpp"

namespace mmllm {

class sampling_resources {
 public:
  explicit sampling_resources(const tokenizer* vocab = nullptr) : vocab_(vocab) {}

  [[nodiscard]] const tokenizer* vocab() const noexcept { return vocab_; }

  /// The grammar vocabulary of the tokenizer (built once).
  std::shared_ptr<const grammar_vocabulary> grammar_vocab() {
    if (!grammar_vocab_ && vocab_ != nullptr && vocab_->valid())
      grammar_vocab_ = grammar_vocabulary::build(*vocab_);
    return grammar_vocab_;
  }

  /// The DRY breaker table of a breaker list (the last few lists are kept).
  std::shared_ptr<const dry_breaker_table> dry_breakers(const std::vector<std::string>& breakers) {
    for (const auto& [list, table] : dry_)
      if (list == breakers) return table;
    if (vocab_ == nullptr || !vocab_->valid()) return nullptr;
    auto table = make_dry_breakers(*vocab_, breakers);
    if (dry_.size() >= 4) dry_.erase(dry_.begin());
    dry_.emplace_back(breakers, table);
    return table;
  }

  /// Fills what `p` needs into `ctx` (grammar vocabulary for a grammar or JSON schema, DRY
  /// breakers when DRY is on).
  void prepare(const sampling_params& p, sampler_context& ctx) {
    if (ctx.vocab == nullptr) ctx.vocab = vocab_;
    if (!ctx.grammar_vocab && (!p.grammar.empty() || !p.json_schema.empty()))
      ctx.grammar_vocab = grammar_vocab();
    if (!ctx.dry_breakers && p.dry_multiplier != 0.0f && !p.dry_sequence_breakers.empty())
      ctx.dry_breakers = dry_breakers(p.dry_sequence_breakers);
  }

 private:
  const tokenizer* vocab_;
  std::shared_ptr<const grammar_vocabulary> grammar_vocab_;
  std::vector<std::pair<std::vector<std::string>, std::shared_ptr<const dry_breaker_table>>> dry_;
};

}  // namespace mmllm
