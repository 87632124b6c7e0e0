// mmllm/tokenize/token_roles.hpp — token texts that imply a role (end of turn, FIM …).
//
// The peer names some special tokens only implicitly: when a GGUF file does not give their
// ids, it recognizes them by their text. Both loaders use these lists (the tokenizer.json
// loader for its end-of-generation set).
#pragma once

#include <algorithm>
#include <iterator>
#include <string_view>

namespace mmllm::detail {

/// Peer quirk: special-token roles the peer infers from token texts when the GGUF does not
/// name them (llama_vocab::impl::load); such tokens are also forced to CONTROL.
struct peer_quirk_token_roles {
  static constexpr std::string_view eot[] = {"<|eot_id|>",
                                             "<|im_end|>",
                                             "<|end|>",
                                             "<end_of_turn>",
                                             "<|endoftext|>",
                                             "<|end_of_text|>",
                                             "<EOT>",
                                             "_<EOT>",
                                             "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
                                             "<end_of_utterance>"};
  static constexpr std::string_view eom[] = {"<|eom_id|>"};
  static constexpr std::string_view fim_pre[] = {
      "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",   "<\uFF5Cfim\u2581begin\uFF5C>",
      "<PRE>",          "\u2581<PRE>",  "<|code_prefix|>"};
  static constexpr std::string_view fim_suf[] = {
      "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",   "<\uFF5Cfim\u2581hole\uFF5C>",
      "<SUF>",          "\u2581<SUF>",  "<|code_suffix|>"};
  static constexpr std::string_view fim_mid[] = {
      "<|fim_middle|>", "<fim-middle>", "<fim_middle>",   "<\uFF5Cfim\u2581end\uFF5C>",
      "<MID>",          "\u2581<MID>",  "<|code_middle|>"};
  static constexpr std::string_view fim_pad[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
  static constexpr std::string_view fim_rep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                                 "<reponame>"};
  static constexpr std::string_view fim_sep[] = {"<|file_sep|>"};
  static constexpr std::string_view eog[] = {
      "<|eot_id|>",    "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",        "<end_of_turn>",
      "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>",     "<|end_of_text|>", "<end_of_utterance>"};
  static constexpr std::string_view gpt_oss_user_defined[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                              "<|constrain|>"};

  template <std::size_t N>
  static bool in(std::string_view t, const std::string_view (&list)[N]) {
    return std::find(std::begin(list), std::end(list), t) != std::end(list);
  }
};

}  // namespace mmllm::detail
