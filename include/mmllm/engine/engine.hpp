// mmllm/engine/engine.hpp — the offline engine: model + tokenizer + paged KV cache + a
// continuous-batching scheduler, with a blocking generate() and a non-blocking step() API.
//
//   mmllm::compute::thread_pool pool(4);
//   auto eng = mmllm::engine<mmllm::compute::simd>::load("model.gguf", mmllm::compute::simd(pool));
//   mmllm::generation_params<> p;  p.max_tokens = 64;  p.sampling.temperature = 0;
//   auto outs = eng->generate({{.prompt = "Once upon a time"}, {.prompt = "One day"}}, p);
//   for (const auto& o : *outs) std::printf("%s [%s]\n", o.text.c_str(), to_string(o.finish).data());
//
// Game-loop style (no blocking call):
//   auto id = eng->add_request({.prompt = "Hello"}, p);   // tokenizes; queued
//   while (eng->has_unfinished()) { eng->step(); /* other work */ }
//   for (auto& o : eng->take_finished()) …
//
// Scheduling (one forward step per step()): every running sequence with one token to feed
// (decode) gets it, then sequences still prefilling get chunks of their prompt, oldest
// first, up to `max_batch_tokens` entries in all; waiting requests are admitted while a
// sequence slot is free and the cache has room for their prompt. When the cache cannot hold
// the next token of a sequence, the most recently admitted other sequence is preempted (its
// cells are dropped; it recomputes them when rescheduled, keeping its generated tokens and
// sampler state), as vLLM does; a sequence that alone does not fit ends with "length".
// Sampling runs after each step for every sequence whose last fed token produced logits.
// Streaming callbacks run inside step() on the calling thread.
//
// Media (engine_options::mmproj, or create() with an encoder): a request's prompt is split at
// its media markers (mm_chunker.hpp) and its multi_modal_data (multi_modal_data.hpp) take the
// markers' places. add_request preprocesses and encodes the media right away (through the
// engine's encoder cache: a repeated image or uuid is encoded once) and lays the prompt out as
// entries (mm_eval.hpp's prompt_entries): tokens and embedding rows with their positions
// (M-RoPE streams for Qwen2-VL, whose generated tokens continue after the image's
// max(nx, ny) positions). Prefill chunks take slices of those entries; a Gemma 3 image
// (bidirectional attention) is not split across steps unless it is larger than
// max_batch_tokens (then it is split as the peer splits it at n_batch).
//
// Threads: the compute policy's executor (e.g. compute::simd over a caller's thread_pool)
// runs the matmuls and attention; the engine itself starts none. Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../compute/compute_policy.hpp"
#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"
#include "../models/batch.hpp"
#include "../models/decoder.hpp"
#include "../models/kv_cache.hpp"
#include "../models/text_model.hpp"
#include "../tokenize/gguf_tokenizer.hpp"
#include "../tokenize/tokenizer.hpp"
#include "encoder_cache.hpp"
#include "mm_chunker.hpp"
#include "mm_eval.hpp"
#include "multi_modal_data.hpp"
#include "request.hpp"
#include "token_sampler.hpp"

namespace mmllm {

struct engine_options {
  std::uint32_t n_ctx = 4096;            ///< tokens per sequence at most (prompt + generated); 0: the model's
  std::uint32_t n_seq_max = 4;           ///< sequences run concurrently
  std::uint32_t kv_cells = 0;            ///< KV cache cells shared by all sequences; 0: n_ctx
  std::uint32_t kv_block_size = 32;      ///< cells per KV block
  std::uint32_t max_batch_tokens = 512;  ///< entries per forward step
  models::kv_type type_k = models::kv_type::f32;
  models::kv_type type_v = models::kv_type::f32;
  /// Seed for requests whose sampler parameters ask for a random one; request i gets
  /// seed + i. The default draws one from std::random_device (like the peer's random seed).
  std::optional<std::uint32_t> seed{};
  // --- media (an mmproj) -------------------------------------------------------------------
  std::string mmproj{};  ///< load(): an mmproj GGUF file to load with the model ("" : text only)
  std::string media_marker = std::string(mm::default_media_marker);  ///< the prompts' media marker
  mm_limits limit_mm_per_prompt{};                                   ///< vLLM's limit_mm_per_prompt
  std::size_t encoder_cache_bytes = std::size_t{256} << 20;          ///< encoder-output cache budget
  mm::encode_options encode{};                                       ///< encoder numerics
};

/// Summary of one step().
struct step_stats {
  std::size_t n_tokens = 0;    ///< batch entries processed
  std::size_t n_sampled = 0;   ///< tokens sampled
  std::size_t n_finished = 0;  ///< requests that finished in this step
};

template <compute::compute_policy P, token_sampler S = basic_sampler>
class engine {
 public:
  using sampler_type = S;
  using sampling_params_type = typename S::params_type;
  using params_type = generation_params<sampling_params_type>;
  using request_type = generation_request<sampling_params_type>;

