// libFuzzer target: arbitrary bytes through the image decoders (stb_image behind the
// container checks, WebP when built in), both alpha modes and EXIF orientation, then the
// peer preprocessing kernels on whatever decodes. Errors are fine; crashes, sanitizer reports
// and inconsistent results are not. Seeds: the fixture media directory (fuzz_image.seed_dirs).
#include <mmllm/media/image_decode.hpp>
#include <mmllm/media/image_normalize.hpp>
#include <mmllm/media/image_resize.hpp>
#include <mmllm/media/image_tiling.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace media = mmllm::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  media::image_decode_options opt;
  opt.max_pixels = std::size_t{1} << 22;  // keep allocations within the fuzzer's memory limit
  (void)media::probe_image(bytes);
  (void)media::jpeg_exif_orientation(bytes);
  auto a = media::decode_image(bytes, opt);
  opt.rgb.alpha = media::alpha_mode::ignore;
  opt.apply_exif_orientation = false;
  auto b = media::decode_image(bytes, opt);
  if (a.has_value() != b.has_value()) {
    std::fprintf(stderr, "alpha/orientation modes disagree on decodability\n");
    std::abort();
  }
  if (!b) return 0;
  const media::image_u8& img = *b;
  if (img.empty() || img.pixels.size() != img.pixel_count() * 3) std::abort();
  if (a->pixel_count() != img.pixel_count()) std::abort();
  // Preprocessing on small targets (the image itself may be up to 4 Mpixel).
  auto boxed = media::letterbox(img, 24, 24, {122, 116, 104});
  if (!boxed || boxed->width != 24) std::abort();
  if (img.pixel_count() <= 256 * 256) {
    auto cubic = media::resize_bicubic_peer(img, 17, 9);
    if (!cubic) std::abort();
    auto tiles = media::idefics3_tiles(img, 16, 40);
    if (!tiles || tiles->tiles.size() != static_cast<std::size_t>(tiles->grid_x * tiles->grid_y))
      std::abort();
  }
  auto norm =
      media::normalize(*boxed, media::clip_image_mean, media::clip_image_std, media::pixel_layout::chw);
  if (!norm || !media::patchify(*norm, 8)) std::abort();
  return 0;
}
