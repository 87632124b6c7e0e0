// Each sampler's formula on small hand-checkable inputs (expected values computed here in
// double from the documented formulas), partial selection against full sorts, the RNG
// conversions against libstdc++'s distributions.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "catch.hpp"

#include <mmllm/sampling/dist_sampler.hpp>
#include <mmllm/sampling/dry_sampler.hpp>
#include <mmllm/sampling/logit_bias_sampler.hpp>
#include <mmllm/sampling/min_p_sampler.hpp>
#include <mmllm/sampling/mirostat_sampler.hpp>
#include <mmllm/sampling/penalties_sampler.hpp>
#include <mmllm/sampling/sampler.hpp>
#include <mmllm/sampling/temperature_sampler.hpp>
#include <mmllm/sampling/top_k_sampler.hpp>
#include <mmllm/sampling/top_n_sigma_sampler.hpp>
#include <mmllm/sampling/top_p_sampler.hpp>
#include <mmllm/sampling/typical_p_sampler.hpp>
#include <mmllm/sampling/xtc_sampler.hpp>

using mmllm::candidate_buffer;
using mmllm::candidate_list;
using mmllm::token_id;

namespace {

std::vector<float> logs_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (const double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<token_id> ids(const candidate_list& c) {
  std::vector<token_id> v;
  for (const auto& t : c.view()) v.push_back(t.id);
  return v;
}

std::vector<float> random_logits(std::size_t n, std::uint32_t seed, float scale = 3.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

}  // namespace

static_assert(mmllm::sampler<mmllm::top_k_sampler>);
static_assert(mmllm::sampler<mmllm::dry_sampler>);
static_assert(mmllm::sampler<mmllm::custom_sampler>);

TEST_CASE("keep_top_k and select_top agree with a full sort", "[sampling]") {
  for (const std::size_t n : {5u, 100u, 300u, 5000u, 151000u}) {
    for (const std::size_t k : {1u, 3u, 40u, 256u, 1000u}) {
      auto logits = random_logits(n, static_cast<std::uint32_t>(n * 7 + k));
      if (n > 10) logits[3] = logits[4] = logits[5];  // ties
      std::vector<float> ref = logits;
      std::sort(ref.begin(), ref.end(), std::greater<>());
      candidate_buffer buf;
      candidate_list& c = buf.fill(logits);
      std::vector<mmllm::token_data> sel;
      mmllm::select_top(c.view(), k, sel);
      mmllm::keep_top_k(c, k);
      const std::size_t want = std::min(k, n);
      REQUIRE(c.size == want);
      REQUIRE(sel.size() == want);
      CHECK(c.sorted);
      for (std::size_t i = 0; i < want; ++i) {
        CHECK(c.data[i].logit == ref[i]);
        CHECK(sel[i].logit == ref[i]);
        CHECK(logits[static_cast<std::size_t>(c.data[i].id)] == c.data[i].logit);
      }
    }
  }
}

TEST_CASE("softmax matches exp / sum", "[sampling]") {
  const std::vector<float> l = {1.0f, 2.0f, 0.5f, -1.0f};
  candidate_buffer buf;
  candidate_list& c = buf.fill(l);
  mmllm::softmax(c, false);
  double sum = 0;
  for (const float x : l) sum += std::exp(static_cast<double>(x));
  for (std::size_t i = 0; i < l.size(); ++i) CHECK(c.data[i].p == Approx(std::exp(l[i]) / sum).epsilon(1e-6));
  mmllm::softmax(c, true);
  CHECK(ids(c) == std::vector<token_id>{1, 0, 2, 3});
}

TEST_CASE("top-k keeps the k best, sorted; k <= 0 is off", "[sampling]") {
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{1, 5, 3, 4, 2});
  mmllm::top_k_sampler(3).apply(c);
  CHECK(ids(c) == std::vector<token_id>{1, 3, 2});
  candidate_list& d = buf.fill(std::vector<float>{1, 5, 3});
  mmllm::top_k_sampler(0).apply(d);
  CHECK(d.size == 3);
  CHECK(!d.sorted);
}

TEST_CASE("top-p keeps the smallest prefix reaching p", "[sampling]") {
  const auto l = logs_of({0.05, 0.5, 0.15, 0.3});
  auto run = [&](float p, std::size_t min_keep) {
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    mmllm::top_p_sampler(p, min_keep).apply(c);
    return ids(c);
  };
  CHECK(run(0.4f, 0) == std::vector<token_id>{1});
  CHECK(run(0.79f, 0) == std::vector<token_id>{1, 3});
  CHECK(run(0.81f, 0) == std::vector<token_id>{1, 3, 2});
  CHECK(run(0.4f, 3) == std::vector<token_id>{1, 3, 2});
  CHECK(run(1.0f, 0).size() == 4);
  // large unsorted list: the partial path gives what a full sort gives
  const auto big = random_logits(20000, 11, 1.0f);
  for (const float p : {0.1f, 0.5f, 0.99f}) {
    candidate_buffer b1;
    candidate_list& c1 = b1.fill(big);
    mmllm::top_p_sampler(p).apply(c1);
    candidate_buffer b2;
    candidate_list& c2 = b2.fill(big);
    mmllm::sort_candidates(c2);
    mmllm::top_p_sampler(p).apply(c2);
    // same order; the float sums run in a different order, so the cut may move by one token
    const auto i1 = ids(c1), i2 = ids(c2);
    const std::size_t common = std::min(i1.size(), i2.size());
    CHECK(std::equal(i1.begin(), i1.begin() + static_cast<std::ptrdiff_t>(common), i2.begin()));
    CHECK(std::max(i1.size(), i2.size()) - common <= 1);
    double cum = 0;
    double total = 0;
    for (const float x : big) total += std::exp(static_cast<double>(x));
    for (std::size_t i = 0; i + 1 < c1.size; ++i)
      cum += std::exp(static_cast<double>(c1.data[i].logit)) / total;
    CHECK(cum < p + 1e-4);  // one fewer token would not reach p
  }
}

TEST_CASE("min-p keeps p >= min_p * p_max", "[sampling]") {
  const auto l = logs_of({0.05, 0.5, 0.15, 0.3});
  auto run = [&](float p, std::size_t min_keep, bool sorted) {
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    if (sorted) mmllm::sort_candidates(c);
    mmllm::min_p_sampler(p, min_keep).apply(c);
    auto v = ids(c);
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const bool sorted : {false, true}) {
    CHECK(run(0.35f, 0, sorted) == std::vector<token_id>{1, 3});
    CHECK(run(0.25f, 0, sorted) == std::vector<token_id>{1, 2, 3});
    CHECK(run(0.95f, 0, sorted) == std::vector<token_id>{1});
    CHECK(run(0.95f, 3, sorted) == std::vector<token_id>{1, 2, 3});
    CHECK(run(0.0f, 0, sorted).size() == 4);
  }
}

TEST_CASE("typical-p orders by |-log p - H| and keeps mass > p", "[sampling]") {
  const std::vector<double> probs = {0.4, 0.3, 0.2, 0.1};
  double h = 0;
  for (const double p : probs) h -= p * std::log(p);
  std::vector<std::size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::fabs(-std::log(probs[a]) - h) < std::fabs(-std::log(probs[b]) - h);
  });
  for (const double p : {0.25, 0.5, 0.75, 0.95}) {
    std::vector<token_id> want;
    double cum = 0;
    for (const std::size_t i : order) {
      want.push_back(static_cast<token_id>(i));
      cum += probs[i];
      if (cum > p) break;
    }
    candidate_buffer buf;
    candidate_list& c = buf.fill(logs_of(probs));
    mmllm::typical_p_sampler(static_cast<float>(p)).apply(c);
    CHECK(ids(c) == want);
    CHECK(!c.sorted);
  }
  // masked (-inf) candidates are the least typical, never NaN trouble
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{0.0f, -INFINITY, 1.0f, -INFINITY});
  mmllm::typical_p_sampler(0.9f).apply(c);
  for (const auto& t : c.view()) CHECK(t.logit != -INFINITY);
}

