// mmllm/media/capabilities.hpp — what this build of the media layer can decode and fetch.
//
// The optional decoders are chosen at build time by the MMLLM_WITH_* macros that the CMake
// targets mmllm::media_* (meson: mmllm_media_dep) define; `capabilities()` reports them, e.g.
// for a server's startup log or a /props endpoint. All translation units of a program should
// see the same macros (link the same targets).
//
//   for (auto f : mmllm::media::capabilities().formats) std::puts(f.data());
#pragma once

#include <string_view>
#include <vector>

namespace mmllm::media {

struct media_capabilities {
  bool webp = false;     ///< WebP images (libwebp)
  bool sndfile = false;  ///< MP3, FLAC, Ogg Vorbis/Opus audio (libsndfile)
  bool video = false;    ///< video frames (FFmpeg)
  bool https = false;    ///< https URLs (OpenSSL) in media/http_fetch.hpp; http always
  /// MIME types decoded, then "url:http" / "url:https" for the fetcher.
  std::vector<std::string_view> formats;
};

inline media_capabilities capabilities() {
  media_capabilities c;
#if defined(MMLLM_WITH_WEBP)
  c.webp = true;
#endif
#if defined(MMLLM_WITH_SNDFILE)
  c.sndfile = true;
#endif
#if defined(MMLLM_WITH_FFMPEG)
  c.video = true;
#endif
#if defined(MMLLM_WITH_OPENSSL)
  c.https = true;
#endif
  c.formats = {"image/jpeg",
               "image/png",
               "image/bmp",
               "image/gif",
               "image/x-tga",
               "image/x-portable-anymap",
               "image/vnd.adobe.photoshop",
               "image/vnd.radiance"};
  if (c.webp) c.formats.push_back("image/webp");
  c.formats.push_back("audio/wav");
  if (c.sndfile) {
    c.formats.push_back("audio/mpeg");
    c.formats.push_back("audio/flac");
    c.formats.push_back("audio/ogg");
  }
  if (c.video) {
    for (const std::string_view v : {"video/mp4", "video/quicktime", "video/x-matroska", "video/webm",
                                     "video/x-msvideo", "video/mp2t", "video/mpeg", "video/ogg"})
      c.formats.push_back(v);
  }
  c.formats.push_back("url:http");
  if (c.https) c.formats.push_back("url:https");
  return c;
}

}  // namespace mmllm::media
