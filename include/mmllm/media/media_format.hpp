// mmllm/media/media_format.hpp — content sniffing by magic bytes.
//
// What a media item is comes from its first bytes, never from a file name, a URL or a
// declared MIME type alone (those may lie; a decoder fed the wrong format is an attack
// surface). `sniff_format` recognises the image, audio and video containers people send;
// `kind_of` says whether a format is an image, audio or video, and `mime_type` gives the
// canonical MIME type (for data: URIs and HTTP Accept headers).
//
//   auto f = mmllm::media::sniff_format(bytes);            // e.g. media_format::png
//   if (mmllm::media::kind_of(f) != mmllm::media::media_kind::image) ...
//
// TGA has no magic number; it is recognised last, from a strictly validated header.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace mmllm::media {

/// Broad class of a media item.
enum class media_kind : std::uint8_t { unknown, image, audio, video };

constexpr std::string_view to_string(media_kind k) noexcept {
  switch (k) {
    case media_kind::unknown: return "unknown";
    case media_kind::image: return "image";
    case media_kind::audio: return "audio";
    case media_kind::video: return "video";
  }
  return "unknown";
}

/// Container / codec family recognised from magic bytes.
enum class media_format : std::uint8_t {
  unknown,
  // images
  jpeg,
  png,
  bmp,
  gif,
  tga,
  pnm,
  psd,
  hdr,
  webp,
  tiff,  ///< recognised, not decoded
  avif,  ///< recognised, not decoded
  heic,  ///< recognised, not decoded
  // audio
  wav,
  mp3,
  flac,
  ogg_audio,  ///< Ogg with Vorbis / Opus / FLAC
  aac,        ///< ADTS stream, recognised, not decoded
  m4a,        ///< MPEG-4 audio-only brand, recognised, not decoded
  // video
  mp4,       ///< ISO base media (mp4, mov, 3gp)
  matroska,  ///< mkv, webm
  avi,
  mpeg_ts,
  mpeg_ps,
  ogg_video,  ///< Ogg with Theora
};

constexpr media_kind kind_of(media_format f) noexcept {
  switch (f) {
    case media_format::jpeg:
    case media_format::png:
    case media_format::bmp:
    case media_format::gif:
    case media_format::tga:
    case media_format::pnm:
    case media_format::psd:
    case media_format::hdr:
    case media_format::webp:
    case media_format::tiff:
    case media_format::avif:
    case media_format::heic: return media_kind::image;
    case media_format::wav:
    case media_format::mp3:
    case media_format::flac:
    case media_format::ogg_audio:
    case media_format::aac:
    case media_format::m4a: return media_kind::audio;
    case media_format::mp4:
    case media_format::matroska:
    case media_format::avi:
    case media_format::mpeg_ts:
    case media_format::mpeg_ps:
    case media_format::ogg_video: return media_kind::video;
    case media_format::unknown: return media_kind::unknown;
  }
  return media_kind::unknown;
}

/// Short name, e.g. "jpeg", "wav", "matroska".
constexpr std::string_view to_string(media_format f) noexcept {
  switch (f) {
    case media_format::unknown: return "unknown";
    case media_format::jpeg: return "jpeg";
    case media_format::png: return "png";
    case media_format::bmp: return "bmp";
    case media_format::gif: return "gif";
    case media_format::tga: return "tga";
    case media_format::pnm: return "pnm";
    case media_format::psd: return "psd";
    case media_format::hdr: return "hdr";
    case media_format::webp: return "webp";
    case media_format::tiff: return "tiff";
    case media_format::avif: return "avif";
    case media_format::heic: return "heic";
    case media_format::wav: return "wav";
    case media_format::mp3: return "mp3";
    case media_format::flac: return "flac";
    case media_format::ogg_audio: return "ogg";
    case media_format::aac: return "aac";
    case media_format::m4a: return "m4a";
    case media_format::mp4: return "mp4";
    case media_format::matroska: return "matroska";
    case media_format::avi: return "avi";
    case media_format::mpeg_ts: return "mpeg-ts";
    case media_format::mpeg_ps: return "mpeg-ps";
    case media_format::ogg_video: return "ogg-video";
  }
  return "unknown";
}

