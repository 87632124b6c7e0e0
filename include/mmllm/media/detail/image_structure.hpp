// mmllm/media/detail/image_structure.hpp — container checks run before stb_image decodes.
//
// stb_image is lenient: it reads zeros past the end of a buffer, so a truncated JPEG, BMP,
// GIF, PNM or TGA "decodes" into an image with a grey or black tail, and the Debian 12 copy
// (2.27) trusts some table sizes it should not. These walkers check the container structure
// (segments, chunks, blocks and the byte counts the header implies) without decoding pixels,
// so truncated files are errors and malformed tables never reach the decoder:
// - JPEG: marker segments up to EOI, Huffman table sizes, a frame header before any scan;
// - PNG: chunk layout up to IEND, IHDR first, CRC of critical chunks (as libpng);
// - BMP: the pixel array the header implies (uncompressed / bitfields);
// - GIF: blocks up to the end of the first frame's image data;
// - PNM (P5/P6): header and the sample bytes it implies;
// - TGA: colour map and pixel data, walking RLE packets.
// PSD and HDR are left to stb_image.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "mmllm/core/result.hpp"
#include "mmllm/media/media_format.hpp"

namespace mmllm::media::detail {

inline std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> data) noexcept {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (const std::uint8_t byte : data) crc = table[(crc ^ byte) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

inline unsigned read_le16(const std::uint8_t* p) noexcept { return p[0] | (p[1] << 8); }

inline result<void> check_jpeg(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return make_error(errc::malformed, "jpeg: missing SOI marker");
  std::size_t at = 2;
  bool frame = false, scan = false;
  for (;;) {
    while (at < n && b[at] != 0xFF) ++at;  // stray bytes between segments (stb skips them too)
    while (at < n && b[at] == 0xFF) ++at;  // fill bytes
    if (at >= n) return make_error(errc::truncated, "jpeg: file ends before the EOI marker");
    const std::uint8_t m = b[at++];
    if (m == 0xD9) {
      if (!scan) return make_error(errc::malformed, "jpeg: no image data before EOI");
      return ok();
    }
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (n - at < 2) return make_error(errc::truncated, "jpeg: file ends inside a segment header");
    const std::size_t len = (static_cast<std::size_t>(b[at]) << 8) | b[at + 1];
    if (len < 2) return make_error(errc::malformed, "jpeg: bad segment length");
    if (n - at < len) return make_error(errc::truncated, "jpeg: file ends inside a segment");
    const std::uint8_t* s = b.data() + at + 2;
    const std::size_t sl = len - 2;
    if (m == 0xC4) {  // DHT: every table needs class <= 1, id <= 3 and at most 256 symbols
      std::size_t p = 0;
      while (p < sl) {
        if (sl - p < 17) return make_error(errc::malformed, "jpeg: short Huffman table");
        if ((s[p] >> 4) > 1 || (s[p] & 15) > 3)
          return make_error(errc::malformed, "jpeg: bad Huffman table id");
        std::size_t count = 0;
        for (int i = 1; i <= 16; ++i) count += s[p + static_cast<std::size_t>(i)];
        if (count > 256) return make_error(errc::malformed, "jpeg: Huffman table has more than 256 codes");
        if (sl - p - 17 < count) return make_error(errc::malformed, "jpeg: short Huffman table");
        p += 17 + count;
      }
    } else if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {  // SOFn
      if (sl < 6) return make_error(errc::malformed, "jpeg: short frame header");
      const unsigned h = (s[1] << 8) | s[2], w = (s[3] << 8) | s[4], nc = s[5];
      if (w == 0 || h == 0) return make_error(errc::malformed, "jpeg: zero image size");
      if (nc == 0 || sl < 6 + 3 * std::size_t{nc})
        return make_error(errc::malformed, "jpeg: bad frame header");
      frame = true;
    } else if (m == 0xDA) {  // SOS, then entropy-coded data up to the next marker
      if (!frame) return make_error(errc::malformed, "jpeg: scan before the frame header");
      scan = true;
      at += len;
      for (;;) {
        const void* ff = at < n ? std::memchr(b.data() + at, 0xFF, n - at) : nullptr;
        if (ff == nullptr) return make_error(errc::truncated, "jpeg: file ends inside the image data");
        at = static_cast<std::size_t>(static_cast<const std::uint8_t*>(ff) - b.data());
        if (at + 1 >= n) return make_error(errc::truncated, "jpeg: file ends inside the image data");
        const std::uint8_t x = b[at + 1];
        if (x == 0x00 || (x >= 0xD0 && x <= 0xD7)) {
          at += 2;
        } else if (x == 0xFF) {
          ++at;
        } else {
          break;  // a marker: back to segment parsing
        }
      }
      continue;
    }
    at += len;
  }
}

inline result<void> check_png(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  std::size_t at = 8;
  bool first = true;
  for (;;) {
    if (n - at < 8) return make_error(errc::truncated, "png: file ends before the IEND chunk");
    const std::uint32_t len = read_be32(b.data() + at);
    const std::uint8_t* type = b.data() + at + 4;
    if (len > 0x7FFFFFFFu) return make_error(errc::malformed, "png: bad chunk length");
    for (int i = 0; i < 4; ++i) {
      const std::uint8_t c = type[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        return make_error(errc::malformed, "png: bad chunk type");
    }
    if (n - at - 8 < std::size_t{len} + 4)
      return make_error(errc::truncated, "png: file ends inside a chunk");
    const std::string_view name(reinterpret_cast<const char*>(type), 4);
    if (first && (name != "IHDR" || len != 13))
      return make_error(errc::malformed, "png: IHDR is not the first chunk");
    first = false;
    if (type[0] >= 'A' && type[0] <= 'Z') {  // critical chunk: the CRC must match (as libpng)
      const std::uint32_t crc = crc32_update(0, b.subspan(at + 4, std::size_t{len} + 4));
      if (crc != read_be32(b.data() + at + 8 + len))
        return make_error(errc::malformed, "png: CRC mismatch in chunk ", name);
    }
    if (name == "IEND") return ok();
    at += std::size_t{len} + 12;
  }
}

inline result<void> check_bmp(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 26) return make_error(errc::truncated, "bmp: file ends inside the header");
  const std::uint32_t off = read_le32(b.data() + 10), dib = read_le32(b.data() + 14);
  std::int64_t w = 0, h = 0;
  unsigned bpp = 0;
  std::uint32_t compression = 0;
  if (dib == 12) {
    w = read_le16(b.data() + 18);
    h = read_le16(b.data() + 20);
    bpp = read_le16(b.data() + 24);
  } else {
    if (n < 14 + std::size_t{dib} || dib < 40)
      return make_error(errc::truncated, "bmp: file ends inside the header");
    w = static_cast<std::int32_t>(read_le32(b.data() + 18));
    h = static_cast<std::int32_t>(read_le32(b.data() + 22));
    bpp = read_le16(b.data() + 28);
    compression = read_le32(b.data() + 30);
  }
  if (w <= 0 || h == 0) return make_error(errc::malformed, "bmp: bad image size");
  if (h < 0) h = -h;
  if (bpp == 0 || bpp > 32) return make_error(errc::malformed, "bmp: bad bit depth");
  if (compression != 0 && compression != 3 && compression != 6) return ok();  // stb refuses RLE etc. itself
  const std::int64_t row = (w * bpp + 31) / 32 * 4;
  if (off > n || static_cast<std::int64_t>(n - off) / row < h)
    return make_error(errc::truncated, "bmp: file ends inside the pixel data");
  return ok();
}

inline result<void> check_gif(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 13) return make_error(errc::truncated, "gif: file ends inside the header");
  std::size_t at = 13;
  if (b[10] & 0x80) at += 3u << ((b[10] & 7) + 1);
  auto skip_sub_blocks = [&]() -> bool {
    for (;;) {
      if (at >= n) return false;
      const std::size_t k = b[at++];
      if (k == 0) return true;
      if (n - at < k) return false;
      at += k;
    }
  };
  for (;;) {
    if (at >= n) return make_error(errc::truncated, "gif: file ends before the first frame");
    const std::uint8_t block = b[at++];
    if (block == 0x21) {
      if (at >= n) return make_error(errc::truncated, "gif: file ends inside an extension");
      ++at;  // label
      if (!skip_sub_blocks()) return make_error(errc::truncated, "gif: file ends inside an extension");
    } else if (block == 0x2C) {
      if (n - at < 9) return make_error(errc::truncated, "gif: file ends inside an image descriptor");
      const std::uint8_t flags = b[at + 8];
      at += 9;
      if (flags & 0x80) at += 3u << ((flags & 7) + 1);
      if (at >= n) return make_error(errc::truncated, "gif: file ends before the image data");
      if (b[at] > 12) return make_error(errc::malformed, "gif: bad LZW code size");
      ++at;
      if (!skip_sub_blocks()) return make_error(errc::truncated, "gif: file ends inside the image data");
      return ok();
    } else {
      return make_error(errc::malformed, "gif: bad block type before the first frame");
    }
  }
}

inline result<void> check_pnm(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 3 || (b[1] != '5' && b[1] != '6'))
    return make_error(errc::unsupported, "pnm: only binary PGM (P5) and PPM (P6) are supported");
  std::size_t at = 2;
  std::uint64_t v[3] = {};
  for (auto& x : v) {
    for (;;) {  // whitespace and comments
      while (at < n && (b[at] == ' ' || b[at] == '\t' || b[at] == '\n' || b[at] == '\r' || b[at] == '\v' ||
                        b[at] == '\f'))
        ++at;
      if (at < n && b[at] == '#') {
        while (at < n && b[at] != '\n' && b[at] != '\r') ++at;
        continue;
      }
      break;
    }
    if (at >= n) return make_error(errc::truncated, "pnm: file ends inside the header");
    if (b[at] < '0' || b[at] > '9') return make_error(errc::malformed, "pnm: bad header number");
    while (at < n && b[at] >= '0' && b[at] <= '9') {
      x = x * 10 + (b[at++] - '0');
      if (x > 0x7FFFFFFF) return make_error(errc::malformed, "pnm: header number too large");
    }
  }
  if (v[0] == 0 || v[1] == 0 || v[2] == 0 || v[2] > 65535)
    return make_error(errc::malformed, "pnm: bad header");
  ++at;  // the single whitespace byte after maxval
  const std::uint64_t need = v[0] * v[1] * (b[1] == '6' ? 3u : 1u) * (v[2] > 255 ? 2u : 1u);
  if (at > n || n - at < need) return make_error(errc::truncated, "pnm: file ends inside the pixel data");
  return ok();
}

