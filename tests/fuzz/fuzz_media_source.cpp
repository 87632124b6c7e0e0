// libFuzzer target: the text and protocol parsers of media sources — base64 (with a
// round-trip check), data: URIs, http(s) URLs and redirect resolution, the incremental HTTP
// response parser fed in fuzzer-chosen pieces, magic-byte sniffing and EXIF parsing.
#include <mmllm/media/base64.hpp>
#include <mmllm/media/data_uri.hpp>
#include <mmllm/media/detail/http_parse.hpp>
#include <mmllm/media/image_orientation.hpp>
#include <mmllm/media/media_format.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

namespace media = mmllm::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)media::sniff_format(bytes);
  (void)media::jpeg_exif_orientation(bytes);
  if (auto b = media::decode_base64(text, 1 << 16)) {
    auto again = media::decode_base64(media::encode_base64(*b));
    if (!again || *again != *b) std::abort();
  }
  (void)media::parse_data_uri(text, 1 << 16);
  if (auto u = media::detail::parse_http_url(text)) {
    if (u->target.empty() || u->target.front() != '/' || u->host.empty()) std::abort();
    auto again = media::detail::parse_http_url(u->str());
    if (!again || again->str() != u->str()) std::abort();
    (void)media::detail::resolve_redirect(*u, text.substr(text.size() / 2));
  }
  // HTTP response: the first byte picks the piece size, the rest is the stream.
  if (size > 1) {
    const std::size_t piece = 1 + data[0] % 64;
    media::detail::http_response_parser p(1 << 16, 1 << 12);
    bool failed = false;
    for (std::size_t at = 1; at < size && !failed; at += piece) {
      const std::size_t n = at + piece <= size ? piece : size - at;
      failed = !p.feed(bytes.subspan(at, n));
    }
    if (!failed && p.done() && p.body().size() > (1 << 16)) std::abort();
    if (!failed) (void)p.finish_eof();
  }
  return 0;
}