  /// Loads the model and its tokenizer from a GGUF file (and o.mmproj's encoders, if given).
  static result<engine> load(std::string_view path, P policy, const engine_options& o = {}) {
    MMLLM_TRY_ASSIGN(gguf_reader r, gguf_reader::open(path));
    MMLLM_TRY_ASSIGN(tokenizer tok, load_gguf_tokenizer(r));
    MMLLM_TRY_ASSIGN(models::text_model m, models::text_model::load(std::move(r)));
    std::unique_ptr<mm::multimodal_encoder> enc;
    if (!o.mmproj.empty()) {
      auto opened = mm::multimodal_encoder::open(o.mmproj);
      if (!opened) return make_error(opened.error().code, o.mmproj, ": ", opened.error().message);
      enc = std::make_unique<mm::multimodal_encoder>(std::move(*opened));
    }
    return create(std::move(m), tok, std::move(policy), o, std::move(enc));
  }
  /// load() with an mmproj file.
  static result<engine> load(std::string_view path, std::string_view mmproj, P policy,
                             engine_options o = {}) {
    o.mmproj = std::string(mmproj);
    return load(path, std::move(policy), o);
  }

  /// An engine over an already loaded model and tokenizer (and, for media, its encoders: their
  /// output width must be the model's n_embd).
  static result<engine> create(models::text_model model, const tokenizer& tok, P policy,
                               const engine_options& o = {},
                               std::unique_ptr<mm::multimodal_encoder> encoders = nullptr) {
    engine e;
    if (encoders) {
      MMLLM_TRY(encoders->check_text_model(model.desc().n_embd));
      if (o.media_marker.empty())
        return make_error(errc::invalid_argument, "engine: the media marker must not be empty");
      e.enc_ = std::move(encoders);
      e.enc_cache_ = std::make_unique<mm::encoder_cache>(o.encoder_cache_bytes);
    }
    e.opt_ = o;
    if (e.opt_.n_ctx == 0) e.opt_.n_ctx = model.desc().n_ctx_train;
    if (e.opt_.n_seq_max == 0 || e.opt_.max_batch_tokens == 0)
      return make_error(errc::invalid_argument, "engine: n_seq_max and max_batch_tokens must be positive");
    if (tok.size() > model.desc().n_vocab)
      return make_error(errc::malformed, "engine: the tokenizer has ", std::to_string(tok.size()),
                        " tokens, more than the model's ", std::to_string(model.desc().n_vocab), " logits");
    e.model_ = std::make_unique<models::text_model>(std::move(model));
    e.tok_ = tok;  // shares the immutable vocabulary
    models::decoder_options dopt;
    dopt.n_ctx = e.opt_.n_ctx;
    e.dec_ = std::make_unique<models::decoder<P>>(*e.model_, std::move(policy), dopt);
    if (e.enc_)  // the encoders run on the decoder's policy (same threads, one at a time)
      e.mm_ = std::make_unique<mm::mm_evaluator<P>>(e.enc_.get(), &e.dec_->policy());
    models::kv_cache_options ko;
    ko.n_ctx = e.opt_.kv_cells != 0 ? e.opt_.kv_cells : e.opt_.n_ctx;
    ko.block_size = e.opt_.kv_block_size;
    ko.n_seq_max = e.opt_.n_seq_max;
    ko.type_k = e.opt_.type_k;
    ko.type_v = e.opt_.type_v;
    MMLLM_TRY_ASSIGN(models::kv_cache kv, models::kv_cache::create(e.model_->desc(), ko));
    e.kv_ = std::make_unique<models::kv_cache>(std::move(kv));
    e.slots_.resize(e.opt_.n_seq_max);
    e.seed_base_ = e.opt_.seed ? *e.opt_.seed : std::random_device{}();
    return e;
  }

