// mmllm/engine/mm_chunker.hpp — splits a prompt with media markers into text and media chunks
// exactly as llama.cpp's mtmd_tokenize does, preprocessing each media item on the way.
//
//   std::vector<mm::media_item> items{mm::media_item::from_image(img)};
//   auto p = mm::tokenize_multimodal(tok, &encoders, "Look: <__media__>\nWhat is it?", items);
//   for (const mm::prompt_chunk& c : p->chunks) …   // text tokens, or a media chunk to encode
//
// Rules (the peer's, llama.cpp 583cb834):
//  - the prompt is split at the marker ("<__media__>" by default; the legacy "<__image__>"
//    is treated as the marker too); the number of markers must equal the number of items;
//  - each text piece is tokenized by its own tokenize call (add_special = false, specials
//    parsed as asked), so a SentencePiece vocabulary gives every piece its "▁" prefix;
//  - each item contributes its projector family's layout (models/media_layout.hpp): wrapper
//    text (its own tokenize call, specials parsed), tokens looked up by exact piece (lowest
//    id first; a missing piece is an error here, the peer would insert id −1), media chunks;
//  - consecutive text is merged into one chunk;
//  - with add_special and a vocabulary that adds BOS: BOS starts the first chunk if it is
//    text, else a [BOS] chunk is inserted first; EOS likewise at the end when the vocabulary
//    adds EOS.
// A media chunk of an M-RoPE model (Qwen2-VL) occupies max(nx, ny) positions, any other
// chunk one position per token.
//
// Items may also be precomputed projector outputs (vLLM's image_embeds): they take the place
// of an image with the model's wrapper; M-RoPE models need their token grid, tiled models
// (idefics3) may give the tile grid to reproduce the tile layout.
//
// `rewrite_legacy_image_ids` maps llama.cpp's old "[img-N]" references (with image_data ids)
// onto markers and orders the items accordingly.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "../media/audio.hpp"
#include "../media/content_hash.hpp"
#include "../media/image.hpp"
#include "../models/media_layout.hpp"
#include "../models/multimodal_encoder.hpp"
#include "../tokenize/tokenizer.hpp"

namespace mmllm::mm {

/// The default media marker (llama.cpp's mtmd_default_marker()).
inline constexpr std::string_view default_media_marker = "<__media__>";
/// Peer quirk (mtmd_tokenizer): the old image marker is still replaced by the media marker.
inline constexpr std::string_view peer_quirk_legacy_image_marker = "<__image__>";

/// Projector output supplied instead of a media item.
struct precomputed_embeddings {
  std::vector<float> data;  ///< n_tokens × n_embd, row-major
  std::size_t n_embd = 0;
  modality mod =
      modality::vision;      ///< whose place (wrappers, layout) the rows take: an image's or an audio clip's
  size2 token_grid{};        ///< M-RoPE models: columns × rows of the tokens (required there)
  size2 tiles{};             ///< tiled models: tile columns × rows; the rows are the tiles then the overview
  std::size_t n_chunks = 0;  ///< audio: number of 30-s chunks the rows split into equally (0: one)
  [[nodiscard]] std::size_t n_tokens() const noexcept { return n_embd == 0 ? 0 : data.size() / n_embd; }
};

/// One media item of a request.
struct media_item {
  enum class kind : std::uint8_t { image, audio, embeddings };
  kind what = kind::image;
  media::image_u8 image;              ///< kind::image: decoded RGB
  media::audio_pcm audio;             ///< kind::audio: mono PCM, 16 kHz
  precomputed_embeddings embeddings;  ///< kind::embeddings
  std::string uuid;                   ///< optional user id: the encoder-cache key instead of a content hash

