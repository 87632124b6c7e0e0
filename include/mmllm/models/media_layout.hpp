// mmllm/models/media_layout.hpp — where a media item's embeddings and wrapper tokens go in a
// prompt, as each projector family lays them out (llama.cpp mtmd_tokenize's rules).
//
// Encoders turn one media item (an image, an audio clip) into encoder *entries* (tiles,
// slices, 30-s mel chunks) and describe the item's place in the prompt as a list of steps:
//   text            — wrapper text tokenized by its own tokenize call with special tokens
//                     parsed ("<start_of_image>", "<fake_token_around_image><row_1_col_1>");
//   tokens_by_piece — tokens found by their exact piece text over the vocabulary, lowest id
//                     first (idefics3's "\n", "\n\n", "<global-img>"); never tokenized;
//   media           — entries [entry_begin, entry_end) encoded and fed as ONE media chunk
//                     (one entry for tiled models; all slices of a LLaVA-1.6 image).
// The chunker (engine/mm_chunker.hpp) executes the steps with the language model's tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mmllm::mm {

/// One step of a media item's layout.
struct layout_step {
  enum class kind : std::uint8_t { text, tokens_by_piece, media };
  kind what = kind::text;
  std::string text;                 ///< kind::text
  std::vector<std::string> pieces;  ///< kind::tokens_by_piece
  std::size_t entry_begin = 0;      ///< kind::media
  std::size_t entry_end = 0;

  static layout_step text_step(std::string t) { return {kind::text, std::move(t), {}, 0, 0}; }
  static layout_step pieces_step(std::vector<std::string> p) {
    return {kind::tokens_by_piece, {}, std::move(p), 0, 0};
  }
  static layout_step media_step(std::size_t b, std::size_t e) { return {kind::media, {}, {}, b, e}; }
};

/// The steps of one media item, in prompt order.
using media_layout = std::vector<layout_step>;

/// Appends `text` as a text step when it is not empty.
inline void add_text_step(media_layout& l, const std::string& text) {
  if (!text.empty()) l.push_back(layout_step::text_step(text));
}

}  // namespace mmllm::mm