  engine(engine&&) noexcept = default;
  engine& operator=(engine&&) noexcept = default;
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine() = default;

  [[nodiscard]] const models::text_model& model() const noexcept { return *model_; }
  [[nodiscard]] const tokenizer& tok() const noexcept { return tok_; }
  [[nodiscard]] models::decoder<P>& decoder() noexcept { return *dec_; }
  [[nodiscard]] const models::kv_cache& kv_cache() const noexcept { return *kv_; }
  [[nodiscard]] const engine_options& options() const noexcept { return opt_; }
  /// The media encoders (null without an mmproj).
  [[nodiscard]] const mm::multimodal_encoder* encoders() const noexcept { return enc_.get(); }
  /// The encoder-output cache (null without an mmproj).
  [[nodiscard]] mm::encoder_cache* encoder_cache() noexcept { return enc_cache_.get(); }
  /// Sequences preempted so far (cache full; their cells were recomputed later).
  [[nodiscard]] std::uint64_t preemptions() const noexcept { return n_preemptions_; }

  // --- non-blocking API --------------------------------------------------------------------

  /// Queues a request (its own params, else `defaults`); tokenizes the prompt now and, with
  /// media, preprocesses and encodes them. Errors: an empty prompt, a prompt that does not fit
  /// the context, bad sampler parameters, media without an mmproj, a marker count other than
  /// the item count, items over limit_mm_per_prompt, undecodable or unsupported media.
  result<request_id> add_request(request_type r, const params_type& defaults = {}) {
    pending q;
    q.id = next_id_++;
    q.params = r.params ? *r.params : defaults;
    q.on_token = std::move(r.on_token);
    if (!r.multi_modal_data.empty() && !enc_)
      return make_error(
          errc::unsupported,
          "engine: the request has multi_modal_data but no mmproj (multimodal projector) is loaded");
    if (!r.prompt_tokens.empty()) {
      if (!r.multi_modal_data.empty())
        return make_error(
            errc::invalid_argument,
            "engine: multi_modal_data needs a text prompt with media markers, not prompt_tokens");
      q.prompt = std::move(r.prompt_tokens);
    } else if (enc_) {
      MMLLM_TRY(tokenize_with_media(r, q));
    } else {
      q.prompt = tok_.encode(r.prompt, encode_options{r.add_special, r.parse_special});
    }
    if (q.prompt.empty()) return make_error(errc::invalid_argument, "engine: the prompt has no tokens");
    for (std::size_t i = 0; i < q.prompt.size(); ++i) {
      const token_id t = q.prompt[i];
      if (q.entries && q.entries->row[i] >= 0) continue;  // a media row
      if (t < 0 || static_cast<std::uint32_t>(t) >= model_->desc().n_vocab)
        return make_error(errc::invalid_argument, "engine: prompt token ", std::to_string(t),
                          " is not in the vocabulary");
    }
    if (q.prompt.size() >= opt_.n_ctx)
      return make_error(errc::resource_limit, "engine: the prompt has ", std::to_string(q.prompt.size()),
                        " tokens; the context holds ", std::to_string(opt_.n_ctx));
    sampler_setup setup;
    setup.vocab = &tok_;
    setup.n_vocab = static_cast<std::int32_t>(model_->desc().n_vocab);
    setup.n_ctx = static_cast<std::int32_t>(opt_.n_ctx);
    std::vector<token_id> text_tokens;  // the sampler sees the prompt's tokens, not media rows
    if (q.entries) {
      for (const token_id t : q.prompt)
        if (t != no_token) text_tokens.push_back(t);
      setup.prompt = text_tokens;
    } else {
      setup.prompt = q.prompt;
    }
    setup.seed = seed_base_ + static_cast<std::uint32_t>(q.id);
    setup.shared = &sampler_shared_;
    MMLLM_TRY_ASSIGN(S s, S::make(q.params.sampling, setup));
    q.sampler.emplace(std::move(s));
    q.t_submit = clock::now();
    waiting_.push_back(std::move(q));
    return waiting_.back().id;
  }