  static media_item from_image(media::image_u8 img, std::string uuid = {}) {
    media_item m;
    m.what = kind::image;
    m.image = std::move(img);
    m.uuid = std::move(uuid);
    return m;
  }
  static media_item from_audio(media::audio_pcm pcm, std::string uuid = {}) {
    media_item m;
    m.what = kind::audio;
    m.audio = std::move(pcm);
    m.uuid = std::move(uuid);
    return m;
  }
  static media_item from_embeddings(precomputed_embeddings e, std::string uuid = {}) {
    media_item m;
    m.what = kind::embeddings;
    m.embeddings = std::move(e);
    m.uuid = std::move(uuid);
    return m;
  }
};

enum class chunk_type : std::uint8_t { text, image, audio };

/// One chunk of a tokenized multimodal prompt.
struct prompt_chunk {
  chunk_type type = chunk_type::text;
  std::vector<token_id> tokens;                ///< text chunks
  std::size_t item = 0;                        ///< media chunks: index of the media item
  std::size_t entry_begin = 0, entry_end = 0;  ///< media chunks: encoder entries of the item
  std::size_t n_media_tokens = 0;              ///< media chunks: embedding rows
  size2 grid{};                                ///< media chunks: nx × ny (ny = 1 without M-RoPE)
  bool mrope = false;                          ///< media chunk with M-RoPE positions

  /// Entries the language model sees.
  [[nodiscard]] std::size_t n_tokens() const noexcept {
    return type == chunk_type::text ? tokens.size() : n_media_tokens;
  }
  /// Positions the chunk advances (max(nx, ny) for M-RoPE media).
  [[nodiscard]] std::int32_t n_pos() const noexcept {
    if (type != chunk_type::text && mrope) return std::max(grid.width, grid.height);
    return static_cast<std::int32_t>(n_tokens());
  }
};

/// A media item after preprocessing.
struct prepared_media {
  media_item::kind what = media_item::kind::image;
  vision_input vision;                    ///< kind::image
  audio_input audio;                      ///< kind::audio
  precomputed_embeddings embeddings;      ///< kind::embeddings
  std::vector<std::size_t> entry_tokens;  ///< output tokens per encoder entry
  std::string key;                        ///< encoder-cache key (uuid or content hash)
};

/// A tokenized multimodal prompt.
struct mm_prompt {
  std::vector<prompt_chunk> chunks;
  std::vector<prepared_media> media;

  [[nodiscard]] std::size_t n_tokens() const noexcept {
    std::size_t n = 0;
    for (const auto& c : chunks) n += c.n_tokens();
    return n;
  }
  [[nodiscard]] std::int32_t n_pos() const noexcept {
    std::int32_t n = 0;
    for (const auto& c : chunks) n += c.n_pos();
    return n;
  }
};

struct chunker_options {
  std::string marker = std::string(default_media_marker);
  bool add_special = true;    ///< BOS/EOS as the vocabulary says
  bool parse_special = true;  ///< special-token text in the prompt becomes special tokens
};

namespace detail {

/// "a <m> b <m>" → "a ", "<m>", " b ", "<m>" (mtmd's split_text: empty pieces dropped).
inline std::vector<std::string_view> split_at_marker(std::string_view s, std::string_view marker) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t pos; (pos = s.find(marker, start)) != std::string_view::npos;
       start = pos + marker.size()) {
    if (pos > start) out.push_back(s.substr(start, pos - start));
    out.push_back(marker);
  }
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty() || from == to) return s;
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

class chunk_builder {
 public:
  explicit chunk_builder(const tokenizer& tok) : tok_(&tok) {}

