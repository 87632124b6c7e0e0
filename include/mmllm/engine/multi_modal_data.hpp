// mmllm/engine/multi_modal_data.hpp — the media of one request, in the shape of vLLM's
// `multi_modal_data` / `multi_modal_uuids` / `limit_mm_per_prompt`, and their mapping onto
// the prompt's media markers.
//
//   mmllm::multi_modal_data d;
//   d.image.push_back(std::move(img));                    // decoded RGB (media/image_decode.hpp)
//   d.audio.push_back(std::move(pcm));                    // mono PCM (media/audio_decode.hpp)
//   d.image_embeds.push_back(std::move(rows));            // precomputed projector output
//   mmllm::multi_modal_uuids u;  u.image = {"cat-1"};     // optional cache keys ("" = none)
//
// Markers: every item takes one media marker of the prompt ("<__media__>" by default), in the
// order `order` lists them; without `order` the markers take every image, then every
// image_embeds entry, then every audio clip, then every video (one modality: the list order).
// A video is decoded into frames (media/video_decode.hpp: FFmpeg builds only; otherwise a
// clear "not supported" error) and its marker becomes one marker per frame, each frame an
// image. The number of markers must equal the number of items.
//
// Precomputed embeddings take an image's place (with the model's image wrapper), or an audio
// clip's when their `mod` is modality::audio (not in vLLM; for audio projectors).
//
// Limits (vLLM's limit_mm_per_prompt): at most `image` images (image_embeds count as images,
// or as audio when they take an audio clip's place), `audio` clips and `video` videos per
// prompt; unset means no limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "../media/audio.hpp"
#include "../media/image.hpp"
#include "../media/video.hpp"
#include "../media/video_decode.hpp"
#include "mm_chunker.hpp"

namespace mmllm {

/// A video of a request: frames already decoded, or an encoded file.
struct video_input {
  media::video_frames frames{};          ///< used when it has frames
  std::vector<std::uint8_t> bytes{};     ///< else: an encoded video (decoded with FFmpeg)
  media::video_decode_options decode{};  ///< frame sampling for `bytes`
};

/// Which list of multi_modal_data an item comes from.
enum class mm_modality : std::uint8_t { image, image_embeds, audio, video };

constexpr std::string_view to_string(mm_modality m) noexcept {
  switch (m) {
    case mm_modality::image: return "image";
    case mm_modality::image_embeds: return "image_embeds";
    case mm_modality::audio: return "audio";
    case mm_modality::video: return "video";
  }
  return "";
}

/// One item of multi_modal_data: its list and its index there.
struct mm_item_ref {
  mm_modality modality = mm_modality::image;
  std::size_t index = 0;
};

/// The media of one request (vLLM's multi_modal_data).
struct multi_modal_data {
  std::vector<media::image_u8> image{};                    ///< decoded RGB images
  std::vector<mm::precomputed_embeddings> image_embeds{};  ///< (n_tokens, n_embd) projector outputs
  std::vector<media::audio_pcm> audio{};                   ///< mono PCM clips
  std::vector<video_input> video{};                        ///< videos (frames become images)
  std::vector<mm_item_ref> order{};                        ///< marker order; empty: see the header

