// Bounded randomized mutation of real and writer-made GGUF files: byte flips, truncations
// and hostile values written into the length/count/type/offset fields. Every mutant must
// either parse — and then expose only views inside the file (walked byte by byte, so ASan
// in CI would catch a stray read) — or fail with a clean format error. Deterministic
// (fixed seeds); sized to run in a few seconds under ASan.
#include <mmllm/io/gguf_reader.hpp>
#include <mmllm/io/gguf_writer.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"
#include "gguf_walk.hpp"

using mmllm::byte_source;
using mmllm::errc;
using mmllm::gguf_array;
using mmllm::gguf_reader;

namespace {

// A structural field of the file: its position and width (4 or 8 bytes).
struct field {
  std::size_t pos;
  std::size_t width;
};

std::vector<std::byte> writer_made() {
  mmllm::gguf_writer w;
  w.set_alignment(64);
  w.set("general.architecture", "llama")
      .set("llama.context_length", std::uint32_t{4096})
      .set("x.i64", std::int64_t{-5});
  w.set("x.f64", 2.5)
      .set("x.bool", true)
      .set("x.str", "text")
      .set("x.u8", std::uint8_t{7})
      .set("x.i16", std::int16_t{-3});
  w.set("tokenizer.ggml.tokens", mmllm::gguf_encoded_value::array({"<unk>", "<s>", "</s>", "a", "b", "ab"}));
  w.set("tokenizer.ggml.scores", mmllm::gguf_encoded_value::array({0.f, 0.f, 0.f, -1.f, -2.f, -3.f}));
  w.set("tokenizer.ggml.merges", mmllm::gguf_encoded_value::array({"a b"}));
  const mmllm::gguf_encoded_value inner[] = {mmllm::gguf_encoded_value::array({1u, 2u, 3u}),
                                             mmllm::gguf_encoded_value::array({"p", "q"})};
  w.set("x.nested", *mmllm::gguf_encoded_value::array_of(mmllm::gguf_type::array, inner));
  std::vector<std::byte> data(4096);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
  w.add_tensor("f32", mmllm::dtype::f32, {16, 2}, std::span(data).first(128));
  w.add_tensor("q4_0", mmllm::dtype::q4_0, {64, 4}, std::span(data).first(144));
  w.add_tensor("q8_0", mmllm::dtype::q8_0, {32, 1, 2, 3}, std::span(data).first(204));
  w.add_tensor("f16", mmllm::dtype::f16, {8, 2, 2}, std::span(data).first(64));
  w.add_tensor("q6_K", mmllm::dtype::q6_K, {256}, std::span(data).first(210));
  auto b = w.to_bytes();
  REQUIRE(b.has_value());
  return std::move(*b);
}

// Positions of every length, count, type, extent and offset field, found through the
// views of the parsed original.
std::vector<field> structural_fields(const gguf_reader& r) {
  const std::byte* base = r.file_bytes().data();
  auto at = [base](const void* p) {
    return static_cast<std::size_t>(static_cast<const std::byte*>(p) - base);
  };
  std::vector<field> f = {{4, 4}, {8, 8}, {16, 8}};
  auto add_value = [&](const mmllm::gguf_value& v, auto&& self) -> void {
    if (v.is_string()) f.push_back({at(v.raw().data()), 8});
    if (!v.is_array()) return;
    f.push_back({at(v.raw().data()), 4});
    f.push_back({at(v.raw().data()) + 4, 8});
    const gguf_array a(v);
    const std::size_t n = a.size();
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, n / 2, n - 1}) {
      if (n == 0 || i >= n) continue;
      const mmllm::gguf_value e = a[i];
      if (e.is_string() || e.is_array()) self(e, self);
    }
  };
  for (const auto& kv : r.metadata()) {
    f.push_back({at(kv.key.data()) - 8, 8});
    f.push_back({at(kv.key.data() + kv.key.size()), 4});
    add_value(kv.value, add_value);
  }
  for (const auto& t : r.tensors()) {
    const std::size_t p = at(t.name.data() + t.name.size());
    f.push_back({at(t.name.data()) - 8, 8});
    f.push_back({p, 4});
    for (std::uint32_t d = 0; d < t.n_dims; ++d) f.push_back({p + 4 + 8 * d, 8});
    f.push_back({p + 4 + 8 * t.n_dims, 4});
    f.push_back({p + 8 + 8 * t.n_dims, 8});
  }
  return f;
}

std::uint64_t read_field(const std::vector<std::byte>& b, field f) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < f.width; ++i) v |= static_cast<std::uint64_t>(b[f.pos + i]) << (8 * i);
  return v;
}

struct mutation_stats {
  int accepted = 0;
  int rejected = 0;
};