  void add_tokens(std::span<const token_id> t) {
    if (t.empty()) return;
    if (chunks_.empty() || chunks_.back().type != chunk_type::text) chunks_.push_back(prompt_chunk{});
    chunks_.back().tokens.insert(chunks_.back().tokens.end(), t.begin(), t.end());
  }
  void add_text(std::string_view text, bool parse_special) {
    const std::vector<token_id> t =
        tok_->encode(text, {.add_special = false, .parse_special = parse_special});
    add_tokens(t);
  }
  result<void> add_pieces(const std::vector<std::string>& pieces) {
    std::vector<token_id> ids;
    for (const std::string& p : pieces) {
      token_id found = no_token;
      for (std::size_t i = 0; i < tok_->size(); ++i)
        if (tok_->token_to_piece(static_cast<token_id>(i), true) == p) {
          found = static_cast<token_id>(i);
          break;
        }
      if (found == no_token)
        return make_error(errc::not_found, "multimodal: the vocabulary has no token whose piece is '", p,
                          "' (needed by the projector's prompt layout)");
      ids.push_back(found);
    }
    add_tokens(ids);
    return ok();
  }
  void add_media(prompt_chunk c) { chunks_.push_back(std::move(c)); }
  std::vector<prompt_chunk>& chunks() { return chunks_; }

 private:
  const tokenizer* tok_;
  std::vector<prompt_chunk> chunks_;
};

/// Cache key of an item: "u:<uuid>" or "<kind>:<content hash>". (Built by appending: GCC 12
/// warns falsely about `"xy" + string` at -O3.)
inline std::string media_key(const media_item& it) {
  std::string key;
  if (!it.uuid.empty()) {
    key = "u:";
    key += it.uuid;
    return key;
  }
  switch (it.what) {
    case media_item::kind::image:
      key = "i:";
      key += media::content_hash(it.image).hex();
      break;
    case media_item::kind::audio:
      key = "a:";
      key += media::content_hash(it.audio).hex();
      break;
    case media_item::kind::embeddings: {
      const auto* b = reinterpret_cast<const std::uint8_t*>(it.embeddings.data.data());
      key = "e:";
      key += media::content_hash(std::span<const std::uint8_t>(b, it.embeddings.data.size() * sizeof(float)))
                 .hex();
      break;
    }
  }
  return key;
}

}  // namespace detail