/// Canonical MIME type, e.g. "image/jpeg"; "application/octet-stream" when unknown.
constexpr std::string_view mime_type(media_format f) noexcept {
  switch (f) {
    case media_format::jpeg: return "image/jpeg";
    case media_format::png: return "image/png";
    case media_format::bmp: return "image/bmp";
    case media_format::gif: return "image/gif";
    case media_format::tga: return "image/x-tga";
    case media_format::pnm: return "image/x-portable-anymap";
    case media_format::psd: return "image/vnd.adobe.photoshop";
    case media_format::hdr: return "image/vnd.radiance";
    case media_format::webp: return "image/webp";
    case media_format::tiff: return "image/tiff";
    case media_format::avif: return "image/avif";
    case media_format::heic: return "image/heic";
    case media_format::wav: return "audio/wav";
    case media_format::mp3: return "audio/mpeg";
    case media_format::flac: return "audio/flac";
    case media_format::ogg_audio: return "audio/ogg";
    case media_format::aac: return "audio/aac";
    case media_format::m4a: return "audio/mp4";
    case media_format::mp4: return "video/mp4";
    case media_format::matroska: return "video/x-matroska";
    case media_format::avi: return "video/x-msvideo";
    case media_format::mpeg_ts: return "video/mp2t";
    case media_format::mpeg_ps: return "video/mpeg";
    case media_format::ogg_video: return "video/ogg";
    case media_format::unknown: return "application/octet-stream";
  }
  return "application/octet-stream";
}