// Parses the first `len` bytes of `buf`; checks that the outcome is clean.
void check_outcome(const std::vector<std::byte>& buf, std::size_t len, mutation_stats& stats,
                   bool must_parse) {
  auto r = gguf_reader::parse(byte_source::borrow(std::span(buf).first(len)));
  if (r) {
    ++stats.accepted;
    const auto w = mmllm::test::walk(*r);
    INFO(w.problem);
    CHECK(w.problem.empty());
  } else {
    ++stats.rejected;
    const auto& e = r.error();
    INFO(e.what());
    CHECK_FALSE(must_parse);
    const bool format_error = e.code == errc::malformed || e.code == errc::truncated ||
                              e.code == errc::out_of_range || e.code == errc::unsupported;
    CHECK(format_error);
    CHECK(e.message.rfind("gguf: ", 0) == 0);
  }
}

void mutate(const std::string& label, std::vector<std::byte> buf, int iterations, std::uint64_t seed) {
  INFO(label);
  const auto original = gguf_reader::parse(byte_source::copy_of(buf));
  REQUIRE(original.has_value());
  const std::vector<field> fields = structural_fields(*original);
  const std::size_t meta_end = std::min<std::size_t>(original->data_offset(), buf.size());
  const bool has_data = meta_end < buf.size();
  const std::uint64_t size = buf.size();
  const std::array<std::uint64_t, 24> interesting = {
      0,          1,          2,          3,          4,          7,          8,
      13,         31,         32,         63,         64,         0x7f,       0xff,
      0xffff,     0x7fffffff, 0x80000000, 0xffffffff, 1ull << 32, 1ull << 62, (1ull << 63) - 1,
      1ull << 63, ~0ull,      ~0ull - 7};
  std::mt19937_64 rng(seed);
  auto below = [&rng](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };
  mutation_stats structural, flips, cuts, data_flips;

  for (int it = 0; it < iterations; ++it) {
    INFO("iteration " << it << " (seed " << seed << ")");
    std::vector<std::pair<std::size_t, std::byte>> undo;
    auto poke = [&](std::size_t pos, std::byte v) {
      undo.emplace_back(pos, buf[pos]);
      buf[pos] = v;
    };
    const int kind = static_cast<int>(below(10));
    std::size_t len = buf.size();
    mutation_stats* stats = &structural;
    bool must_parse = false;
    if (kind < 4) {  // 1–3 hostile values in structural fields
      const int n = 1 + static_cast<int>(below(3));
      for (int k = 0; k < n; ++k) {
        const field f = fields[below(fields.size())];
        const std::uint64_t cur = read_field(buf, f);
        std::uint64_t v = 0;
        switch (below(6)) {
          case 0: v = interesting[below(interesting.size())]; break;
          case 1: v = cur + 1; break;
          case 2: v = cur - 1; break;
          case 3: v = size - f.pos + below(16) - 8; break;  // about the bytes left
          case 4: v = cur * 2 + below(3); break;
          default: v = rng(); break;
        }
        for (std::size_t i = 0; i < f.width; ++i)
          poke(f.pos + i, static_cast<std::byte>((v >> (8 * i)) & 0xff));
      }
    } else if (kind < 7) {  // random bit flips in the header / metadata / tensor infos
      stats = &flips;
      const int n = 1 + static_cast<int>(below(4));
      for (int k = 0; k < n; ++k) {
        const std::size_t pos = below(meta_end);
        poke(pos, buf[pos] ^ static_cast<std::byte>(1u << below(8)));
      }
    } else if (kind < 9) {  // truncation, mostly inside the metadata
      stats = &cuts;
      len = below(2) == 0 ? below(meta_end) : below(buf.size());
    } else {  // flips in tensor data: the structure is unchanged, so the file must parse
      if (!has_data) continue;
      stats = &data_flips;
      must_parse = true;
      const std::size_t pos = meta_end + below(buf.size() - meta_end);
      poke(pos, buf[pos] ^ std::byte{0x5a});
    }
    check_outcome(buf, len, *stats, must_parse);
    for (auto u = undo.rbegin(); u != undo.rend(); ++u) buf[u->first] = u->second;
  }
  // The mutations exercised both outcomes (so the checks above were not vacuous).
  CHECK(structural.rejected > 0);
  CHECK(structural.accepted + flips.accepted > 0);
  CHECK(flips.rejected > 0);
  CHECK(cuts.rejected > 0);
  if (has_data) {
    CHECK(data_flips.accepted > 0);
  }
}

std::vector<std::byte> fixture(const std::string& rel) {
  const auto b = mmllm::test::read_bytes(mmllm::test::fixture_path(rel));
  std::vector<std::byte> out(b.size());
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

}  // namespace

TEST_CASE("mutated writer-made files parse or fail cleanly") {
  mutate("writer-made", writer_made(), 6000, 1);
}

TEST_CASE("mutated fixture models parse or fail cleanly") {
  mutate("llama_q4_0", fixture("synthetic/text/llama_q4_0/model.gguf"), 3000, 2);
  mutate("idefics3 mmproj-f16", fixture("synthetic/mm/idefics3/mmproj-f16.gguf"), 1500, 3);
}

TEST_CASE("mutated vocabulary files parse or fail cleanly") {
  mutate("llama-spm vocab", fixture("vocab/ggml-vocab-llama-spm.gguf"), 500, 4);
}
