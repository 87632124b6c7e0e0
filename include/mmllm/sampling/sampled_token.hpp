// mmllm/sampling/sampled_token.hpp — a sampled token with the probabilities n_probs reports
// (llama-server's completion_probabilities data; the HTTP layer formats it).
//
//   for (const mmllm::token_probability& t : sampled.top)
//     std::printf("%d %f\n", t.id, mmllm::completion_logprob(t.prob));
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "../tokenize/vocabulary.hpp"

namespace mmllm {

/// One reported token probability.
struct token_probability {
  token_id id = no_token;
  float prob = 0.0f;  ///< probability in [0, 1]; log with completion_logprob()
};

/// The sampled token with the probabilities n_probs asked for.
struct sampled_token {
  token_id id = no_token;
  float prob = 1.0f;                   ///< the token's probability (1 when n_probs == 0)
  std::vector<token_probability> top;  ///< the n_probs most likely tokens, highest first
};

/// log(p) as llama-server writes it: p == 0 gives the lowest finite float (JSON has no -inf).
inline float completion_logprob(float p) {
  return p == 0.0f ? std::numeric_limits<float>::lowest() : std::log(p);
}

}  // namespace mmllm