/// Tokenizes `prompt` with its media `items` (see the header comment). `enc` may be null for a
/// text-only model (then any item is an error).
inline result<mm_prompt> tokenize_multimodal(const tokenizer& tok, const multimodal_encoder* enc,
                                             std::string_view prompt, std::span<const media_item> items,
                                             const chunker_options& o = {}) {
  if (o.marker.empty())
    return make_error(errc::invalid_argument, "multimodal: the media marker must not be empty");
  const std::string text = detail::replace_all(std::string(prompt), peer_quirk_legacy_image_marker, o.marker);
  const std::vector<std::string_view> parts = detail::split_at_marker(text, o.marker);
  const auto n_markers =
      static_cast<std::size_t>(std::count(parts.begin(), parts.end(), std::string_view(o.marker)));
  if (n_markers != items.size())
    return make_error(errc::invalid_argument, "multimodal: the prompt has ", std::to_string(n_markers),
                      " media marker(s) ('", o.marker, "') but ", std::to_string(items.size()),
                      " media item(s) were given");
  mm_prompt out;
  detail::chunk_builder b(tok);
  std::size_t next = 0;
  for (std::string_view part : parts) {
    if (part != o.marker) {
      b.add_text(part, o.parse_special);
      continue;
    }
    const std::size_t idx = next++;
    const media_item& it = items[idx];
    prepared_media pm;
    pm.what = it.what;
    pm.key = detail::media_key(it);
    media_layout layout;
    bool mrope = false;
    auto chunk_of = [&](std::size_t e0, std::size_t e1, chunk_type t) {
      prompt_chunk c;
      c.type = t;
      c.item = idx;
      c.entry_begin = e0;
      c.entry_end = e1;
      for (std::size_t e = e0; e < e1; ++e) c.n_media_tokens += pm.entry_tokens[e];
      c.grid = {static_cast<int>(c.n_media_tokens), 1};
      c.mrope = mrope;
      return c;
    };
    const bool audio_embeds = it.what == media_item::kind::embeddings && it.embeddings.mod == modality::audio;
    if (it.what == media_item::kind::audio || audio_embeds) {
      if (enc == nullptr || enc->audio() == nullptr)
        return make_error(errc::unsupported, "multimodal: the model does not support audio input");
      if (audio_embeds) {
        const precomputed_embeddings& pe = it.embeddings;
        if (pe.n_embd != enc->n_embd_out() || pe.data.empty() || pe.data.size() % pe.n_embd != 0)
          return make_error(errc::invalid_argument,
                            "multimodal: precomputed audio embeddings must be (n_tokens, ",
                            std::to_string(enc->n_embd_out()), ") floats");
        const std::size_t n_chunks = std::max<std::size_t>(1, pe.n_chunks), nt = pe.n_tokens();
        if (nt % n_chunks != 0)
          return make_error(errc::invalid_argument, "multimodal: audio embedding rows do not split into ",
                            std::to_string(n_chunks), " equal chunks");
        pm.embeddings = pe;
        pm.audio.entries.resize(n_chunks);
        pm.entry_tokens.assign(n_chunks, nt / n_chunks);
        layout = enc->audio()->layout(pm.audio);
        pm.audio.entries.clear();
      } else {
        if (it.audio.samples.empty())
          return make_error(errc::invalid_argument, "multimodal: empty audio data");
        MMLLM_TRY_ASSIGN(pm.audio, enc->audio()->preprocess(it.audio));
        for (const auto& m : pm.audio.entries) pm.entry_tokens.push_back(enc->audio()->n_tokens(m));
        layout = enc->audio()->layout(pm.audio);
      }
      for (const layout_step& s : layout) {
        if (s.what == layout_step::kind::text)
          b.add_text(s.text, true);
        else if (s.what == layout_step::kind::tokens_by_piece)
          MMLLM_TRY(b.add_pieces(s.pieces));
        else
          b.add_media(chunk_of(s.entry_begin, s.entry_end, chunk_type::audio));
      }
    } else {
      if (enc == nullptr || enc->vision() == nullptr)
        return make_error(errc::unsupported, "multimodal: the model does not support image input");
      const vision_encoder& v = *enc->vision();
      mrope = v.use_mrope();
      std::vector<size2> grids;
      if (it.what == media_item::kind::image) {
        MMLLM_TRY_ASSIGN(pm.vision, v.preprocess(it.image));
        for (const auto& e : pm.vision.entries) {
          pm.entry_tokens.push_back(v.n_tokens(e));
          grids.push_back(v.token_grid(e));
        }
        layout = v.layout(pm.vision);
      } else {
        const precomputed_embeddings& pe = it.embeddings;
        if (pe.n_embd != enc->n_embd_out() || pe.data.empty() || pe.data.size() % pe.n_embd != 0)
          return make_error(errc::invalid_argument, "multimodal: precomputed embeddings must be (n_tokens, ",
                            std::to_string(enc->n_embd_out()), ") floats");
        pm.embeddings = pe;
        // a synthetic preprocessed image with the right number of entries drives the layout
        vision_input shape;
        std::size_t n_entries = 1;
        if (pe.tiles.width > 0 && pe.tiles.height > 0) {
          shape.grid_x = pe.tiles.width;
          shape.grid_y = pe.tiles.height;
          n_entries =
              static_cast<std::size_t>(pe.tiles.width) * static_cast<std::size_t>(pe.tiles.height) + 1;
        }
        const std::size_t nt = pe.n_tokens();
        if (nt % n_entries != 0)
          return make_error(errc::invalid_argument, "multimodal: ", std::to_string(nt),
                            " embedding rows do not split into ", std::to_string(n_entries), " equal tiles");
        shape.entries.resize(n_entries);
        pm.entry_tokens.assign(n_entries, nt / n_entries);
        if (mrope) {
          if (n_entries != 1 || pe.token_grid.width <= 0 || pe.token_grid.height <= 0 ||
              static_cast<std::size_t>(pe.token_grid.width) *
                      static_cast<std::size_t>(pe.token_grid.height) !=
                  nt)
            return make_error(errc::invalid_argument,
                              "multimodal: precomputed embeddings for an M-RoPE model need their token grid "
                              "(columns × rows = n_tokens)");
          grids.push_back(pe.token_grid);
        } else {
          grids.assign(n_entries, size2{static_cast<int>(nt / n_entries), 1});
        }
        layout = v.layout(shape);
      }
      for (const layout_step& s : layout) {
        if (s.what == layout_step::kind::text) {
          b.add_text(s.text, true);
        } else if (s.what == layout_step::kind::tokens_by_piece) {
          MMLLM_TRY(b.add_pieces(s.pieces));
        } else {
          prompt_chunk c = chunk_of(s.entry_begin, s.entry_end, chunk_type::image);
          if (mrope && s.entry_end - s.entry_begin == 1) c.grid = grids[s.entry_begin];
          b.add_media(std::move(c));
        }
      }
    }
    out.media.push_back(std::move(pm));
  }
  std::vector<prompt_chunk>& ch = b.chunks();
  if (o.add_special && tok.add_bos() && tok.bos() != no_token) {
    if (!ch.empty() && ch.front().type == chunk_type::text) {
      ch.front().tokens.insert(ch.front().tokens.begin(), tok.bos());
    } else {
      prompt_chunk c;
      c.tokens.push_back(tok.bos());
      ch.insert(ch.begin(), std::move(c));
    }
  }
  if (o.add_special && tok.add_eos() && tok.eos() != no_token) {
    const token_id eos = tok.eos();
    b.add_tokens(std::span<const token_id>(&eos, 1));
  }
  out.chunks = std::move(ch);
  return out;
}

