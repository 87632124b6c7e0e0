// mmllm/media/media_source.hpp — where media bytes come from, with caps and clear errors.
//
// `load_media(ref, kind, options)` turns what a request carries into bytes:
// - "data:…" URIs (base64 or percent-encoded) — always allowed;
// - "file://…" URLs — only under options.allowed_local_root (local_file.hpp); refused when
//   no root is set (the default), as vLLM's --allowed-local-media-path;
// - "http://…" / "https://…" — through options.fetch, e.g. an mmllm::media::http_fetcher from
//   media/http_fetch.hpp (this header does not depend on Asio); refused when unset.
// `load_media_base64(text, kind, options)` is for APIs that carry bare base64 (llama.cpp's
// `multimodal_data`, OpenAI `input_audio.data`).
// Every source has a per-kind byte cap (options.limits). The result's `format` is sniffed
// from the bytes (media_format.hpp); when `kind` is not media_kind::unknown, bytes of another
// kind (an "image" that is really a WAV file) are an error.
//
//   mmllm::media::media_source_options opt;
//   opt.allowed_local_root = "/srv/media";
//   auto m = mmllm::media::load_media("data:image/png;base64,iVBOR…", media_kind::image, opt);
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/base64.hpp"
#include "mmllm/media/data_uri.hpp"
#include "mmllm/media/local_file.hpp"
#include "mmllm/media/media_format.hpp"

namespace mmllm::media {

/// Largest accepted media item, per kind, in bytes (encoded, before decoding).
struct media_limits {
  std::size_t max_image_bytes = std::size_t{32} << 20;
  std::size_t max_audio_bytes = std::size_t{64} << 20;
  std::size_t max_video_bytes = std::size_t{512} << 20;

  [[nodiscard]] std::size_t for_kind(media_kind k) const noexcept {
    switch (k) {
      case media_kind::image: return max_image_bytes;
      case media_kind::audio: return max_audio_bytes;
      case media_kind::video: return max_video_bytes;
      case media_kind::unknown: break;
    }
    return std::max(max_image_bytes, std::max(max_audio_bytes, max_video_bytes));
  }
};

/// Fetches an http(s) URL for a media item of `kind` honouring `max_bytes`.
using media_fetch_function = std::function<result<std::vector<std::uint8_t>>(
    std::string_view url, media_kind kind, std::size_t max_bytes)>;

struct media_source_options {
  std::filesystem::path allowed_local_root;  ///< empty: file:// refused
  media_limits limits{};
  media_fetch_function fetch;  ///< empty: http(s) refused
};

/// Bytes of a media item and what they are.
struct media_item {
  std::vector<std::uint8_t> bytes;
  media_format format = media_format::unknown;
  std::string declared_type;  ///< MIME type the source claimed (data: URI), informational only
};

namespace detail {

inline result<media_item> finish_media(std::vector<std::uint8_t> bytes, media_kind kind,
                                       std::string declared) {
  media_item m;
  m.format = sniff_format(bytes);
  if (m.format == media_format::unknown)
    return make_error(errc::malformed, "media: unrecognised data (", std::to_string(bytes.size()), " bytes)");
  if (kind != media_kind::unknown && kind_of(m.format) != kind)
    return make_error(errc::invalid_argument, "media: expected ", to_string(kind), " but the data is ",
                      to_string(kind_of(m.format)), " (", to_string(m.format), ")");
  m.bytes = std::move(bytes);
  m.declared_type = std::move(declared);
  return m;
}

/// file:// URL → path ("file:///a/b", "file://localhost/a/b"); percent-decoded.
inline result<std::filesystem::path> file_url_path(std::string_view url) {
  std::string_view rest = url.substr(7);  // after "file://"
  if (iequals_prefix(rest, "localhost/")) rest.remove_prefix(9);
  if (rest.empty() || rest.front() != '/')
    return make_error(errc::invalid_argument, "media: file URL must be file:///absolute/path");
  MMLLM_TRY_ASSIGN(const auto raw, percent_decode(rest, 4096));
  std::string p(raw.begin(), raw.end());
  if (p.find('\0') != std::string::npos) return make_error(errc::invalid_argument, "media: NUL in file path");
  return std::filesystem::path(p);
}

}  // namespace detail

/// Loads the bytes a media reference (data:, file://, http(s):// URL) points to.
inline result<media_item> load_media(std::string_view ref, media_kind kind, const media_source_options& opt) {
  const std::size_t cap = opt.limits.for_kind(kind);
  if (is_data_uri(ref)) {
    MMLLM_TRY_ASSIGN(data_uri d, parse_data_uri(ref, cap));
    return detail::finish_media(std::move(d.bytes), kind, std::move(d.mime_type));
  }
  if (detail::iequals_prefix(ref, "file://")) {
    MMLLM_TRY_ASSIGN(const auto path, detail::file_url_path(ref));
    MMLLM_TRY_ASSIGN(auto bytes, read_local_file(path, opt.allowed_local_root, cap));
    return detail::finish_media(std::move(bytes), kind, {});
  }
  if (detail::iequals_prefix(ref, "http://") || detail::iequals_prefix(ref, "https://")) {
    if (!opt.fetch) return make_error(errc::unsupported, "media: fetching URLs is disabled");
    MMLLM_TRY_ASSIGN(auto bytes, opt.fetch(ref, kind, cap));
    if (bytes.size() > cap)
      return make_error(errc::resource_limit, "media: fetched data exceeds the size limit");
    return detail::finish_media(std::move(bytes), kind, {});
  }
  return make_error(errc::invalid_argument,
                    "media: unsupported reference (expected a data:, file:// or http(s):// URL)");
}

/// Decodes bare base64 (no data: prefix) and sniffs it.
inline result<media_item> load_media_base64(std::string_view text, media_kind kind,
                                            const media_source_options& opt) {
  MMLLM_TRY_ASSIGN(auto bytes, decode_base64(text, opt.limits.for_kind(kind)));
  return detail::finish_media(std::move(bytes), kind, {});
}

}  // namespace mmllm::media