TEST_CASE("temperature divides logits; t <= 0 keeps the first maximum", "[sampling]") {
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{1.0f, 4.0f, -2.0f});
  mmllm::temperature_sampler(0.5f).apply(c);
  CHECK(c.data[0].logit == 2.0f);
  CHECK(c.data[1].logit == 8.0f);
  CHECK(c.data[2].logit == -4.0f);
  candidate_list& g = buf.fill(std::vector<float>{1.0f, 4.0f, 4.0f, -2.0f});
  mmllm::temperature_sampler(0.0f).apply(g);
  CHECK(g.data[1].logit == 4.0f);
  CHECK(g.data[0].logit == -INFINITY);
  CHECK(g.data[2].logit == -INFINITY);
  CHECK(g.data[3].logit == -INFINITY);
}

TEST_CASE("dynamic temperature maps normalized entropy to [t - range, t + range]", "[sampling]") {
  const std::vector<float> l = {2.0f, 1.0f, 0.0f, -1.0f};
  for (const float exponent : {0.5f, 1.0f, 2.0f}) {
    const float t = 1.0f, range = 0.5f;
    double sum = 0;
    for (const float x : l) sum += std::exp(static_cast<double>(x));
    double h = 0;
    for (const float x : l) {
      const double p = std::exp(static_cast<double>(x)) / sum;
      h -= p * std::log(p);
    }
    const double dyn = (t - range) + 2.0 * range * std::pow(h / std::log(4.0), exponent);
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    mmllm::temperature_sampler(t, range, exponent).apply(c);
    REQUIRE(c.sorted);
    for (std::size_t i = 0; i < l.size(); ++i) CHECK(c.data[i].logit == Approx(l[i] / dyn).epsilon(1e-5));
    double s2 = 0;
    for (const float x : l) s2 += std::exp(x / dyn);
    for (std::size_t i = 0; i < l.size(); ++i)
      CHECK(c.data[i].p == Approx(std::exp(l[i] / dyn) / s2).epsilon(1e-5));
  }
}

