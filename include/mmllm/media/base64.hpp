// mmllm/media/base64.hpp — base64 (RFC 4648) decoding with a size cap, and encoding.
//
// `decode_base64` accepts the standard alphabet and the URL-safe one ('-', '_'), with or
// without '=' padding, and ignores ASCII whitespace (line-wrapped MIME base64). Anything
// else — a stray character, data after the padding, an impossible length — is an error
// that names the offset. The decoded size is checked against `max_bytes` before allocating.
//
//   auto bytes = mmllm::media::decode_base64(text, 20 << 20);
//   std::string text = mmllm::media::encode_base64(bytes);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmllm/core/result.hpp"

namespace mmllm::media {

namespace detail {
/// 0..63 for alphabet characters, 64 for whitespace, 65 for '=', 255 otherwise.
inline const std::array<std::uint8_t, 256>& base64_table() {
  static const std::array<std::uint8_t, 256> t = [] {
    std::array<std::uint8_t, 256> a{};
    a.fill(255);
    const std::string_view chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < chars.size(); ++i)
      a[static_cast<unsigned char>(chars[i])] = static_cast<std::uint8_t>(i);
    a['-'] = 62;
    a['_'] = 63;
    for (const char c : {' ', '\t', '\n', '\r', '\f', '\v'}) a[static_cast<unsigned char>(c)] = 64;
    a['='] = 65;
    return a;
  }();
  return t;
}
}  // namespace detail

/// Decodes base64 text; more than `max_bytes` of output is refused before allocating.
inline result<std::vector<std::uint8_t>> decode_base64(std::string_view text,
                                                       std::size_t max_bytes = std::size_t{1} << 30) {
  const auto& t = detail::base64_table();
  // Upper bound of the output size, from the non-whitespace characters.
  if (text.size() / 4 * 3 > max_bytes + 3) {
    std::size_t chars = 0;
    for (const char c : text) chars += t[static_cast<unsigned char>(c)] != 64;
    if (chars / 4 * 3 > max_bytes + 3)
      return make_error(errc::resource_limit, "base64: decoded data would exceed ", std::to_string(max_bytes),
                        " bytes");
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int n = 0;        // sextets in acc
  int padding = 0;  // '=' seen
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint8_t v = t[static_cast<unsigned char>(text[i])];
    if (v == 64) continue;
    if (v == 65) {
      ++padding;
      continue;
    }
    if (v == 255)
      return make_error(errc::malformed, "base64: invalid character at offset ", std::to_string(i));
    if (padding != 0)
      return make_error(errc::malformed, "base64: data after '=' padding at offset ", std::to_string(i));
    acc = (acc << 6) | v;
    if (++n == 4) {
      out.push_back(static_cast<std::uint8_t>(acc >> 16));
      out.push_back(static_cast<std::uint8_t>(acc >> 8));
      out.push_back(static_cast<std::uint8_t>(acc));
      acc = 0;
      n = 0;
    }
  }
  if (n == 1) return make_error(errc::malformed, "base64: truncated (a single trailing character)");
  if (n == 2) out.push_back(static_cast<std::uint8_t>(acc >> 4));
  if (n == 3) {
    out.push_back(static_cast<std::uint8_t>(acc >> 10));
    out.push_back(static_cast<std::uint8_t>(acc >> 2));
  }
  if (padding > 2 || (padding != 0 && (n == 0 || padding != 4 - n)))
    return make_error(errc::malformed, "base64: wrong '=' padding");
  if (out.size() > max_bytes)
    return make_error(errc::resource_limit, "base64: decoded data exceeds ", std::to_string(max_bytes),
                      " bytes");
  return out;
}

/// Standard base64 with padding.
inline std::string encode_base64(std::span<const std::uint8_t> data) {
  static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += chars[v >> 18];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += chars[v & 63];
  }
  if (i + 1 == data.size()) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out += chars[v >> 18];
    out += chars[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += chars[v >> 18];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace mmllm::media