namespace detail {

inline bool starts_with(std::span<const std::uint8_t> b, std::string_view magic,
                        std::size_t at = 0) noexcept {
  return b.size() >= at + magic.size() && std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

inline std::uint32_t read_le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

inline std::uint32_t read_be32(const std::uint8_t* p) noexcept {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

/// An MPEG audio frame header (layer I-III) at p: sync, valid version/layer/bitrate/rate.
inline bool is_mpeg_audio_frame(std::span<const std::uint8_t> b) noexcept {
  if (b.size() < 4 || b[0] != 0xFF || (b[1] & 0xE0) != 0xE0) return false;
  const unsigned version = (b[1] >> 3) & 3u, layer = (b[1] >> 1) & 3u;
  const unsigned bitrate = b[2] >> 4, rate = (b[2] >> 2) & 3u;
  return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

/// ISO base media file: classify by the major brand and the compatible brands of `ftyp`.
inline media_format sniff_iso_bmff(std::span<const std::uint8_t> b) noexcept {
  const std::uint32_t box = read_be32(b.data());
  const std::size_t end = box >= 16 && box <= b.size() ? box : std::min<std::size_t>(b.size(), 64);
  bool avif = false, heic = false, audio_only = false;
  for (std::size_t at = 8; at + 4 <= end; at += 4) {
    if (at == 12) continue;  // minor version
    const std::string_view brand(reinterpret_cast<const char*>(b.data() + at), 4);
    if (brand == "avif" || brand == "avis") avif = true;
    if (brand == "heic" || brand == "heix" || brand == "heim" || brand == "heis" || brand == "hevc" ||
        brand == "hevx" || brand == "mif1" || brand == "msf1")
      heic = true;
    if (at == 8 && (brand == "M4A " || brand == "M4B " || brand == "M4P " || brand == "F4A "))
      audio_only = true;
  }
  if (avif) return media_format::avif;
  if (heic) return media_format::heic;
  if (audio_only) return media_format::m4a;
  return media_format::mp4;
}

/// TGA has no magic: accept only a fully plausible 18-byte header (as stb_image's own test).
inline bool looks_like_tga(std::span<const std::uint8_t> b) noexcept {
  if (b.size() < 18) return false;
  const unsigned cmap = b[1], type = b[2];
  if (cmap > 1) return false;
  if (type != 1 && type != 2 && type != 3 && type != 9 && type != 10 && type != 11) return false;
  const bool indexed = type == 1 || type == 9;
  if (indexed != (cmap == 1)) return false;
  if (cmap == 1 && b[7] != 15 && b[7] != 16 && b[7] != 24 && b[7] != 32) return false;
  if (cmap == 0 && (b[3] | b[4] | b[5] | b[6] | b[7]) != 0) return false;
  const unsigned w = b[12] | (b[13] << 8), h = b[14] | (b[15] << 8), bpp = b[16];
  if (w == 0 || h == 0) return false;
  if (indexed ? (bpp != 8 && bpp != 16) : (bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32))
    return false;
  if ((b[17] & 0xC0) != 0) return false;  // interleaving: never used
  return true;
}

}  // namespace detail

/// The format of `bytes` judged from its content alone; media_format::unknown if unrecognised.
inline media_format sniff_format(std::span<const std::uint8_t> b) noexcept {
  using detail::starts_with;
  using namespace std::string_view_literals;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return media_format::jpeg;
  if (starts_with(b, "\x89PNG\r\n\x1a\n"sv)) return media_format::png;
  if (starts_with(b, "GIF87a"sv) || starts_with(b, "GIF89a"sv)) return media_format::gif;
  if (starts_with(b, "RIFF"sv) && b.size() >= 12) {
    if (starts_with(b, "WAVE"sv, 8)) return media_format::wav;
    if (starts_with(b, "WEBP"sv, 8)) return media_format::webp;
    if (starts_with(b, "AVI "sv, 8)) return media_format::avi;
    return media_format::unknown;
  }
  if (starts_with(b, "RF64"sv) && starts_with(b, "WAVE"sv, 8)) return media_format::wav;
  if (starts_with(b, "BM"sv) && b.size() >= 26) {
    const std::uint32_t dib = detail::read_le32(b.data() + 14);
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124)
      return media_format::bmp;
  }
  if (starts_with(b, "8BPS\x00\x01"sv)) return media_format::psd;
  if (starts_with(b, "#?RADIANCE\n"sv) || starts_with(b, "#?RGBE\n"sv)) return media_format::hdr;
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' &&
      (b[2] == ' ' || b[2] == '\n' || b[2] == '\r' || b[2] == '\t'))
    return media_format::pnm;
  if (starts_with(b, "II*\x00"sv) || starts_with(b, "MM\x00*"sv)) return media_format::tiff;
  if (starts_with(b, "fLaC"sv)) return media_format::flac;
  if (starts_with(b, "OggS"sv)) {
    const std::size_t n = std::min<std::size_t>(b.size(), 256);
    for (std::size_t i = 0; i + 7 <= n; ++i)
      if (std::memcmp(b.data() + i, "\x80theora", 7) == 0) return media_format::ogg_video;
    return media_format::ogg_audio;
  }
  if (starts_with(b, "ID3"sv) && b.size() >= 10) return media_format::mp3;
  if (b.size() >= 12 && starts_with(b, "ftyp"sv, 4)) return detail::sniff_iso_bmff(b);
  if (b.size() >= 8 &&
      (starts_with(b, "moov"sv, 4) || starts_with(b, "mdat"sv, 4) || starts_with(b, "wide"sv, 4)))
    return media_format::mp4;
  if (starts_with(b, "\x1a\x45\xdf\xa3"sv)) return media_format::matroska;
  if (b.size() >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 1 && b[3] == 0xBA) return media_format::mpeg_ps;
  if (b.size() >= 377 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47) return media_format::mpeg_ts;
  if (detail::is_mpeg_audio_frame(b)) return media_format::mp3;
  if (b.size() >= 7 && b[0] == 0xFF && (b[1] & 0xF6) == 0xF0) return media_format::aac;
  if (detail::looks_like_tga(b)) return media_format::tga;
  return media_format::unknown;
}

}  // namespace mmllm::media
