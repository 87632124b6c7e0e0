// mmllm/engine/request.hpp — what the engine is asked to generate and what it returns, in the
// shape of vLLM's LLM.generate: requests (a prompt, generation parameters, an optional
// streaming callback) in, outputs (prompt token ids, generated ids, text, finish reason,
// timings) out.
//
//   mmllm::generation_params<> p;        // sampler parameters + max_tokens / stop / ignore_eos
//   p.sampling.temperature = 0;          // greedy
//   p.max_tokens = 32;
//   p.stop = {"\n\n"};
//   mmllm::generation_request<> r{.prompt = "Once upon a time"};
//   r.on_token = [](const mmllm::token_event& e) { std::fwrite(e.text.data(), 1, e.text.size(), stdout); };
//
// Media (vLLM's multi_modal_data, multi_modal_data.hpp) go in `multi_modal_data`; the prompt
// has one media marker per item.
//
// The template argument is the sampler's parameter type (basic_sampling_params for the
// engine's built-in sampler; the sampling layer's parameters for its full chain).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../sampling/sampled_token.hpp"
#include "../tokenize/vocabulary.hpp"
#include "mm_chunker.hpp"
#include "multi_modal_data.hpp"
#include "token_sampler.hpp"

namespace mmllm {

/// Identifies a request within one engine (assigned in submission order from 0).
using request_id = std::uint64_t;

/// Why generation ended.
enum class finish_reason : std::uint8_t {
  none,    ///< still running
  stop,    ///< an end-of-generation token or a stop string
  length,  ///< max_tokens reached, or the context / cache is full
  abort,   ///< aborted by the caller
  error,   ///< the request could not be served (message in generation_output::error)
};

/// "stop", "length", "abort", "error" ("" for none), as vLLM / OpenAI name them.
constexpr std::string_view to_string(finish_reason r) noexcept {
  switch (r) {
    case finish_reason::none: return "";
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
    case finish_reason::abort: return "abort";
    case finish_reason::error: return "error";
  }
  return "";
}

/// Generation parameters: the sampler's and the engine's own (vLLM's SamplingParams split).
template <class SamplingParams = basic_sampling_params>
struct generation_params {
  SamplingParams sampling{};
  std::int32_t max_tokens = 16;     ///< generated tokens at most (< 0: until the context is full)
  std::vector<std::string> stop{};  ///< stop strings; the text ends before the first one found
  bool ignore_eos = false;          ///< end-of-generation tokens are never sampled (the peer's ignore_eos)
  bool prompt_logits = false;       ///< return the logits of every prompt position
};

/// One streamed token.
struct token_event {
  request_id id = 0;
  token_id token = no_token;
  std::string_view text;  ///< new text made final by this token (UTF-8 complete; may be empty)
  bool last = false;      ///< the request finished with this event
  finish_reason finish = finish_reason::none;
};

/// A generation request.
template <class SamplingParams = basic_sampling_params>
struct generation_request {
  std::string prompt{};                                       ///< tokenized with the model's tokenizer
  std::vector<token_id> prompt_tokens{};                      ///< used instead of `prompt` when not empty
  bool add_special = true;                                    ///< BOS (etc.) as the vocabulary says
  bool parse_special = false;                                 ///< recognize special-token texts in `prompt`
  std::optional<generation_params<SamplingParams>> params{};  ///< overrides generate()'s parameters
  std::function<void(const token_event&)> on_token{};         ///< called for every generated token
  /// Media taking the places of the prompt's media markers (needs an engine with an mmproj).
  ::mmllm::multi_modal_data multi_modal_data{};
  ::mmllm::multi_modal_uuids multi_modal_uuids{};  ///< optional per-item encoder-cache keys
  bool return_media_embeddings = false;            ///< fill generation_output::media_embeddings
};

/// Timings of one request (llama.cpp's server field names).
struct generation_timings {
  std::size_t prompt_n = 0;     ///< prompt tokens
  double prompt_ms = 0.0;       ///< from the first prefill step to the end of the last
  std::size_t predicted_n = 0;  ///< generated tokens
  double predicted_ms = 0.0;    ///< from the end of the prefill to the last token
  double queue_ms = 0.0;        ///< from submission to the first prefill step
  [[nodiscard]] double prompt_per_token_ms() const noexcept {
    return prompt_n ? prompt_ms / static_cast<double>(prompt_n) : 0.0;
  }
  [[nodiscard]] double prompt_per_second() const noexcept {
    return prompt_ms > 0 ? 1e3 * static_cast<double>(prompt_n) / prompt_ms : 0.0;
  }
  [[nodiscard]] double predicted_per_token_ms() const noexcept {
    return predicted_n ? predicted_ms / static_cast<double>(predicted_n) : 0.0;
  }
  [[nodiscard]] double predicted_per_second() const noexcept {
    return predicted_ms > 0 ? 1e3 * static_cast<double>(predicted_n) / predicted_ms : 0.0;
  }
};

/// The result of one request.
struct generation_output {
  request_id id = 0;
  std::vector<token_id> prompt_tokens;
  std::vector<token_id> tokens;  ///< generated ids (an end-of-generation token that stopped it included)
  std::string text;              ///< generated text (without that token, cut before a stop string)
  finish_reason finish = finish_reason::none;
  std::string error;  ///< the reason when finish == error
  generation_timings timings;
  std::vector<float> prompt_logits;  ///< [prompt_tokens.size()][n_vocab] when asked for
  std::uint32_t seed = 0;            ///< the sampler's seed (meaningful for basic_sampler)
  /// Per generated token: its probability and the most likely alternatives, when the sampler
  /// reports them (full_sampler with n_probs > 0; llama-server's completion_probabilities).
  std::vector<sampled_token> probabilities;
  /// Engines with an mmproj: the prompt's chunks (text tokens, media chunks with their token
  /// counts). prompt_tokens then has one entry per language-model input, no_token (−1) where
  /// a media embedding goes (as llama-server's LLAMA_TOKEN_NULL).
  std::vector<mm::prompt_chunk> prompt_chunks;
  double encode_ms = 0.0;              ///< time spent in the media encoders for this request
  std::size_t n_media_encoded = 0;     ///< encoder entries (images / tiles / audio chunks) computed
  std::size_t n_media_cache_hits = 0;  ///< encoder entries taken from the encoder cache
  /// With return_media_embeddings: every media chunk's projector output (n_tokens × n_embd
  /// floats, chunks in prompt order), the rows the language model was fed.
  std::vector<float> media_embeddings;
};

}  // namespace mmllm