inline result<void> check_tga(std::span<const std::uint8_t> b) {
  const std::size_t n = b.size();
  if (n < 18) return make_error(errc::truncated, "tga: file ends inside the header");
  const unsigned type = b[2], cmap_len = read_le16(b.data() + 5), cmap_bits = b[7];
  const std::uint64_t w = read_le16(b.data() + 12), h = read_le16(b.data() + 14);
  const unsigned bpp = b[16];
  std::uint64_t at = 18 + std::uint64_t{b[0]};
  if (b[1] == 1) at += std::uint64_t{cmap_len} * ((cmap_bits + 7) / 8);
  if (at > n) return make_error(errc::truncated, "tga: file ends inside the colour map");
  const std::uint64_t pb = (bpp + 7) / 8, total = w * h;
  if (type < 8) {
    if (n - at < total * pb) return make_error(errc::truncated, "tga: file ends inside the pixel data");
    return ok();
  }
  std::uint64_t done = 0;
  while (done < total) {
    if (at >= n) return make_error(errc::truncated, "tga: file ends inside the pixel data");
    const std::uint8_t head = b[at++];
    const std::uint64_t count = (head & 0x7Fu) + 1u;
    const std::uint64_t bytes = (head & 0x80u) ? pb : pb * count;
    if (n - at < bytes) return make_error(errc::truncated, "tga: file ends inside the pixel data");
    at += bytes;
    done += count;
  }
  return ok();
}

/// Structure check for the formats stb_image decodes; formats without a check pass.
inline result<void> check_image_structure(media_format f, std::span<const std::uint8_t> b) {
  switch (f) {
    case media_format::jpeg: return check_jpeg(b);
    case media_format::png: return check_png(b);
    case media_format::bmp: return check_bmp(b);
    case media_format::gif: return check_gif(b);
    case media_format::pnm: return check_pnm(b);
    case media_format::tga: return check_tga(b);
    default: return ok();
  }
}

}  // namespace mmllm::media::detail