TEST_CASE("xtc removes all above-threshold tokens but the least likely", "[sampling]") {
  const auto l = logs_of({0.05, 0.5, 0.15, 0.3});
  candidate_buffer buf;
  candidate_list& c = buf.fill(l);
  mmllm::xtc_sampler(1.0f, 0.1f, 0, 1).apply(c);
  CHECK(ids(c) == std::vector<token_id>{2, 0});
  candidate_list& d = buf.fill(l);
  mmllm::xtc_sampler(1.0f, 0.1f, 3, 1).apply(d);  // would leave 2 < min_keep
  CHECK(d.size == 4);
  candidate_list& e = buf.fill(l);
  mmllm::xtc_sampler(1.0f, 0.6f, 0, 1).apply(e);  // threshold > 0.5: off
  CHECK(e.size == 4);
  // the draw: applied in about xtc_probability of the steps
  mmllm::xtc_sampler x(0.3f, 0.1f, 0, 77);
  int applied = 0;
  for (int i = 0; i < 4000; ++i) {
    candidate_list& f = buf.fill(l);
    x.apply(f);
    applied += f.size == 2 ? 1 : 0;
  }
  CHECK(applied > 1050);
  CHECK(applied < 1350);
}

TEST_CASE("top-n-sigma masks below max - n * sigma", "[sampling]") {
  const std::vector<float> l = {0.0f, 1.0f, 2.0f, 3.0f, 10.0f, -INFINITY};
  double mean = 0;
  for (int i = 0; i < 5; ++i) mean += l[static_cast<std::size_t>(i)];
  mean /= 5;
  double var = 0;
  for (int i = 0; i < 5; ++i)
    var += (l[static_cast<std::size_t>(i)] - mean) * (l[static_cast<std::size_t>(i)] - mean);
  const double sigma = std::sqrt(var / 5);
  for (const float n : {0.5f, 1.0f, 2.0f}) {
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    mmllm::top_n_sigma_sampler(n).apply(c);
    const double cut = 10.0 - n * sigma;
    std::size_t finite = 0;
    for (const auto& t : c.view()) {
      if (t.logit != -INFINITY) {
        ++finite;
        CHECK(t.logit >= cut);
      } else {
        CHECK(t.p == 0.0f);
      }
    }
    std::size_t want = 0;
    for (const float x : l)
      if (x >= cut) ++want;
    CHECK(finite == want);
    CHECK(c.data[0].id == 4);
  }
}

TEST_CASE("penalties: repeat / frequency / presence over a sliding window", "[sampling]") {
  mmllm::penalties_sampler s(3, 2.0f, 0.5f, 0.25f);
  for (const token_id t : {1, 2, 1, 1}) s.accept(t);  // window: 2 1 1
  CHECK(s.count(1) == 2);
  CHECK(s.count(2) == 1);
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{1.0f, 3.0f, -1.0f, 0.5f});
  s.apply(c);
  CHECK(c.data[0].logit == 1.0f);
  CHECK(c.data[1].logit == Approx(3.0 / 2 - 2 * 0.5 - 0.25));
  CHECK(c.data[2].logit == Approx(-1.0 * 2 - 1 * 0.5 - 0.25));
  CHECK(c.data[3].logit == 0.5f);
  // on a shuffled / shortened list the same tokens get the same penalties
  candidate_buffer b2;
  candidate_list& d = b2.assign(std::vector<mmllm::token_data>{{2, -1.0f, 0}, {1, 3.0f, 0}});
  s.apply(d);
  CHECK(d.data[0].logit == Approx(-2.75));
  CHECK(d.data[1].logit == Approx(0.25));
  s.reset();
  CHECK(s.count(1) == 0);
  mmllm::penalties_sampler off(0, 2.0f, 1.0f, 1.0f);
  off.accept(0);
  candidate_list& e = buf.fill(std::vector<float>{1.0f});
  off.apply(e);
  CHECK(e.data[0].logit == 1.0f);
}

