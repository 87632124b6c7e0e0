// mmllm/media/content_hash.hpp — stable content hashes of decoded media, for encoder caching.
//
// `content_hash(image)` and `content_hash(pcm)` hash what the encoder will see (decoded pixels
// with their width and height; PCM samples with their rate), so the same picture sent as PNG
// or as a data: URI, or fetched twice, gets the same key, while any changed pixel changes it.
// The hash is 128 bits: two XXH64 digests (the published xxHash64 algorithm, seeds 0 and 1)
// of a small header followed by the data — stable across runs, builds and machines
// (little-endian byte order of the samples is fixed). `hex()` gives 32 lowercase hex digits.
//
//   std::string key = mmllm::media::content_hash(img).hex();
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "mmllm/media/audio.hpp"
#include "mmllm/media/image.hpp"

namespace mmllm::media {

/// XXH64 of `data` (Yann Collet's xxHash64, as the reference implementation).
inline std::uint64_t xxh64(std::span<const std::uint8_t> data, std::uint64_t seed = 0) noexcept {
  constexpr std::uint64_t p1 = 11400714785074694791ull, p2 = 14029467366897019727ull,
                          p3 = 1609587929392839161ull, p4 = 9650029242287828579ull,
                          p5 = 2870177450012600261ull;
  auto rd64 = [](const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  };
  auto rd32 = [](const std::uint8_t* p) {
    return static_cast<std::uint64_t>(p[0]) | (static_cast<std::uint64_t>(p[1]) << 8) |
           (static_cast<std::uint64_t>(p[2]) << 16) | (static_cast<std::uint64_t>(p[3]) << 24);
  };
  auto round = [&](std::uint64_t acc, std::uint64_t in) { return std::rotl(acc + in * p2, 31) * p1; };
  auto merge = [&](std::uint64_t h, std::uint64_t v) { return (h ^ round(0, v)) * p1 + p4; };
  const std::uint8_t* p = data.data();
  const std::size_t len = data.size();
  const std::uint8_t* const end = p + len;
  std::uint64_t h = 0;
  if (len >= 32) {
    std::uint64_t v1 = seed + p1 + p2, v2 = seed + p2, v3 = seed, v4 = seed - p1;
    const std::uint8_t* const limit = end - 32;
    do {
      v1 = round(v1, rd64(p));
      v2 = round(v2, rd64(p + 8));
      v3 = round(v3, rd64(p + 16));
      v4 = round(v4, rd64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = seed + p5;
  }
  h += static_cast<std::uint64_t>(len);
  while (end - p >= 8) {
    h ^= round(0, rd64(p));
    h = std::rotl(h, 27) * p1 + p4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= rd32(p) * p1;
    h = std::rotl(h, 23) * p2 + p3;
    p += 4;
  }
  while (p < end) {
    h ^= *p++ * p5;
    h = std::rotl(h, 11) * p1;
  }
  h ^= h >> 33;
  h *= p2;
  h ^= h >> 29;
  h *= p3;
  h ^= h >> 32;
  return h;
}

/// A 128-bit content hash.
struct media_hash {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  /// 32 lowercase hex digits, hi first.
  [[nodiscard]] std::string hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(32, '0');
    for (int i = 0; i < 16; ++i) {
      s[static_cast<std::size_t>(15 - i)] = digits[(hi >> (4 * i)) & 15u];
      s[static_cast<std::size_t>(31 - i)] = digits[(lo >> (4 * i)) & 15u];
    }
    return s;
  }
  friend bool operator==(const media_hash&, const media_hash&) = default;
};

namespace detail {
/// Hash of a tagged header and a payload: each digest seeds the payload hash with the
/// header hash, so (header, payload) pairs are hashed as a whole.
inline media_hash tagged_hash(std::span<const std::uint8_t> header,
                              std::span<const std::uint8_t> payload) noexcept {
  return {xxh64(payload, xxh64(header, 0)), xxh64(payload, xxh64(header, 1))};
}
inline void put_le32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
}  // namespace detail

/// Hash of raw bytes (e.g. an undecoded file).
inline media_hash content_hash(std::span<const std::uint8_t> bytes) noexcept {
  static constexpr std::uint8_t tag[4] = {'r', 'a', 'w', '1'};
  return detail::tagged_hash(tag, bytes);
}

/// Hash of decoded RGB pixels and their size.
inline media_hash content_hash(const image_u8& img) noexcept {
  std::uint8_t header[12] = {'r', 'g', 'b', '1'};
  detail::put_le32(header + 4, static_cast<std::uint32_t>(img.width));
  detail::put_le32(header + 8, static_cast<std::uint32_t>(img.height));
  return detail::tagged_hash(header, img.pixels);
}

/// Hash of mono PCM samples (as little-endian float32) and their rate.
inline media_hash content_hash(const audio_pcm& pcm) {
  std::uint8_t header[8] = {'p', 'c', 'm', '1'};
  detail::put_le32(header + 4, static_cast<std::uint32_t>(pcm.sample_rate));
  if constexpr (std::endian::native == std::endian::little) {
    return detail::tagged_hash(
        header, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(pcm.samples.data()),
                                              pcm.samples.size() * sizeof(float)));
  } else {
    std::string le(pcm.samples.size() * 4, '\0');
    for (std::size_t i = 0; i < pcm.samples.size(); ++i) {
      std::uint32_t u = 0;
      std::memcpy(&u, &pcm.samples[i], 4);
      detail::put_le32(reinterpret_cast<std::uint8_t*>(le.data()) + 4 * i, u);
    }
    return detail::tagged_hash(
        header, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(le.data()), le.size()));
  }
}

}  // namespace mmllm::media
