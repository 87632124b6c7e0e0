// mmllm/media/data_uri.hpp — RFC 2397 data: URIs ("data:image/png;base64,iVBOR…").
//
// `parse_data_uri` splits the media type (with its parameters) from the payload and decodes
// the payload — base64 when the header ends in ";base64", percent-encoding otherwise — with a
// size cap. The declared media type is kept for information only: callers sniff the bytes
// (media_format.hpp) to decide what the data is.
//
//   auto d = mmllm::media::parse_data_uri(url, 20 << 20);   // d->mime_type, d->bytes
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/base64.hpp"

namespace mmllm::media {

struct data_uri {
  std::string mime_type;  ///< lower-cased type/subtype; "text/plain" when omitted
  std::vector<std::uint8_t> bytes;
};

namespace detail {
inline bool iequals_prefix(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
/// %XX decoding; `max_bytes` caps the output.
inline result<std::vector<std::uint8_t>> percent_decode(std::string_view s, std::size_t max_bytes) {
  std::vector<std::uint8_t> out;
  out.reserve(std::min(s.size(), max_bytes));
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max_bytes)
      return make_error(errc::resource_limit, "data URI: payload exceeds ", std::to_string(max_bytes),
                        " bytes");
    if (s[i] != '%') {
      out.push_back(static_cast<std::uint8_t>(s[i]));
      continue;
    }
    if (i + 2 >= s.size() || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0)
      return make_error(errc::malformed, "data URI: bad percent escape at offset ", std::to_string(i));
    out.push_back(static_cast<std::uint8_t>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
    i += 2;
  }
  return out;
}
}  // namespace detail

/// True when `s` starts with "data:" (any case).
inline bool is_data_uri(std::string_view s) noexcept { return detail::iequals_prefix(s, "data:"); }

/// Parses a data: URI; a payload larger than `max_bytes` is refused before decoding it all.
inline result<data_uri> parse_data_uri(std::string_view uri, std::size_t max_bytes = std::size_t{1} << 30) {
  if (!is_data_uri(uri)) return make_error(errc::invalid_argument, "data URI: does not start with 'data:'");
  const std::string_view rest = uri.substr(5);
  const std::size_t comma = rest.find(',');
  if (comma == std::string_view::npos)
    return make_error(errc::malformed, "data URI: no ',' before the payload");
  std::string_view header = rest.substr(0, comma);
  const std::string_view payload = rest.substr(comma + 1);
  bool base64 = false;
  if (header.size() >= 7 && detail::iequals_prefix(header.substr(header.size() - 7), ";base64")) {
    base64 = true;
    header.remove_suffix(7);
  }
  data_uri out;
  const std::string_view type = header.substr(0, header.find(';'));
  for (const char c : type) out.mime_type += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.mime_type.empty()) out.mime_type = "text/plain";
  if (base64) {
    MMLLM_TRY_ASSIGN(out.bytes, decode_base64(payload, max_bytes));
  } else {
    MMLLM_TRY_ASSIGN(out.bytes, detail::percent_decode(payload, max_bytes));
  }
  if (out.bytes.empty()) return make_error(errc::malformed, "data URI: empty payload");
  return out;
}

}  // namespace mmllm::media
