// Projector types without peer fixtures (pixtral, internvl, lfm2, qwen2.5vl, voxtral, LLaVA
// feature layers), on writer-made mmproj files with the converter's names: loading, token
// counts against the peer's formulas (clip_n_output_tokens), output shapes, and properties
// that can be checked by hand (window attention with one window == full attention, [IMG_BREAK]
// rows, thread-count independence, attention permutation equivariance and segments, 2-D rope
// against its formula, position-grid resizing). Also: unknown projector types and
// mismatched language models are refused by name.
// GCC 12 reports a false -Wstringop-overflow inside std::vector when gguf_writer encodes a
// bool (the synthetic files set clip.has_*_encoder); the pragma must precede the includes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/models/multimodal_encoder.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "../../bench/mm_synth_mmproj.hpp"
#include "mm_fixture.hpp"

namespace mm = mmllm::mm;
using mmllm::bench::synth_spec;

namespace {

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmllm_test_" + name + ".gguf")).string();
}

mm::multimodal_encoder load_spec(const synth_spec& s, const std::string& name) {
  const std::string path = temp_file(name);
  auto w = mmllm::bench::write_synth_mmproj(path, s);
  if (!w) FAIL(w.error().what());
  auto e = mm::multimodal_encoder::open(path);
  std::filesystem::remove(path);
  if (!e) FAIL(e.error().what());
  return std::move(*e);
}

synth_spec vision_spec(const std::string& proj) {
  synth_spec s;
  s.projector = proj;
  s.n_embd = 32;
  s.n_head = 2;
  s.n_ff = 48;
  s.n_layer = 2;
  s.image_size = 32;
  s.patch_size = 8;
  s.n_embd_text = 24;
  return s;
}

std::vector<float> encode_first(mmllm::compute::simd& cpu, const mm::multimodal_encoder& e,
                                const mmllm::media::image_u8& img, std::size_t* n_tokens = nullptr,
                                mm::vision_input* in_out = nullptr) {
  auto in = e.vision()->preprocess(img);
  if (!in) FAIL(in.error().what());
  const std::size_t n = e.vision()->n_tokens(in->entries[0]);
  std::vector<float> out(n * e.n_embd_out());
  auto r = e.vision()->encode(cpu, in->entries[0], out);
  if (!r) FAIL(r.error().what());
  for (float v : out) REQUIRE(std::isfinite(v));
  if (n_tokens != nullptr) *n_tokens = n;
  if (in_out != nullptr) *in_out = std::move(*in);
  return out;
}

mmllm::media::image_u8 gradient(int w, int h) {
  mmllm::media::image_u8 img = mmllm::media::image_u8::filled(w, h, {0, 0, 0});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.at(x, y, c) = static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50) % 256);
  return img;
}

}  // namespace

TEST_CASE("pixtral: token count, [IMG_BREAK] rows, patch merger", "[mm][synthetic]") {
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  synth_spec s = vision_spec("pixtral");
  s.use_gelu = false;
  s.use_silu = true;
  s.gated_ffn = true;
  s.patch_bias = false;
  s.pos_rows = 0;
  s.post_ln = false;
  const auto e = load_spec(s, "pixtral");
  REQUIRE(e.vision()->projector_name() == "pixtral");
  const mmllm::media::image_u8 img = gradient(40, 24);
  std::size_t n = 0;
  mm::vision_input in;
  const std::vector<float> out = encode_first(cpu, e, img, &n, &in);
  // the peer: size kept within [8, 1024] tokens, sides multiples of patch·merge (merge 1)
  const auto& ent = in.entries[0];
  CHECK(ent.width % 8 == 0);
  CHECK(ent.height % 8 == 0);
  const std::size_t px = static_cast<std::size_t>(ent.width / 8),
                    py = static_cast<std::size_t>(ent.height / 8);
  CHECK(n == px * py + py - 1);
  // [IMG_BREAK] after every row but the last: those rows are exactly the stored embedding
  const auto* px_impl = std::get_if<mm::pixtral_projector>(&e.vision()->impl());
  REQUIRE(px_impl != nullptr);
  const std::size_t t = e.n_embd_out();
  for (std::size_t r = 0; r + 1 < py; ++r) {
    const std::size_t row = (r + 1) * px + r;
    for (std::size_t c = 0; c < t; ++c) CHECK(out[row * t + c] == px_impl->img_break[c]);
  }
  CHECK(e.vision()->layout(in).back().text == "[IMG_END]");
  // Mistral Small 3.1 patch merger (2×2)
  s.patch_merger = true;
  s.spatial_merge_size = 2;
  const auto e2 = load_spec(s, "pixtral_merger");
  mm::vision_input in2;
  encode_first(cpu, e2, img, &n, &in2);
  const auto& ent2 = in2.entries[0];
  CHECK(ent2.width % 16 == 0);
  const std::size_t mx = static_cast<std::size_t>(ent2.width / 16),
                    my = static_cast<std::size_t>(ent2.height / 16);
  CHECK(n == mx * my + my - 1);
}