TEST_CASE("dry penalizes the token that would extend a repeat", "[sampling]") {
  auto run = [](const std::vector<token_id>& history,
                std::shared_ptr<const mmllm::dry_breaker_table> breakers, int allowed = 2) {
    mmllm::dry_sampler s(100, 1.0f, 2.0f, allowed, -1, std::move(breakers));
    for (const token_id t : history) s.accept(t);
    candidate_buffer buf;
    candidate_list& c = buf.fill(std::vector<float>(8, 0.0f));
    s.apply(c);
    std::vector<float> out;
    for (const auto& t : c.view()) out.push_back(t.logit);
    return out;
  };
  // 1 2 3 4 1 2 3: "1 2 3" repeats and was followed by 4 -> 4 gets 1 * 2^(3 - 2)
  auto a = run({1, 2, 3, 4, 1, 2, 3}, nullptr);
  CHECK(a == std::vector<float>{0, 0, 0, 0, -2, 0, 0, 0});
  // allowed length 1: the repeat "3" (len 1) ... "1 2 3" -> 4: 2^(3-1); nothing else repeats
  auto b = run({1, 2, 3, 4, 1, 2, 3}, nullptr, 1);
  CHECK(b == std::vector<float>{0, 0, 0, 0, -4, 0, 0, 0});
  // a single-token breaker 2 inside the repeat limits it to the part after the breaker
  auto table = std::make_shared<mmllm::dry_breaker_table>();
  table->emplace(2, std::vector<token_id>{});
  CHECK(run({1, 2, 3, 4, 1, 2, 3}, table) == std::vector<float>(8, 0.0f));
  // a two-token breaker (5, 6)
  auto table2 = std::make_shared<mmllm::dry_breaker_table>();
  table2->emplace(5, std::vector<token_id>{6});
  CHECK(run({5, 6, 1, 2, 3, 7, 5, 6, 1, 2, 3}, table2)[7] == -2.0f);  // "1 2 3" after the breaker
  CHECK(run({5, 6, 3, 7, 5, 6, 3}, nullptr)[7] == -2.0f);             // "5 6 3" -> 7
  CHECK(run({5, 6, 3, 7, 5, 6, 3}, table2)[7] == 0.0f);               // only "3" is after the breaker
  // 5 1 1 1 1 1: the longest repeat before each 1 is 4, penalty 2^(4-2) = 4 on token 1
  CHECK(run({5, 1, 1, 1, 1, 1}, nullptr)[1] == -4.0f);
  // disabled
  mmllm::dry_sampler off(100, 0.0f, 2.0f, 2, -1);
  CHECK(!off.enabled());
}

TEST_CASE("logit bias adds, -inf bans, shuffled lists too", "[sampling]") {
  mmllm::logit_bias_sampler s({{1, 2.5f}, {3, -INFINITY}});
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{0, 0, 0, 0});
  s.apply(c);
  CHECK(c.data[1].logit == 2.5f);
  CHECK(c.data[3].logit == -INFINITY);
  candidate_list& d = buf.assign(std::vector<mmllm::token_data>{{3, 1.0f, 0}, {1, 1.0f, 0}});
  s.apply(d);
  CHECK(d.data[0].logit == -INFINITY);
  CHECK(d.data[1].logit == 3.5f);
}