/// An image_data entry of llama.cpp's legacy API: an id referenced as "[img-<id>]" in the prompt.
struct legacy_image_ref {
  int id = 0;
  media_item item;
};

/// Replaces every "[img-N]" of `prompt` by `marker` and returns the items in reference order.
/// Unknown ids, ids referenced twice and items never referenced are errors.
inline result<std::pair<std::string, std::vector<media_item>>> rewrite_legacy_image_ids(
    std::string_view prompt, std::vector<legacy_image_ref> refs,
    std::string_view marker = default_media_marker) {
  std::string out;
  std::vector<media_item> items;
  std::vector<bool> used(refs.size(), false);
  std::size_t pos = 0;
  while (pos < prompt.size()) {
    const std::size_t at = prompt.find("[img-", pos);
    if (at == std::string_view::npos) break;
    std::size_t q = at + 5;
    std::size_t digits = 0;
    long long id = 0;
    while (q < prompt.size() && prompt[q] >= '0' && prompt[q] <= '9' && digits < 9) {
      id = id * 10 + (prompt[q] - '0');
      ++q;
      ++digits;
    }
    if (digits == 0 || q >= prompt.size() || prompt[q] != ']') {  // not a reference: keep the text
      out.append(prompt.substr(pos, at + 5 - pos));
      pos = at + 5;
      continue;
    }
    std::size_t k = 0;
    while (k < refs.size() && refs[k].id != id) ++k;
    if (k == refs.size())
      return make_error(errc::invalid_argument, "multimodal: [img-", std::to_string(id),
                        "] has no image_data entry");
    if (used[k])
      return make_error(errc::invalid_argument, "multimodal: [img-", std::to_string(id), "] is used twice");
    used[k] = true;
    out.append(prompt.substr(pos, at - pos));
    out.append(marker);
    items.push_back(std::move(refs[k].item));
    pos = q + 1;
  }
  out.append(prompt.substr(std::min(pos, prompt.size())));
  for (std::size_t k = 0; k < refs.size(); ++k)
    if (!used[k])
      return make_error(errc::invalid_argument, "multimodal: image_data id ", std::to_string(refs[k].id),
                        " is not referenced by an [img-N] in the prompt");
  return std::pair<std::string, std::vector<media_item>>(std::move(out), std::move(items));
}

}  // namespace mmllm::mm
