// Image preprocessing against the peer's recorded encoder inputs (synthetic/mm/*/preproc_*),
// bit for bit, plus geometry facts of the tiling schemes.
#include <mmllm/media/image_decode.hpp>
#include <mmllm/media/image_normalize.hpp>
#include <mmllm/media/image_resize.hpp>
#include <mmllm/media/image_tiling.hpp>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;
using mmllm::test::fixture_path;
using nlohmann::json;

namespace {

json read_json(const std::string& rel) { return json::parse(mmllm::test::read_text(fixture_path(rel))); }

const media::image_u8& test_image() {
  static const media::image_u8 img = [] {
    auto r = media::decode_image(mmllm::test::read_bytes(fixture_path("media/test-1.jpeg")),
                                 media::image_decode_options::llama_cpp());
    REQUIRE(r);
    return std::move(r).value();
  }();
  return img;
}

struct fixture {
  json config;
  json reference;
  std::array<float, 3> mean{};
  std::array<float, 3> stddev{};
  int image_size = 0;
  int patch_size = 0;
};

fixture load_fixture(const std::string& name) {
  fixture f;
  f.config = read_json("synthetic/mm/" + name + "/config.json");
  f.reference = read_json("synthetic/mm/" + name + "/reference.json");
  const auto& hp = f.config.at("hparams");
  for (int c = 0; c < 3; ++c) {
    f.mean[c] = hp.at("image_mean")[c].get<float>();
    f.stddev[c] = hp.at("image_std")[c].get<float>();
  }
  f.image_size = hp.at("image_size").get<int>();
  f.patch_size = hp.at("patch_size").get<int>();
  return f;
}

/// The preprocessed arrays of the fixture's image chunks, in chunk order.
std::vector<std::pair<std::vector<float>, std::vector<int>>> recorded_inputs(const fixture& f) {
  std::vector<std::pair<std::vector<float>, std::vector<int>>> out;
  for (const auto& chunk : f.reference.at("tokenization").at("chunks")) {
    if (chunk.at("type") != "image") continue;
    for (const auto& name : chunk.at("preprocessed")) {
      const auto& arr = f.reference.at("arrays").at(name.get<std::string>());
      std::string file = arr.at("file").get<std::string>();
      REQUIRE(file.rfind("shared/fixtures/", 0) == 0);
      file = file.substr(std::strlen("shared/fixtures/"));
      out.emplace_back(mmllm::test::read_f32(fixture_path(file)), arr.at("shape").get<std::vector<int>>());
    }
  }
  return out;
}

void require_exact(const media::image_f32& got, const std::vector<float>& want,
                   const std::vector<int>& shape) {
  REQUIRE(shape.size() == 3);
  REQUIRE(got.height == shape[0]);
  REQUIRE(got.width == shape[1]);
  REQUIRE(shape[2] == 3);
  REQUIRE(got.layout == media::pixel_layout::hwc);
  REQUIRE(got.data.size() == want.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    mismatches += std::memcmp(&got.data[i], &want[i], sizeof(float)) != 0;
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("mlp (LLaVA-1.5): letterbox with (122,116,104), CLIP normalization — exact") {
  const fixture f = load_fixture("mlp");
  const auto inputs = recorded_inputs(f);
  REQUIRE(inputs.size() == 1);
  const auto g = media::letterbox_layout(640, 488, f.image_size, f.image_size);
  CHECK(g.content_width == 112);  // README: test-1.jpeg → 112×86 pasted at y = 13
  CHECK(g.content_height == 86);
  CHECK(g.offset_y == 13);
  auto boxed = media::letterbox(test_image(), f.image_size, f.image_size, {122, 116, 104});
  REQUIRE(boxed);
  CHECK(boxed->at(0, 0, 0) == 122);
  auto x = media::normalize(*boxed, f.mean, f.stddev);
  REQUIRE(x);
  require_exact(*x, inputs[0].first, inputs[0].second);
}

TEST_CASE("gemma3: letterbox with black padding — exact") {
  const fixture f = load_fixture("gemma3");
  const auto inputs = recorded_inputs(f);
  REQUIRE(inputs.size() == 1);
  auto boxed = media::letterbox(test_image(), f.image_size, f.image_size, {0, 0, 0});
  REQUIRE(boxed);
  auto x = media::normalize(*boxed, f.mean, f.stddev);
  REQUIRE(x);
  require_exact(*x, inputs[0].first, inputs[0].second);
}

TEST_CASE("qwen2vl: smart resize (min/max pixels) + bilinear stretch — exact") {
  const fixture f = load_fixture("qwen2vl");
  const auto inputs = recorded_inputs(f);
  REQUIRE(inputs.size() == 1);
  const int p = f.patch_size;
  const int align = 2 * p;
  const auto size = media::smart_resize_size({640, 488}, align, 8 * align * align, 4096 * align * align);
  CHECK(size == media::image_size{644, 504});  // README: 46×36 patches → 23×18 tokens
  auto resized = media::qwen2vl_resize(test_image(), p, 8 * align * align, 4096 * align * align);
  REQUIRE(resized);
  auto x = media::normalize(*resized, f.mean, f.stddev);
  REQUIRE(x);
  require_exact(*x, inputs[0].first, inputs[0].second);
  auto patches = media::patchify(*x, p);
  REQUIRE(patches);
  CHECK(patches->grid_x == 46);
  CHECK(patches->grid_y == 36);
  // patch (px, py) element (c, ky, kx) is pixel (px·p + kx, py·p + ky) channel c
  const std::size_t idx = (std::size_t(7) * 46 + 11) * patches->dim() + (2 * p + 5) * p + 9;
  CHECK(patches->data[idx] == x->at(11 * p + 9, 7 * p + 5, 2));
}

TEST_CASE("idefics3: bicubic tiles (row-major) then the letterboxed overview — exact") {
  const fixture f = load_fixture("idefics3");
  const auto inputs = recorded_inputs(f);
  const int longest = f.config.at("hparams").at("preproc_image_size").get<int>();
  auto tiles = media::idefics3_tiles(test_image(), f.image_size, longest);
  REQUIRE(tiles);
  CHECK(tiles->grid_x == 3);  // 192×128 → 3 columns × 2 rows
  CHECK(tiles->grid_y == 2);
  const auto order = tiles->peer_order();
  REQUIRE(order.size() == inputs.size());
  REQUIRE(order.size() == 7);
  for (std::size_t i = 0; i < order.size(); ++i) {
    INFO("image chunk " << i);
    auto x = media::normalize(*order[i], f.mean, f.stddev);
    REQUIRE(x);
    require_exact(*x, inputs[i].first, inputs[i].second);
  }
}

TEST_CASE("normalize: CHW holds the same values as HWC") {
  auto hwc = media::normalize(test_image(), media::clip_image_mean, media::clip_image_std);
  auto chw =
      media::normalize(test_image(), media::clip_image_mean, media::clip_image_std, media::pixel_layout::chw);
  REQUIRE(hwc);
  REQUIRE(chw);
  CHECK(chw->data[(2 * 488 + 100) * 640 + 200] == hwc->at(200, 100, 2));
  CHECK(media::to_layout(*hwc, media::pixel_layout::chw).data == chw->data);
  CHECK(media::to_layout(*chw, media::pixel_layout::hwc).data == hwc->data);
  const float v =
      (float(test_image().at(3, 4, 1)) / 255.0f - media::clip_image_mean[1]) / media::clip_image_std[1];
  CHECK(hwc->at(3, 4, 1) == v);
}

TEST_CASE("peer resizers follow the documented formulas") {
  // A small image with distinct values; oracles written from the fixtures README formulas.
  media::image_u8 src = media::image_u8::filled(5, 4, {0, 0, 0});
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c)
        src.at(x, y, c) = static_cast<std::uint8_t>((x * 53 + y * 31 + c * 97) % 256);
  auto bl = media::resize_bilinear_peer(src, 7, 3);
  REQUIRE(bl);
  const float xr = float(5 - 1) / 7, yr = float(4 - 1) / 3;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) {
        const float px = xr * float(x), py = yr * float(y);
        const int x0 = int(px), y0 = int(py);
        const float fx = px - float(x0), fy = py - float(y0);
        auto s = [&](int xx, int yy) { return float(src.at(xx, yy, c)); };
        const float top = s(x0, y0) + (s(x0 + 1, y0) - s(x0, y0)) * fx;
        const float bot = s(x0, y0 + 1) + (s(x0 + 1, y0 + 1) - s(x0, y0 + 1)) * fx;
        CHECK(int(bl->at(x, y, c)) == int(std::uint8_t(top + (bot - top) * fy)));
      }
  // The peer's bilinear is not the identity at the same size (positions x·(W−1)/W)…
  auto same = media::resize_bilinear_peer(src, 5, 4);
  REQUIRE(same);
  CHECK_FALSE(*same == src);
  // …but resize() and letterbox() return a copy when the size already matches.
  CHECK(*media::resize(src, 5, 4) == src);
  CHECK(*media::letterbox(src, 5, 4, {1, 2, 3}) == src);
  // Bicubic of a constant image is that constant; 1-pixel sources work (edge clamping).
  const auto flat = media::image_u8::filled(3, 2, {10, 200, 255});
  auto bc = media::resize_bicubic_peer(flat, 9, 5);
  REQUIRE(bc);
  CHECK(*bc == media::image_u8::filled(9, 5, {10, 200, 255}));
  const auto dot = media::image_u8::filled(1, 1, {7, 8, 9});
  CHECK(*media::resize_bilinear_peer(dot, 4, 4) == media::image_u8::filled(4, 4, {7, 8, 9}));
  CHECK(*media::resize_bicubic_peer(dot, 4, 4) == media::image_u8::filled(4, 4, {7, 8, 9}));
  // Errors instead of UB.
  CHECK_FALSE(media::resize_bilinear_peer(src, 0, 4));
  CHECK_FALSE(media::resize_bicubic_peer(media::image_u8{}, 4, 4));
  CHECK_FALSE(media::crop(src, 3, 0, 3, 1));
  CHECK_FALSE(media::patchify(media::image_f32{}, 14));
}

TEST_CASE("smart resize and longest-edge sizes") {
  // Qwen2-VL defaults for patch 14 (align 28): 8..4096 tokens of 28×28 pixels.
  const int a = 28, mn = 8 * a * a, mx = 4096 * a * a;
  CHECK(media::smart_resize_size({28, 28}, a, mn, mx) == media::image_size{84, 84});  // up to >= 8 tokens
  CHECK(media::smart_resize_size({1, 1}, a, mn, mx).width % a == 0);
  const auto big = media::smart_resize_size({8000, 6000}, a, mn, mx);
  CHECK(big.width % a == 0);
  CHECK(big.height % a == 0);
  CHECK(static_cast<long>(big.width) * big.height <= mx);
  CHECK(media::longest_edge_size({640, 488}, 64, 160) == media::image_size{192, 128});
  CHECK(media::longest_edge_size({20, 10}, 64, 160) == media::image_size{192, 128});  // small images grow
}

TEST_CASE("llava-uhd and pinpoint slice plans") {
  // No slices: an image within one slice only gets an overview.
  const auto small = media::llava_uhd_plan({300, 200}, 448, 14);
  CHECK(small.slices.empty());
  CHECK(small.overview == media::image_size{448, 448});
  // 1344×896 with 448-pixel slices: area ratio 6 → grids of 5..7 slices; 3×2 matches the
  // aspect ratio exactly (log 1.5), refined to 3·448 × 2·448.
  const auto p = media::llava_uhd_plan({1344, 896}, 448, 14);
  CHECK(p.grid == media::image_size{3, 2});
  CHECK(p.refined == media::image_size{1344, 896});
  REQUIRE(p.slices.size() == 6);
  CHECK(p.slices[4] == media::slice_rect{448, 448, 448, 448});
  CHECK(p.overview.width % 14 == 0);
  CHECK(p.overview.width * p.overview.height <= 448 * 448 + 14 * 448 * 2);
  auto imgs = media::slice_image(media::image_u8::filled(1344, 896, {1, 2, 3}), p);
  REQUIRE(imgs);
  CHECK(imgs->size() == 7);
  CHECK((*imgs)[0].width == p.overview.width);
  CHECK((*imgs)[6] == media::image_u8::filled(448, 448, {1, 2, 3}));
  // LLaVA-1.6 pinpoints: the most effective pixels first (111×200 keeps 100×180 in 100×200,
  // only 55×100 in the others), then the least wasted area; 200×200 would keep all 111×200.
  std::vector<media::image_size> cands = {{100, 100}, {200, 100}, {100, 200}};
  CHECK(media::select_best_resolution({111, 200}, cands) == media::image_size{100, 200});
  cands.push_back({200, 200});
  CHECK(media::select_best_resolution({111, 200}, cands) == media::image_size{200, 200});
  const std::vector<media::image_size> pins = {{336, 672}, {672, 336}, {672, 672}};
  const auto pp = media::pinpoint_plan({1000, 500}, 336, pins);
  CHECK(pp.refined == media::image_size{672, 336});
  CHECK(pp.grid == media::image_size{2, 1});
  CHECK(pp.slices.size() == 2);
  CHECK(pp.pad_refined);
}
