// mmllm/sampling/sampler.hpp — the sampler concept and a type-erased holder for user samplers.
//
// A sampler is a copyable value with
//   std::string_view name() const;       // e.g. "top-k"
//   void apply(candidate_list& c);       // filter / rescale / select (sets c.selected)
//   void accept(token_id t);             // the token the sequence actually took
//   void reset();                        // back to the state after construction
// Cloning a sampler for a forked sequence is copying it: every sampler holds its whole state
// (RNG, history) by value, and shares only immutable tables.
//
//   struct no_digits { … };                              // any type modelling mmllm::sampler
//   chain.push_back(mmllm::custom_sampler(no_digits{}));  // sampler_chain.hpp
#pragma once

#include <concepts>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include "token_candidates.hpp"

namespace mmllm {

// (the member checks come first: checking copy-constructibility first would recurse through
// custom_sampler's converting constructor)
template <class S>
concept sampler = requires(S s, const S cs, candidate_list& c, token_id t) {
  { cs.name() } -> std::convertible_to<std::string_view>;
  s.apply(c);
  s.accept(t);
  s.reset();
}
&&std::copy_constructible<S>;

/// Holds any sampler behind a virtual interface (for samplers defined outside mmllm).
class custom_sampler {
 public:
  template <class S>
  requires(!std::is_same_v<std::remove_cvref_t<S>, custom_sampler> && sampler<S>) explicit custom_sampler(S s)
      : impl_(std::make_unique<model<S>>(std::move(s))) {}

  custom_sampler(const custom_sampler& o) : impl_(o.impl_ ? o.impl_->clone() : nullptr) {}
  custom_sampler& operator=(const custom_sampler& o) {
    if (this != &o) impl_ = o.impl_ ? o.impl_->clone() : nullptr;
    return *this;
  }
  custom_sampler(custom_sampler&&) noexcept = default;
  custom_sampler& operator=(custom_sampler&&) noexcept = default;
  ~custom_sampler() = default;

  [[nodiscard]] std::string_view name() const { return impl_ ? impl_->name() : std::string_view("(empty)"); }
  void apply(candidate_list& c) {
    if (impl_) impl_->apply(c);
  }
  void accept(token_id t) {
    if (impl_) impl_->accept(t);
  }
  void reset() {
    if (impl_) impl_->reset();
  }

 private:
  struct base {
    base() = default;
    base(const base&) = default;
    base& operator=(const base&) = default;
    base(base&&) = default;
    base& operator=(base&&) = default;
    virtual ~base() = default;
    [[nodiscard]] virtual std::unique_ptr<base> clone() const = 0;
    [[nodiscard]] virtual std::string_view name() const = 0;
    virtual void apply(candidate_list& c) = 0;
    virtual void accept(token_id t) = 0;
    virtual void reset() = 0;
  };
  template <class S>
  struct model final : base {
    S s;
    explicit model(S x) : s(std::move(x)) {}
    [[nodiscard]] std::unique_ptr<base> clone() const override { return std::make_unique<model>(s); }
    [[nodiscard]] std::string_view name() const override { return s.name(); }
    void apply(candidate_list& c) override { s.apply(c); }
    void accept(token_id t) override { s.accept(t); }
    void reset() override { s.reset(); }
  };
  std::unique_ptr<base> impl_;
};

}  // namespace mmllm