  [[nodiscard]] bool empty() const noexcept {
    return image.empty() && image_embeds.empty() && audio.empty() && video.empty();
  }
  [[nodiscard]] std::size_t size() const noexcept {
    return image.size() + image_embeds.size() + audio.size() + video.size();
  }
};

/// Optional per-item ids (vLLM's multi_modal_uuids): the encoder-cache key of an item instead
/// of its content hash. Each list is empty or as long as its multi_modal_data list; "" = none.
struct multi_modal_uuids {
  std::vector<std::string> image{}, image_embeds{}, audio{}, video{};
};

/// Items per prompt at most (vLLM's limit_mm_per_prompt); unset: no limit.
struct mm_limits {
  std::optional<std::size_t> image{}, audio{}, video{};
};

namespace detail {

inline result<void> check_uuid_count(const std::vector<std::string>& uuids, std::size_t n, mm_modality m) {
  if (!uuids.empty() && uuids.size() != n)
    return make_error(errc::invalid_argument, "multi_modal_uuids: ", std::to_string(uuids.size()), " ",
                      to_string(m), " uuid(s) for ", std::to_string(n), " ", to_string(m), " item(s)");
  return ok();
}

inline result<void> check_limit(const std::optional<std::size_t>& limit, std::size_t n,
                                std::string_view what) {
  if (limit && n > *limit)
    return make_error(errc::invalid_argument, "limit_mm_per_prompt: the prompt has ", std::to_string(n), " ",
                      what, " item(s); at most ", std::to_string(*limit), " are allowed per prompt");
  return ok();
}

}  // namespace detail

/// A request's media as the chunker's items, in marker order, with `prompt` rewritten so that
/// every video's marker becomes one marker per frame (see the header comment).
struct resolved_media {
  std::string prompt;
  std::vector<mm::media_item> items;
};

/// Checks limits, uuids and the marker count, decodes videos, and orders the items.
inline result<resolved_media> resolve_multi_modal_data(std::string_view prompt, const multi_modal_data& d,
                                                       const multi_modal_uuids& u, const mm_limits& limits,
                                                       std::string_view marker = mm::default_media_marker) {
  std::size_t n_audio_embeds = 0;
  for (const auto& e : d.image_embeds) n_audio_embeds += e.mod == mm::modality::audio ? 1 : 0;
  MMLLM_TRY(
      detail::check_limit(limits.image, d.image.size() + d.image_embeds.size() - n_audio_embeds, "image"));
  MMLLM_TRY(detail::check_limit(limits.audio, d.audio.size() + n_audio_embeds, "audio"));
  MMLLM_TRY(detail::check_limit(limits.video, d.video.size(), "video"));
  MMLLM_TRY(detail::check_uuid_count(u.image, d.image.size(), mm_modality::image));
  MMLLM_TRY(detail::check_uuid_count(u.image_embeds, d.image_embeds.size(), mm_modality::image_embeds));
  MMLLM_TRY(detail::check_uuid_count(u.audio, d.audio.size(), mm_modality::audio));
  MMLLM_TRY(detail::check_uuid_count(u.video, d.video.size(), mm_modality::video));
  if (marker.empty())
    return make_error(errc::invalid_argument, "multimodal: the media marker must not be empty");

  std::vector<mm_item_ref> order = d.order;
  if (order.empty()) {
    for (std::size_t i = 0; i < d.image.size(); ++i) order.push_back({mm_modality::image, i});
    for (std::size_t i = 0; i < d.image_embeds.size(); ++i) order.push_back({mm_modality::image_embeds, i});
    for (std::size_t i = 0; i < d.audio.size(); ++i) order.push_back({mm_modality::audio, i});
    for (std::size_t i = 0; i < d.video.size(); ++i) order.push_back({mm_modality::video, i});
  } else {
    // every item exactly once
    std::vector<std::vector<bool>> seen{std::vector<bool>(d.image.size()),
                                        std::vector<bool>(d.image_embeds.size()),
                                        std::vector<bool>(d.audio.size()), std::vector<bool>(d.video.size())};
    for (const mm_item_ref& r : order) {
      auto& s = seen[static_cast<std::size_t>(r.modality)];
      if (r.index >= s.size() || s[r.index])
        return make_error(errc::invalid_argument, "multi_modal_data: order names ", to_string(r.modality),
                          " ", std::to_string(r.index),
                          (r.index >= s.size() ? ", which does not exist" : " twice"));
      s[r.index] = true;
    }
    if (order.size() != d.size())
      return make_error(errc::invalid_argument, "multi_modal_data: order lists ",
                        std::to_string(order.size()), " of the ", std::to_string(d.size()), " items");
  }

  // the markers, as the chunker will find them (the legacy image marker counts too)
  const std::string text =
      mm::detail::replace_all(std::string(prompt), mm::peer_quirk_legacy_image_marker, marker);
  const std::vector<std::string_view> parts = mm::detail::split_at_marker(text, marker);
  std::size_t n_markers = 0;
  for (const std::string_view p : parts) n_markers += p == marker ? 1 : 0;
  if (n_markers != order.size())
    return make_error(errc::invalid_argument, "multimodal: the prompt has ", std::to_string(n_markers),
                      " media marker(s) ('", marker, "') but ", std::to_string(order.size()),
                      " media item(s) were given");

  resolved_media out;
  auto uuid_of = [](const std::vector<std::string>& v, std::size_t i) {
    return v.empty() ? std::string() : v[i];
  };
  std::size_t next = 0;
  for (const std::string_view part : parts) {
    if (part != marker) {
      out.prompt.append(part);
      continue;
    }
    const mm_item_ref r = order[next++];
    switch (r.modality) {
      case mm_modality::image:
        out.items.push_back(mm::media_item::from_image(d.image[r.index], uuid_of(u.image, r.index)));
        out.prompt.append(marker);
        break;
      case mm_modality::image_embeds: {
        out.items.push_back(
            mm::media_item::from_embeddings(d.image_embeds[r.index], uuid_of(u.image_embeds, r.index)));
        out.prompt.append(marker);
        break;
      }
      case mm_modality::audio:
        out.items.push_back(mm::media_item::from_audio(d.audio[r.index], uuid_of(u.audio, r.index)));
        out.prompt.append(marker);
        break;
      case mm_modality::video: {
        const video_input& v = d.video[r.index];
        media::video_frames decoded;
        const media::video_frames* frames = &v.frames;
        if (v.frames.frames.empty()) {
          if (v.bytes.empty())
            return make_error(errc::invalid_argument, "multi_modal_data: video ", std::to_string(r.index),
                              " has neither frames nor data");
          MMLLM_TRY_ASSIGN(decoded, media::decode_video(v.bytes, v.decode));
          frames = &decoded;
        }
        if (frames->frames.empty())
          return make_error(errc::invalid_argument, "multi_modal_data: video ", std::to_string(r.index),
                            " has no frames");
        const std::string id = uuid_of(u.video, r.index);
        for (std::size_t f = 0; f < frames->frames.size(); ++f) {
          std::string frame_id;
          if (!id.empty()) {
            frame_id = id;
            frame_id += "#frame";
            frame_id += std::to_string(f);
          }
          out.items.push_back(mm::media_item::from_image(frames->frames[f].image, std::move(frame_id)));
          out.prompt.append(marker);
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace mmllm