  /// True while a request is queued or running.
  [[nodiscard]] bool has_unfinished() const noexcept {
    if (!waiting_.empty()) return true;
    for (const auto& s : slots_)
      if (s) return true;
    return false;
  }
  /// Requests queued or running.
  [[nodiscard]] std::size_t n_unfinished() const noexcept {
    std::size_t n = waiting_.size();
    for (const auto& s : slots_) n += s ? 1 : 0;
    return n;
  }

  /// Aborts a queued or running request (it finishes with finish_reason::abort).
  void abort(request_id id) {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (it->id != id) continue;
      pending q = std::move(*it);
      waiting_.erase(it);
      finish_pending(q, finish_reason::abort, {});
      return;
    }
    for (std::size_t s = 0; s < slots_.size(); ++s)
      if (slots_[s] && slots_[s]->id == id) finish_slot(s, finish_reason::abort, {});
  }

  /// Runs one forward step over all running requests (see the header comment).
  result<step_stats> step() {
    step_stats st;
    admit();
    MMLLM_TRY(build_batch());
    if (batch_.empty()) return st;
    st.n_tokens = batch_.size();
    const auto t0 = clock::now();
    for (const auto& e : plan_)
      if (!slots_[e.slot]->started) {
        slots_[e.slot]->started = true;
        slots_[e.slot]->t_start = t0;
      }
    auto logits = dec_->forward(batch_, *kv_);
    if (!logits) {  // a forward failure ends the requests of this step
      for (const auto& e : plan_)
        if (slots_[e.slot]) finish_slot(e.slot, finish_reason::error, logits.error().what());
      st.n_finished = plan_.size();
      return st;
    }
    const auto t1 = clock::now();
    const std::size_t V = model_->desc().n_vocab;
    std::size_t entry = 0, row = 0;
    for (const auto& e : plan_) {
      slot& s = *slots_[e.slot];
      const std::size_t n_prompt = s.prompt.size();
      std::optional<std::size_t> last_row;
      for (std::size_t k = 0; k < e.n; ++k, ++entry) {
        if (!batch_.logits(entry)) continue;
        const std::size_t pos = s.n_cached + k;
        const float* r = logits->data() + row * V;
        if (s.params.prompt_logits && pos < n_prompt && pos * V == s.prompt_logits.size())
          s.prompt_logits.insert(s.prompt_logits.end(), r, r + V);
        if (pos + 1 == s.tokens.size()) last_row = row;
        ++row;
      }
      s.n_cached += e.n;
      if (s.n_cached >= n_prompt && !s.prefilled) {
        s.prefilled = true;
        s.t_prefilled = t1;
      }
      if (!last_row) continue;
      if (s.params.max_tokens == 0) {
        finish_slot(e.slot, finish_reason::length, {});
        continue;
      }
      sample(e.slot, std::span<const float>(logits->data() + *last_row * V, V), st);
    }
    st.n_finished += finished_in_step_;
    finished_in_step_ = 0;
    return st;
  }

  /// Outputs of the requests finished so far (each returned once).
  std::vector<generation_output> take_finished() { return std::exchange(finished_, {}); }

  // --- blocking API -------------------------------------------------------------------------

  /// Runs `requests` to completion (continuous batching) and returns their outputs in order.
  result<std::vector<generation_output>> generate(std::vector<request_type> requests,
                                                  const params_type& params = {}) {
    std::vector<request_id> ids;
    for (auto& r : requests) {
      MMLLM_TRY_ASSIGN(const request_id id, add_request(std::move(r), params));
      ids.push_back(id);
    }
    std::vector<generation_output> done;
    auto collect = [&] {
      for (auto& o : take_finished()) done.push_back(std::move(o));
    };
    while (true) {
      bool all = true;
      collect();
      for (const request_id id : ids)
        if (std::none_of(done.begin(), done.end(), [&](const generation_output& o) { return o.id == id; }))
          all = false;
      if (all) break;
      MMLLM_TRY(step());
    }
    std::vector<generation_output> out;
    for (const request_id id : ids)
      for (auto& o : done)
        if (o.id == id) out.push_back(std::move(o));
    return out;
  }
  result<generation_output> generate(request_type r, const params_type& params = {}) {
    std::vector<request_type> v;
    v.push_back(std::move(r));
    MMLLM_TRY_ASSIGN(auto outs, generate(std::move(v), params));
    return std::move(outs.front());
  }

 private:
  using clock = std::chrono::steady_clock;