TEST_CASE("internvl: CLS dropped, pixel shuffle, token count", "[mm][synthetic]") {
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  synth_spec s = vision_spec("internvl");
  s.class_embd = true;
  s.layer_scale = true;
  s.scale_factor = 2;
  s.post_ln = false;
  s.pre_ln = true;
  const auto e = load_spec(s, "internvl");
  std::size_t n = 0;
  mm::vision_input in;
  encode_first(cpu, e, gradient(50, 30), &n, &in);
  CHECK(in.entries[0].width == 32);  // letterboxed to image_size²
  CHECK(n == (4 * 4) / 4);
  const auto l = e.vision()->layout(in);
  CHECK(l.front().text == "<img>");
  CHECK(l.back().text == "</img>");
}

TEST_CASE("lfm2: dynamic size, resized positions, token count", "[mm][synthetic]") {
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  synth_spec s = vision_spec("lfm2");
  s.scale_factor = 2;
  s.pos_rows = 16;  // a 4×4 table, resized to the patch grid
  const auto e = load_spec(s, "lfm2");
  std::size_t n = 0;
  mm::vision_input in;
  encode_first(cpu, e, gradient(300, 200), &n, &in);
  const auto& ent = in.entries[0];
  const int op = 8 * 2;
  CHECK(n == static_cast<std::size_t>(((ent.width + op - 1) / op) * ((ent.height + op - 1) / op)));
  CHECK(n >= 64);
  CHECK(n <= 256);
  // bilinear resize: the identity size copies, a constant table stays constant
  std::vector<float> table(4 * 4 * 3);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(i);
  CHECK(mm::resize_position_grid(table, 3, 4, 4, 4) == table);
  std::vector<float> flat(16 * 3, 2.5f);
  for (float v : mm::resize_position_grid(flat, 3, 4, 7, 5)) CHECK(std::fabs(v - 2.5f) < 1e-6f);
}

TEST_CASE("qwen2.5vl: one window equals full attention; results do not depend on threads",
          "[mm][synthetic]") {
  synth_spec s = vision_spec("qwen2.5vl_merger");
  s.patch_size = 14;
  s.image_size = 56;
  s.patch_bias = false;
  s.pos_rows = 0;
  s.second_patch_kernel = true;
  s.use_gelu = false;
  s.use_silu = true;
  s.gated_ffn = true;
  s.n_layer = 3;
  s.n_wa_pattern = 100;  // every block windowed
  const auto windowed = load_spec(s, "q25_win");
  s.n_wa_pattern = 1;  // every block full
  const auto full = load_spec(s, "q25_full");
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  // 112×112 → 8×8 patches → 4×4 merged tokens: one 112-px window
  const auto small = gradient(112, 112);
  std::size_t n = 0;
  const std::vector<float> a = encode_first(cpu, windowed, small, &n);
  CHECK(n == 16);
  CHECK(a == encode_first(cpu, full, small));
  // 224×224 → 4 windows: differs, and the output order is the row-major merged grid
  const auto big = gradient(224, 224);
  const std::vector<float> w = encode_first(cpu, windowed, big, &n);
  CHECK(n == 64);
  CHECK(w != encode_first(cpu, full, big));
  mmllm::compute::simd one;
  CHECK(w == encode_first(one, windowed, big));
  CHECK(windowed.use_mrope());
}

