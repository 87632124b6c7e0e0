// mmllm/tokenize/detokenizer.hpp — streaming detokenization.
//
// `detokenizer` turns tokens into text one token at a time, for streaming generated text.
// Each push returns only text that is final: an incomplete UTF-8 character is held back
// until its last byte arrives (so a stream never emits a broken character), and so is the
// little text a space clean-up rule, a Strip decoder or a last-token rule could still
// change. The concatenation of everything a stream returns (pushes, then finish()) equals
// tokenizer::decode of the same tokens, whatever the chunking.
//
//   mmllm::detokenizer d(tok);               // decode_options as for tokenizer::decode
//   for (token_id t : generated) send(d.push(t));
//   send(d.finish());
#pragma once

#include <span>
#include <string>

#include "tokenizer.hpp"

namespace mmllm {

class detokenizer {
 public:
  explicit detokenizer(tokenizer tok, const decode_options& opt = {})
      : tok_(std::move(tok)), stream_(tok_.state(), opt) {}
  detokenizer(const detokenizer&) = delete;
  detokenizer& operator=(const detokenizer&) = delete;

  /// Text made final by `id` (often empty while a character is incomplete).
  std::string push(token_id id) {
    std::string out;
    stream_.push(id, out);
    return out;
  }
  /// Text made final by a run of tokens.
  std::string push(std::span<const token_id> ids) {
    std::string out;
    for (const token_id id : ids) stream_.push(id, out);
    return out;
  }
  /// The held-back rest; the stream is then complete (push no more).
  std::string finish() {
    std::string out;
    stream_.finish(out);
    return out;
  }

 private:
  tokenizer tok_;  // keeps the shared state alive
  detail::decode_stream stream_;
};

}  // namespace mmllm