  struct pending {
    request_id id = 0;
    params_type params;
    std::vector<token_id> prompt;
    std::shared_ptr<const mm::prompt_entries> entries;  // a multimodal prompt's entries (null: text)
    std::vector<mm::prompt_chunk> chunks;               // a multimodal prompt's chunks
    mm::mm_eval_result encode_stats;
    bool return_media_embeddings = false;
    std::optional<S> sampler;
    std::function<void(const token_event&)> on_token;
    clock::time_point t_submit;
  };
  struct slot : pending {
    explicit slot(pending&& p) : pending(std::move(p)) {}
    std::vector<token_id> tokens;  // prompt + generated: everything that must be in the cache
    std::size_t n_cached = 0;      // of `tokens`, in the KV cache
    std::size_t n_generated = 0;
    std::string text;      // generated text so far
    std::size_t sent = 0;  // bytes of `text` already streamed
    bool started = false, prefilled = false;
    clock::time_point t_start, t_prefilled, t_last;
    std::vector<float> prompt_logits;
    std::uint64_t admitted = 0;                // admission order
    std::vector<sampled_token> probabilities;  // when the sampler reports them
  };
  struct planned {
    std::size_t slot = 0;
    std::size_t n = 0;  // tokens fed this step
  };

  engine() = default;

  static double ms(clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

  /// Blocks the prompt of `q` needs.
  std::uint32_t blocks_for(std::size_t n) const {
    return static_cast<std::uint32_t>((n + kv_->block_size() - 1) / kv_->block_size());
  }

  void admit() {
    while (!waiting_.empty()) {
      std::size_t free_slot = slots_.size();
      for (std::size_t s = 0; s < slots_.size(); ++s)
        if (!slots_[s]) {
          free_slot = s;
          break;
        }
      if (free_slot == slots_.size()) return;
      // room for the first chunk of the prompt (a request that does not fit now waits)
      const std::size_t first = std::min<std::size_t>(waiting_.front().prompt.size(), opt_.max_batch_tokens);
      if (blocks_for(first) > kv_->n_free_blocks() && any_running()) return;
      pending q = std::move(waiting_.front());
      waiting_.pop_front();
      auto& s = slots_[free_slot].emplace(std::move(q));
      s.tokens = s.prompt;
      s.admitted = admit_counter_++;
      (void)kv_->seq_rm(static_cast<models::seq_id>(free_slot), -1, -1);
    }
  }

  [[nodiscard]] bool any_running() const noexcept {
    for (const auto& s : slots_)
      if (s) return true;
    return false;
  }

  /// Drops the cells of the running slot admitted last that is neither `keep` nor already in
  /// this step's batch; false if there is none.
  bool preempt_one(std::size_t keep) {
    std::size_t victim = slots_.size();
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      if (s == keep || !slots_[s] || slots_[s]->n_cached == 0) continue;
      if (std::any_of(plan_.begin(), plan_.end(), [&](const planned& p) { return p.slot == s; })) continue;
      if (victim == slots_.size() || slots_[s]->admitted > slots_[victim]->admitted) victim = s;
    }
    if (victim == slots_.size()) return false;
    (void)kv_->seq_rm(static_cast<models::seq_id>(victim), -1, -1);
    slots_[victim]->n_cached = 0;
    ++n_preemptions_;
    return true;
  }