TEST_CASE("voxtral: pooled and stacked whisper output, 187 tokens per 30 s", "[mm][synthetic]") {
  synth_spec s;
  s.projector = "voxtral";
  s.audio = true;
  s.n_embd = 80;  // 4·80 is not a power of two: the peer's bit-mask padding still gives 187 rows
  s.n_head = 4;
  s.n_ff = 96;
  s.n_layer = 1;
  s.n_embd_text = 32;
  s.stack_factor = 4;
  s.use_gelu = false;
  s.eps = 1e-5f;
  const auto e = load_spec(s, "voxtral");
  REQUIRE(e.audio() != nullptr);
  mmllm::media::audio_pcm pcm{16000, std::vector<float>(16000 * 3)};
  for (std::size_t i = 0; i < pcm.samples.size(); ++i)
    pcm.samples[i] = 0.3f * std::sin(0.01f * static_cast<float>(i));
  auto in = e.audio()->preprocess(pcm);
  REQUIRE(in);
  REQUIRE(in->entries.size() == 1);
  CHECK(e.audio()->n_tokens(in->entries[0]) == 187);
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  std::vector<float> out(187 * 32);
  REQUIRE(e.audio()->encode(cpu, in->entries[0], out));
  for (float v : out) REQUIRE(std::isfinite(v));
  CHECK(e.audio()->layout(*in).size() == 1);  // no wrapper text
  // with 4·64 (a power of two) the peer's padding yields 188 rows and the peer aborts: an error here
  s.n_embd = 64;
  const auto bad = load_spec(s, "voxtral64");
  std::vector<float> out2(187 * 32);
  CHECK_FALSE(bad.audio()->encode(cpu, in->entries[0], out2));
}

TEST_CASE("LLaVA feature layers are concatenated", "[mm][synthetic]") {
  synth_spec s = vision_spec("mlp");
  s.class_embd = true;
  s.pre_ln = true;
  s.post_ln = false;
  s.n_layer = 3;
  s.feature_layers = {0, 2};
  s.use_gelu = false;
  const auto e = load_spec(s, "llava_fl");
  const auto* m = std::get_if<mm::llava_projector>(&e.vision()->impl());
  REQUIRE(m != nullptr);
  CHECK(m->n_run == 2);
  CHECK(m->feature_width() == 64);
  mmllm::compute::simd cpu;
  std::size_t n = 0;
  encode_first(cpu, e, gradient(20, 30), &n);
  CHECK(n == 16);
}

TEST_CASE("unknown projector types and mismatched language models are refused by name", "[mm][synthetic]") {
  synth_spec s = vision_spec("resampler");
  const std::string path = temp_file("unknown");
  REQUIRE(mmllm::bench::write_synth_mmproj(path, s));
  auto e = mm::multimodal_encoder::open(path);
  std::filesystem::remove(path);
  REQUIRE_FALSE(e);
  CHECK(e.error().message.find("'resampler'") != std::string::npos);
  synth_spec id = vision_spec("idefics3");
  id.scale_factor = 2;
  id.preproc_image_size = 64;
  const auto good = load_spec(id, "idefics3ok");
  auto r = good.check_text_model(65);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("n_embd = 65") != std::string::npos);
  CHECK(good.check_text_model(24));
}