TEST_CASE("dist draws with the softmax probabilities", "[sampling]") {
  const std::vector<double> probs = {0.1, 0.6, 0.3, 0.0};
  std::vector<float> l = logs_of({0.1, 0.6, 0.3});
  l.push_back(-INFINITY);
  mmllm::dist_sampler s(1234);
  std::map<token_id, int> counts;
  const int n = 30000;
  candidate_buffer buf;
  for (int i = 0; i < n; ++i) {
    candidate_list& c = buf.fill(l);
    s.apply(c);
    REQUIRE(c.selected >= 0);
    ++counts[c.selected_id()];
    if (i == 0)
      for (std::size_t j = 0; j < 4; ++j) CHECK(c.data[j].p == Approx(probs[j]).margin(1e-6));
  }
  CHECK(counts[3] == 0);
  for (token_id t = 0; t < 3; ++t) {
    const double expect = probs[static_cast<std::size_t>(t)] * n;
    CHECK(std::fabs(counts[t] - expect) < 5 * std::sqrt(expect));
  }
  // a fixed seed repeats; reset restarts the stream; copies continue identically
  mmllm::dist_sampler a(7), b(7);
  std::vector<token_id> ra, rb;
  for (int i = 0; i < 50; ++i) {
    candidate_list& c = buf.fill(l);
    a.apply(c);
    ra.push_back(c.selected_id());
  }
  mmllm::dist_sampler fork = a;
  for (int i = 0; i < 50; ++i) {
    candidate_list& c = buf.fill(l);
    b.apply(c);
    rb.push_back(c.selected_id());
  }
  CHECK(ra == rb);
  a.reset();
  std::vector<token_id> ra2;
  for (int i = 0; i < 50; ++i) {
    candidate_list& c = buf.fill(l);
    a.apply(c);
    ra2.push_back(c.selected_id());
  }
  CHECK(ra2 == ra);
  for (int i = 0; i < 20; ++i) {
    candidate_list& c1 = buf.fill(l);
    fork.apply(c1);
    const token_id t1 = c1.selected_id();
    candidate_list& c2 = buf.fill(l);
    b.apply(c2);
    CHECK(t1 == c2.selected_id());
  }
}

TEST_CASE("mirostat updates mu by eta * (surprise - tau)", "[sampling]") {
  const auto l = logs_of({0.5, 0.25, 0.125, 0.0625, 0.0625});
  {
    mmllm::mirostat_v2_sampler s(3, 2.0f, 0.1f);
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    s.apply(c);
    // mu = 4: every token with surprise <= 4 bits is kept (all of them)
    REQUIRE(c.selected >= 0);
    const double surprise = -std::log2(static_cast<double>(c.data[c.selected].p));
    CHECK(s.mu() == Approx(4.0 - 0.1 * (surprise - 2.0)).epsilon(1e-5));
    mmllm::mirostat_v2_sampler t(3, 0.5f, 0.1f);  // mu = 1: only the 0.5 token (1 bit)
    candidate_list& d = buf.fill(l);
    t.apply(d);
    CHECK(d.size == 1);
    CHECK(d.selected_id() == 0);
  }
  {
    mmllm::mirostat_sampler s(5, 3, 3.0f, 0.2f, 100);
    candidate_buffer buf;
    candidate_list& c = buf.fill(l);
    s.apply(c);
    REQUIRE(c.selected >= 0);
    const double surprise = -std::log2(static_cast<double>(c.data[c.selected].p));
    CHECK(s.mu() == Approx(6.0 - 0.2 * (surprise - 3.0)).epsilon(1e-5));
    s.reset();
    CHECK(s.mu() == 6.0f);
  }
}

TEST_CASE("custom samplers are cloned with their state", "[sampling]") {
  struct counter {
    int n = 0;
    [[nodiscard]] std::string_view name() const { return "counter"; }
    void apply(candidate_list& c) { c.data[0].logit += static_cast<float>(n); }
    void accept(token_id) { ++n; }
    void reset() { n = 0; }
  };
  mmllm::custom_sampler s(counter{});
  s.accept(1);
  s.accept(1);
  mmllm::custom_sampler copy = s;
  copy.accept(1);
  candidate_buffer buf;
  candidate_list& c = buf.fill(std::vector<float>{0.0f});
  s.apply(c);
  CHECK(c.data[0].logit == 2.0f);
  candidate_list& d = buf.fill(std::vector<float>{0.0f});
  copy.apply(d);
  CHECK(d.data[0].logit == 3.0f);
  CHECK(copy.name() == "counter");
}

#if defined(__GLIBCXX__)
TEST_CASE("sampling_rng conversions equal libstdc++'s distributions", "[sampling]") {
  mmllm::sampling_rng r(42);
  std::mt19937 g(42);
  std::uniform_real_distribution<double> ud(0.0, 1.0);
  std::uniform_real_distribution<float> uf(0.0f, 1.0f);
  for (int i = 0; i < 1000; ++i) {
    CHECK(r.uniform_double() == ud(g));
    CHECK(r.uniform_float() == uf(g));
  }
  const std::vector<float> w = {0.1f, 0.0f, 0.5f, 0.25f, 0.15f};
  std::discrete_distribution<int> dd(w.begin(), w.end());
  for (int i = 0; i < 1000; ++i) CHECK(static_cast<int>(r.discrete(w)) == dd(g));
}
#endif