  result<void> build_batch() {
    batch_.clear();
    plan_.clear();
    std::size_t budget = opt_.max_batch_tokens;
    std::uint32_t reserved = 0;
    // order: decodes first, then prefills; each group oldest first
    order_.clear();
    for (std::size_t s = 0; s < slots_.size(); ++s)
      if (slots_[s]) order_.push_back(s);
    std::sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
      const bool da = slots_[a]->tokens.size() - slots_[a]->n_cached == 1;
      const bool db = slots_[b]->tokens.size() - slots_[b]->n_cached == 1;
      if (da != db) return da;
      return slots_[a]->admitted < slots_[b]->admitted;
    });
    for (const std::size_t si : order_) {
      if (budget == 0) break;
      if (!slots_[si]) continue;
      slot& s = *slots_[si];
      const auto seq = static_cast<models::seq_id>(si);
      std::size_t n = std::min(s.tokens.size() - s.n_cached, budget);
      if (n == 0) continue;
      // make room in the cache (blocks already promised to earlier entries of this step count)
      auto free_blocks = [&] {
        const std::uint32_t f = kv_->n_free_blocks();
        return f > reserved ? f - reserved : 0u;
      };
      auto need = [&](std::size_t m) { return kv_->blocks_needed(seq, static_cast<std::uint32_t>(m)); };
      while (need(n) > free_blocks()) {
        // a shorter prefill chunk that fits
        std::size_t fit = 0;
        for (std::size_t m = n; m > 0; --m)
          if (need(m) <= free_blocks()) {
            fit = m;
            break;
          }
        if (fit > 0 && fit < n) {
          n = fit;
          break;
        }
        if (!preempt_one(si)) break;
      }
      if (need(n) > free_blocks()) {
        if (any_other_cached(si)) continue;  // wait until others finish
        finish_slot(si, finish_reason::length, {});
        continue;
      }
      if (s.entries) {
        n = keep_bidirectional_whole(s, n);
        if (n == 0) continue;  // the image waits for a step with room for all of it
      }
      reserved += need(n);
      auto want = [&](std::size_t pos) {
        return pos + 1 == s.tokens.size() || (s.params.prompt_logits && pos < s.prompt.size());
      };
      std::size_t k = 0;
      if (s.entries && s.n_cached < s.prompt.size()) {  // the prompt's entries: tokens and media rows
        k = std::min(n, s.prompt.size() - s.n_cached);
        mm::add_entries(batch_, *s.entries, s.n_cached, s.n_cached + k, seq, want);
      }
      for (; k < n; ++k) {
        const std::size_t pos = s.n_cached + k;
        batch_.add_token(s.tokens[pos], seq, position_of(s, pos), want(pos));
      }
      plan_.push_back({si, n});
      budget -= n;
    }
    return ok();
  }

  /// The position of entry `i` of a slot: the prompt's layout, then one per generated token.
  static std::int32_t position_of(const slot& s, std::size_t i) noexcept {
    if (!s.entries) return static_cast<std::int32_t>(i);
    return s.entries->n_past + static_cast<std::int32_t>(i - s.prompt.size());
  }

  /// `n` entries of slot `s` from s.n_cached, shortened so that a bidirectional image that
  /// starts in this step is not cut (0: it waits for a step with room), unless the image is
  /// larger than a whole step or nothing else is in the batch.
  std::size_t keep_bidirectional_whole(const slot& s, std::size_t n) const {
    const std::size_t end = s.n_cached + n;
    if (end >= s.prompt.size()) return n;
    const auto [g0, g1] = s.entries->bidirectional_span(end);
    if (g0 == g1 || g0 >= end || g1 - g0 > opt_.max_batch_tokens) return n;
    if (g0 > s.n_cached) return g0 - s.n_cached;
    if (g0 == s.n_cached && !batch_.empty()) return 0;
    return n;
  }

  /// Tokenizes r's prompt with its media (encoding them) into q.
  result<void> tokenize_with_media(const request_type& r, pending& q) {
    MMLLM_TRY_ASSIGN(resolved_media media,
                     resolve_multi_modal_data(r.prompt, r.multi_modal_data, r.multi_modal_uuids,
                                              opt_.limit_mm_per_prompt, opt_.media_marker));
    mm::chunker_options co;
    co.marker = opt_.media_marker;
    co.add_special = r.add_special;
    co.parse_special = r.parse_special;
    MMLLM_TRY_ASSIGN(const mm::mm_prompt p,
                     mm::tokenize_multimodal(tok_, enc_.get(), media.prompt, media.items, co));
    const auto& d = model_->desc();
    MMLLM_TRY_ASSIGN(mm::prompt_entries e, mm_->lay_out(p, d.n_embd, d.n_pos_streams == 4, 0,
                                                        enc_cache_.get(), opt_.encode, &q.encode_stats));
    q.prompt = e.tokens;
    q.chunks = p.chunks;
    q.return_media_embeddings = r.return_media_embeddings;
    if (!p.media.empty()) q.entries = std::make_shared<const mm::prompt_entries>(std::move(e));
    return ok();
  }

  [[nodiscard]] bool any_other_cached(std::size_t keep) const noexcept {
    for (std::size_t s = 0; s < slots_.size(); ++s)
      if (s != keep && slots_[s] && slots_[s]->n_cached > 0) return true;
    return false;
  }

  /// Samples the next token of slot `si` from `logits` and applies the stop rules.
  void sample(std::size_t si, std::span<const float> logits, step_stats& st) {
    slot& s = *slots_[si];
    std::span<const float> row = logits;
    if (s.params.ignore_eos) {
      scratch_.assign(logits.begin(), logits.end());
      for (const token_id t : tok_.config().end_of_generation)
        if (t >= 0 && static_cast<std::size_t>(t) < scratch_.size())
          scratch_[static_cast<std::size_t>(t)] = -INFINITY;
      if (tok_.eos() >= 0 && static_cast<std::size_t>(tok_.eos()) < scratch_.size())
        scratch_[static_cast<std::size_t>(tok_.eos())] = -INFINITY;
      row = scratch_;
    }
    const token_id t = s.sampler->sample(row);
    s.sampler->accept(t);
    if constexpr (requires { s.sampler->failure(); }) {  // e.g. a grammar no token can continue
      if (s.sampler->failure()) {
        finish_slot(si, finish_reason::error, s.sampler->failure()->what());
        return;
      }
    }
    if constexpr (requires { s.sampler->last(); }) {
      if (s.sampler->reports_probabilities()) s.probabilities.push_back(s.sampler->last());
    }
    ++st.n_sampled;
    s.t_last = clock::now();
    ++s.n_generated;
    s.tokens.push_back(t);
    const bool eog = !s.params.ignore_eos && (tok_.is_eog(t) || t == tok_.eos());
    finish_reason fin = finish_reason::none;
    std::size_t stop_at = std::string::npos;
    if (eog) {
      fin = finish_reason::stop;
    } else {
      const std::size_t before = s.text.size();
      s.text += tok_.token_to_piece(t, false);  // the peer's per-token piece (no special tokens)
      stop_at = find_stop(s, before);
      if (stop_at != std::string::npos) fin = finish_reason::stop;
    }
    if constexpr (requires { s.sampler->finished(); }) {  // a complete grammar: nothing may follow
      if (fin == finish_reason::none && s.sampler->finished()) fin = finish_reason::stop;
    }
    if (fin == finish_reason::none) {
      const bool max_tokens_reached =
          s.params.max_tokens >= 0 && s.n_generated >= static_cast<std::size_t>(s.params.max_tokens);
      if (max_tokens_reached || s.tokens.size() >= opt_.n_ctx) fin = finish_reason::length;
    }
    if (fin != finish_reason::none) {
      if (stop_at != std::string::npos) s.text.resize(stop_at);
      emit(s, t, s.text.size(), true, fin);  // everything, an incomplete character included
      finish_slot(si, fin, {});
      return;
    }
    // stream complete characters that cannot be the beginning of a stop string
    emit(s, t, std::min(utf8_complete_length(s.text), s.text.size() - held_back(s)), false, fin);
  }

  /// Bytes of `t` up to the start of a trailing incomplete UTF-8 sequence.
  static std::size_t utf8_complete_length(std::string_view t) noexcept {
    const std::size_t n = t.size();
    for (std::size_t k = 1; k <= 4 && k <= n; ++k) {
      const auto c = static_cast<unsigned char>(t[n - k]);
      if ((c & 0xC0) == 0x80) continue;  // continuation byte
      const std::size_t len = c < 0x80             ? 1
                              : (c & 0xE0) == 0xC0 ? 2
                              : (c & 0xF0) == 0xE0 ? 3
                              : (c & 0xF8) == 0xF0 ? 4
                                                   : 1;
      return len > k ? n - k : n;
    }
    return n;
  }

  /// Position of the first stop string in s.text that ends after `from`, or npos.
  static std::size_t find_stop(const slot& s, std::size_t from) {
    std::size_t best = std::string::npos;
    for (const std::string& stop : s.params.stop) {
      if (stop.empty()) continue;
      const std::size_t start = from >= stop.size() ? from - stop.size() + 1 : 0;
      const std::size_t p = s.text.find(stop, start);
      if (p != std::string::npos && p < best) best = p;
    }
    return best;
  }
  /// Bytes at the end of s.text that could begin a stop string.
  static std::size_t held_back(const slot& s) {
    std::size_t keep = 0;
    for (const std::string& stop : s.params.stop)
      for (std::size_t k = std::min(stop.size() - (stop.empty() ? 0 : 1), s.text.size()); k > keep; --k)
        if (s.text.compare(s.text.size() - k, k, stop, 0, k) == 0) {
          keep = k;
          break;
        }
    return keep;
  }

  void emit(slot& s, token_id t, std::size_t upto, bool last, finish_reason fin) {
    if (!s.on_token) {
      s.sent = std::max(s.sent, std::min(upto, s.text.size()));
      return;
    }
    upto = std::min(upto, s.text.size());
    token_event e;
    e.id = s.id;
    e.token = t;
    e.text = upto > s.sent ? std::string_view(s.text).substr(s.sent, upto - s.sent) : std::string_view();
    e.last = last;
    e.finish = fin;
    s.sent = std::max(s.sent, upto);
    s.on_token(e);
  }

  void finish_slot(std::size_t si, finish_reason fin, std::string err) {
    slot& s = *slots_[si];
    generation_output o;
    o.id = s.id;
    o.prompt_tokens = s.prompt;
    o.tokens.assign(s.tokens.begin() + static_cast<std::ptrdiff_t>(s.prompt.size()), s.tokens.end());
    o.text = std::move(s.text);
    o.finish = fin;
    o.error = std::move(err);
    o.timings.prompt_n = s.prompt.size();
    o.timings.predicted_n = s.n_generated;
    if (s.started) {
      o.timings.queue_ms = ms(s.t_start - s.t_submit);
      if (s.prefilled) {
        o.timings.prompt_ms = ms(s.t_prefilled - s.t_start);
        if (s.n_generated > 0) o.timings.predicted_ms = ms(s.t_last - s.t_prefilled);
      }
    }
    o.prompt_logits = std::move(s.prompt_logits);
    o.probabilities = std::move(s.probabilities);
    fill_media_output(s, o);
    if constexpr (requires { s.sampler->seed(); }) o.seed = s.sampler->seed();
    if (fin == finish_reason::abort || fin == finish_reason::error) {
      token_event e;
      e.id = s.id;
      e.last = true;
      e.finish = fin;
      if (s.on_token) s.on_token(e);
    }
    (void)kv_->seq_rm(static_cast<models::seq_id>(si), -1, -1);
    slots_[si].reset();
    finished_.push_back(std::move(o));
    ++finished_in_step_;
  }

  static void fill_media_output(const pending& q, generation_output& o) {
    o.prompt_chunks = q.chunks;
    o.encode_ms = q.encode_stats.encode_seconds * 1e3;
    o.n_media_encoded = q.encode_stats.n_encoded;
    o.n_media_cache_hits = q.encode_stats.n_cache_hits;
    if (q.return_media_embeddings && q.entries) o.media_embeddings = q.entries->embd;
  }

  void finish_pending(pending& q, finish_reason fin, std::string err) {
    generation_output o;
    o.id = q.id;
    fill_media_output(q, o);
    o.prompt_tokens = std::move(q.prompt);
    o.finish = fin;
    o.error = std::move(err);
    if (q.on_token) {
      token_event e;
      e.id = q.id;
      e.last = true;
      e.finish = fin;
      q.on_token(e);
    }
    finished_.push_back(std::move(o));
  }

  engine_options opt_;
  std::unique_ptr<models::text_model> model_;
  tokenizer tok_;
  std::unique_ptr<models::decoder<P>> dec_;
  std::unique_ptr<models::kv_cache> kv_;
  std::unique_ptr<mm::multimodal_encoder> enc_;
  std::unique_ptr<mm::mm_evaluator<P>> mm_;
  std::unique_ptr<mm::encoder_cache> enc_cache_;
  std::deque<pending> waiting_;
  std::vector<std::optional<slot>> slots_;
  std::vector<generation_output> finished_;
  std::size_t finished_in_step_ = 0;
  models::batch batch_;
  std::vector<planned> plan_;
  std::vector<std::size_t> order_;
  std::vector<float> scratch_;
  request_id next_id_ = 0;
  std::uint64_t admit_counter_ = 0;
  std::uint32_t seed_base_ = 0;
  std::uint64_t n_preemptions_ = 0;
  std::shared_ptr<void> sampler_shared_;  // sampler_setup::shared
};

}  // namespace mmllm