TEST_CASE("attention: matches a double-precision reference, permutation-equivariant, segments",
          "[mm][kernels]") {
  const std::size_t n = 37, heads = 3, d = 8, w = heads * d;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(n * w), k(n * w), v(n * w);
  for (auto* a : {&q, &k, &v})
    for (float& x : *a) x = nd(rng);
  auto run = [&](auto& pol, const std::vector<float>& Q, const std::vector<float>& K,
                 const std::vector<float>& V, std::span<const std::size_t> segs) {
    std::vector<float> out(n * w);
    mm::encode_options o;
    o.attention_query_block = 5;
    auto r = mm::multi_head_attention(pol, mmllm::matrix_view<const float>(Q.data(), n, w),
                                      mmllm::matrix_view<const float>(K.data(), n, w),
                                      mmllm::matrix_view<const float>(V.data(), n, w),
                                      mmllm::matrix_view<float>(out.data(), n, w), heads, 0.3f, segs, o);
    REQUIRE(r);
    return out;
  };
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  mmllm::compute::scalar ref;
  const std::vector<float> out = run(cpu, q, k, v, {});
  // reference
  for (std::size_t h = 0; h < heads; ++h)
    for (std::size_t t = 0; t < n; ++t) {
      std::vector<double> s(n);
      double mx = -1e300, sum = 0;
      for (std::size_t u = 0; u < n; ++u) {
        double dot = 0;
        for (std::size_t j = 0; j < d; ++j)
          dot += static_cast<double>(q[t * w + h * d + j]) * k[u * w + h * d + j];
        s[u] = 0.3 * dot;
        mx = std::max(mx, s[u]);
      }
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (std::size_t j = 0; j < d; ++j) {
        double o = 0;
        for (std::size_t u = 0; u < n; ++u) o += s[u] / sum * v[u * w + h * d + j];
        CHECK(std::fabs(o - out[t * w + h * d + j]) < 1e-5);
      }
    }
  CHECK(mmllm::test::max_abs_diff(run(ref, q, k, v, {}), out) < 1e-5f);
  // permuting the tokens permutes the outputs
  std::vector<std::size_t> perm(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = (i * 11 + 3) % n;
  std::vector<float> qp(n * w), kp(n * w), vp(n * w);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < w; ++c) {
      qp[i * w + c] = q[perm[i] * w + c];
      kp[i * w + c] = k[perm[i] * w + c];
      vp[i * w + c] = v[perm[i] * w + c];
    }
  const std::vector<float> op = run(cpu, qp, kp, vp, {});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < w; ++c) CHECK(std::fabs(op[i * w + c] - out[perm[i] * w + c]) < 1e-5f);
  // segments: the same as attending within each segment alone; later tokens cannot see earlier ones
  const std::vector<std::size_t> ends{10, 25};
  const std::vector<float> seg = run(cpu, q, k, v, ends);
  std::vector<float> v2 = v;
  for (std::size_t i = 25; i < n; ++i)
    for (std::size_t c = 0; c < w; ++c) v2[i * w + c] += 100.0f;  // only the last segment may change
  const std::vector<float> seg2 = run(cpu, q, k, v2, ends);
  for (std::size_t i = 0; i < 25 * w; ++i) CHECK(seg[i] == seg2[i]);
  // thread count does not change any bit
  mmllm::compute::simd single;
  CHECK(run(single, q, k, v, ends) == seg);
}

TEST_CASE("pixtral's 2-D rope matches its formula", "[mm][kernels]") {
  // one token at (row 3, column 5), one head of 8: first half rotated by the row with
  // θ_i = 3·base^(-2i/4), second half by the column with θ_i = 5·base^(-2/8)·base^(-2i/4)
  const float base = 10000.0f;
  std::vector<float> x(8);
  for (int i = 0; i < 8; ++i) x[static_cast<std::size_t>(i)] = 0.1f * static_cast<float>(i + 1);
  std::vector<float> y = x;
  const std::int32_t ph[1] = {3}, pw[1] = {5};
  mmllm::compute::scalar ref;
  mm::detail::rope_2d(ref, mmllm::matrix_view<float>(y.data(), std::size_t{1}, std::size_t{8}), 1, ph, pw,
                      base, true);
  for (int half = 0; half < 2; ++half) {
    const double p = half == 0 ? 3.0 : 5.0;
    const double scale = half == 0 ? 1.0 : std::pow(base, -2.0 / 8.0);
    for (int i = 0; i < 2; ++i) {
      const double th = p * scale * std::pow(base, -2.0 * i / 4.0);
      const double a = x[static_cast<std::size_t>(half * 4 + 2 * i)],
                   b = x[static_cast<std::size_t>(half * 4 + 2 * i + 1)];
      CHECK(std::fabs(y[static_cast<std::size_t>(half * 4 + 2 * i)] - (a * std::cos(th) - b * std::sin(th))) <
            1e-5);
      CHECK(std::fabs(y[static_cast<std::size_t>(half * 4 + 2 * i + 1)] -
                      (a * std::sin(th) + b * std::cos(th))) < 1e-5);
    }
  }
}

TEST_CASE("the scalar reference policy reproduces the peer on a fixture", "[mm][kernels]") {
  mmllm::test::mm_fixture fx("idefics3");
  auto e = mm::multimodal_encoder::open(fx.mmproj_path());
  REQUIRE(e);
  auto in = e->vision()->preprocess(mmllm::test::test_image_peer());
  REQUIRE(in);
  mmllm::compute::scalar ref;
  std::vector<float> out(16 * 64);
  REQUIRE(e->vision()->encode(ref, in->entries[0], out));
  CHECK(mmllm::test::max_abs_diff(out, fx.array("embd_noflash_c1")) < 5e-3f);
}
