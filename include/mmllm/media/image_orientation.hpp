// mmllm/media/image_orientation.hpp — EXIF orientation of JPEG files.
//
// Cameras store pixels as the sensor saw them and record the intended rotation in the EXIF
// Orientation tag (0x0112, values 1–8). `jpeg_exif_orientation(bytes)` reads it (1 when absent
// or unreadable); `apply_orientation(img, o)` returns the upright image, as PIL's
// ImageOps.exif_transpose does. llama.cpp ignores the tag (stb_image does not read EXIF), so
// decode_image applies it only when image_decode_options::apply_exif_orientation is set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "mmllm/media/image.hpp"

namespace mmllm::media {

namespace detail {

/// Orientation value from a TIFF block (the payload of an "Exif\0\0" APP1 segment after the 6
/// signature bytes), or 1.
inline int tiff_orientation(std::span<const std::uint8_t> t) noexcept {
  if (t.size() < 8) return 1;
  const bool le = t[0] == 'I' && t[1] == 'I';
  const bool be = t[0] == 'M' && t[1] == 'M';
  if (!le && !be) return 1;
  auto u16 = [&](std::size_t at) -> unsigned {
    return le ? (t[at] | (t[at + 1] << 8)) : ((t[at] << 8) | t[at + 1]);
  };
  auto u32 = [&](std::size_t at) -> std::uint32_t {
    return le ? (std::uint32_t{t[at]} | (std::uint32_t{t[at + 1]} << 8) | (std::uint32_t{t[at + 2]} << 16) |
                 (std::uint32_t{t[at + 3]} << 24))
              : ((std::uint32_t{t[at]} << 24) | (std::uint32_t{t[at + 1]} << 16) |
                 (std::uint32_t{t[at + 2]} << 8) | std::uint32_t{t[at + 3]});
  };
  if (u16(2) != 42) return 1;
  const std::uint32_t ifd = u32(4);
  if (ifd > t.size() || t.size() - ifd < 2) return 1;
  const unsigned n = u16(ifd);
  for (unsigned i = 0; i < n; ++i) {
    const std::size_t e = ifd + 2 + std::size_t{12} * i;
    if (e + 12 > t.size()) return 1;
    if (u16(e) != 0x0112) continue;
    if (u16(e + 2) != 3 || u32(e + 4) != 1) return 1;  // SHORT, count 1
    const unsigned v = u16(e + 8);
    return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
  }
  return 1;
}

}  // namespace detail

/// EXIF orientation (1–8) of a JPEG file; 1 when the file has none or it is unreadable.
inline int jpeg_exif_orientation(std::span<const std::uint8_t> b) noexcept {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return 1;
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (b[at] != 0xFF) return 1;
    const std::uint8_t marker = b[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      at += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // start of scan / end: no EXIF before it
    const std::size_t len = (static_cast<std::size_t>(b[at + 2]) << 8) | b[at + 3];
    if (len < 2 || at + 2 + len > b.size()) return 1;
    if (marker == 0xE1 && len >= 8 && b[at + 4] == 'E' && b[at + 5] == 'x' && b[at + 6] == 'i' &&
        b[at + 7] == 'f' && b[at + 8] == 0 && b[at + 9] == 0)
      return detail::tiff_orientation(b.subspan(at + 10, len - 8));
    at += 2 + len;
  }
  return 1;
}

/// The image as it should be displayed given EXIF orientation `o` (1 or out of range: a copy).
inline image_u8 apply_orientation(const image_u8& in, int o) {
  if (o < 2 || o > 8 || in.empty()) return in;
  const int w = in.width, h = in.height;
  const bool swap = o >= 5;
  image_u8 out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.pixels.resize(in.pixels.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (o) {
        case 2: sx = w - 1 - x; break;                  // mirror horizontally
        case 3: sx = w - 1 - x, sy = h - 1 - y; break;  // rotate 180°
        case 4: sy = h - 1 - y; break;                  // mirror vertically
        case 5: sx = y, sy = x; break;                  // transpose
        case 6: sx = y, sy = h - 1 - x; break;          // rotate 90° clockwise
        case 7: sx = w - 1 - y, sy = h - 1 - x; break;  // transverse
        default: sx = w - 1 - y, sy = x; break;         // 8: rotate 90° counter-clockwise
      }
      const std::size_t d = out.offset(x, y, 0), s = in.offset(sx, sy, 0);
      out.pixels[d] = in.pixels[s];
      out.pixels[d + 1] = in.pixels[s + 1];
      out.pixels[d + 2] = in.pixels[s + 2];
    }
  }
  return out;
}

}  // namespace mmllm::media
