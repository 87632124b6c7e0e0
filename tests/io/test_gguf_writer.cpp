// gguf_writer: byte-exact output (against the independent raw encoder and against the
// real fixture files, written by llama.cpp's gguf-py), round trips through the reader,
// streaming of generated tensors to a file, and the writer's own error checks.
#include <mmllm/io/gguf_reader.hpp>
#include <mmllm/io/gguf_writer.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"
#include "gguf_raw.hpp"
#include "gguf_walk.hpp"

using Catch::Matchers::Contains;
using mmllm::byte_source;
using mmllm::dtype;
using mmllm::errc;
using mmllm::gguf_array;
using mmllm::gguf_encoded_value;
using mmllm::gguf_reader;
using mmllm::gguf_type;
using mmllm::gguf_writer;
using mmllm::test::raw_gguf;

namespace {

std::vector<std::byte> bytes_of(const gguf_writer& w) {
  auto b = w.to_bytes();
  INFO((b ? std::string() : b.error().what()));
  REQUIRE(b.has_value());
  return std::move(*b);
}

gguf_reader read_back(std::vector<std::byte> bytes) {
  auto r = gguf_reader::parse(byte_source::own(std::move(bytes)));
  INFO((r ? std::string() : r.error().what()));
  REQUIRE(r.has_value());
  CHECK(mmllm::test::walk(*r).problem.empty());
  return std::move(*r);
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return v;
}

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("mmllm-test-" + name + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
              ".gguf")) {}
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

TEST_CASE("the writer's bytes equal an independent encoding") {
  gguf_writer w;
  w.set("general.architecture", "llama")
      .set("a.u32", std::uint32_t{7})
      .set("a.i8", std::int8_t{-2})
      .set("a.f64", 0.5)
      .set("a.bool", false)
      .set("a.tokens", gguf_encoded_value::array(std::vector<std::string>{"x", "yz"}))
      .set("a.scores", gguf_encoded_value::array({1.0f, -1.0f}));
  const std::vector<std::byte> data = pattern(4 * 3 * 2, 1);
  w.add_tensor("t", dtype::f32, {3, 2}, data);

  raw_gguf g;
  g.header(1, 7);
  g.key("general.architecture", 8).str("llama");
  g.key("a.u32", 4).u32(7);
  g.key("a.i8", 1).u8(0xfe);
  g.key("a.f64", 12).u64(0x3fe0000000000000ull);
  g.key("a.bool", 7).u8(0);
  g.key("a.tokens", 9).u32(8).u64(2).str("x").str("yz");
  g.key("a.scores", 9).u32(6).u64(2).f32(1.0f).f32(-1.0f);
  g.tensor("t", {3, 2}, 0, 0).pad(32);
  g.bytes.insert(g.bytes.end(), data.begin(), data.end());
  g.pad(32);

  CHECK(bytes_of(w) == g.bytes);
  CHECK(w.file_size() == g.bytes.size());
  CHECK(w.data_offset() % 32 == 0);
}

TEST_CASE("all value types round-trip through the reader") {
  gguf_writer w;
  w.set("u8", std::uint8_t{255})
      .set("i8", std::int8_t{-128})
      .set("u16", std::uint16_t{65535})
      .set("i16", std::int16_t{-32768})
      .set("u32", std::uint32_t{4294967295u})
      .set("i32", std::int32_t{-2147483647 - 1})
      .set("f32", 1e-6f)
      .set("bool", true)
      .set("str", std::string("nul\0inside", 10))
      .set("u64", std::numeric_limits<std::uint64_t>::max())
      .set("i64", std::numeric_limits<std::int64_t>::min())
      .set("f64", -0.0)
      .set("int", 5)  // int → int32
      .set("arr.u16", gguf_encoded_value::array(std::array<std::uint16_t, 3>{1, 2, 65535}))
      .set("arr.bool", gguf_encoded_value::array(std::array<bool, 2>{true, false}))
      .set("arr.f64", gguf_encoded_value::array({0.25, -8.0}))
      .set("arr.cstr", gguf_encoded_value::array({"a", "", "ccc"}))
      .set("arr.empty", gguf_encoded_value::array(std::vector<std::int16_t>{}));
  const gguf_encoded_value inner[] = {gguf_encoded_value::array({1u, 2u}), gguf_encoded_value::array({"q"})};
  const auto nested = gguf_encoded_value::array_of(gguf_type::array, inner);
  REQUIRE(nested.has_value());
  const gguf_encoded_value outer[] = {*nested, gguf_encoded_value::array({1.0f})};
  const auto twice = gguf_encoded_value::array_of(gguf_type::array, outer);
  REQUIRE(twice.has_value());
  w.set("arr.nested", *nested).set("arr.nested2", *twice);
  w.set("u8", std::uint8_t{254});  // replaces in place

  const gguf_reader r = read_back(bytes_of(w));
  CHECK(r.metadata().size() == 20);
  CHECK(r.metadata()[0].key == "u8");
  CHECK(*r.get<std::uint8_t>("u8") == 254);
  CHECK(*r.get<std::int8_t>("i8") == -128);
  CHECK(*r.get<std::uint16_t>("u16") == 65535);
  CHECK(*r.get<std::int16_t>("i16") == -32768);
  CHECK(*r.get<std::uint32_t>("u32") == 4294967295u);
  CHECK(*r.get<std::int32_t>("i32") == -2147483647 - 1);
  CHECK(*r.get<float>("f32") == 1e-6f);
  CHECK(*r.get<bool>("bool"));
  CHECK(*r.get<std::string_view>("str") == std::string_view("nul\0inside", 10));
  CHECK(*r.get<std::uint64_t>("u64") == std::numeric_limits<std::uint64_t>::max());
  CHECK(*r.get<std::int64_t>("i64") == std::numeric_limits<std::int64_t>::min());
  CHECK(std::signbit(*r.get<double>("f64")));
  CHECK(*r.get<std::int32_t>("int") == 5);
  CHECK(r.get<gguf_array>("arr.u16")->numbers<std::uint16_t>()->to_vector() ==
        std::vector<std::uint16_t>{1, 2, 65535});
  CHECK(r.get<gguf_array>("arr.bool")->numbers<bool>()->to_vector() == std::vector<bool>{true, false});
  CHECK(r.get<gguf_array>("arr.f64")->numbers<double>()->to_vector() == std::vector<double>{0.25, -8.0});
  CHECK(*r.get<gguf_array>("arr.cstr")->to_vector<std::string>() == std::vector<std::string>{"a", "", "ccc"});
  CHECK(r.get<gguf_array>("arr.empty")->element_type() == gguf_type::int16);
  const auto n = *r.get<gguf_array>("arr.nested")->arrays();
  REQUIRE(n.size() == 2);
  CHECK(gguf_array(n[0]).numbers<std::uint32_t>()->to_vector() == std::vector<std::uint32_t>{1, 2});
  CHECK(gguf_array(n[1]).strings()->front() == "q");
  const auto n2 = *r.get<gguf_array>("arr.nested2")->arrays();
  REQUIRE(n2.size() == 2);
  CHECK(gguf_array(n2[0]).element_type() == gguf_type::array);
  CHECK(gguf_array(*gguf_array(n2[0]).arrays()->begin()).size() == 2);
  CHECK(*gguf_array(n2[1]).numbers<float>()->begin() == 1.0f);

  // A value copied from a reader re-encodes to the same bytes.
  for (const auto& kv : r.metadata()) {
    const auto copy = gguf_encoded_value::copy_of(kv.value);
    CHECK(copy.type() == kv.value.type());
    CHECK(std::equal(copy.payload().begin(), copy.payload().end(), kv.value.raw().begin(),
                     kv.value.raw().end()));
  }
}

TEST_CASE("tensors of several dtypes round-trip with aligned offsets") {
  for (std::uint32_t alignment : {1u, 32u, 64u, 4096u}) {
    INFO("alignment " << alignment);
    gguf_writer w;
    w.set_alignment(alignment).set("general.architecture", "test");
    const auto f32 = pattern(4 * 5, 1);
    const auto f16 = pattern(2 * 6 * 2, 2);
    const auto q40 = pattern(18 * 2 * 3, 3);
    const auto q8 = pattern(34 * 4, 4);
    const auto q4k = pattern(144 * 2, 5);
    w.add_tensor("f32", dtype::f32, {5}, f32)
        .add_tensor("f16", dtype::f16, {6, 2}, f16)
        .add_tensor_ref("q4_0", dtype::q4_0, {64, 3}, q40)
        .add_tensor("q8_0", dtype::q8_0, {32, 2, 1, 2}, q8)
        .add_tensor("q4_K", dtype::q4_K, {256, 2}, q4k)
        .add_tensor("empty", dtype::f32, {0, 4}, {});
    REQUIRE(w.status().has_value());
    const gguf_reader r = read_back(bytes_of(w));
    CHECK(r.alignment() == alignment);
    CHECK(r.data_offset() % alignment == 0);
    REQUIRE(r.tensors().size() == 6);
    const std::vector<std::byte>* data[] = {&f32, &f16, &q40, &q8, &q4k};
    for (std::size_t i = 0; i < 5; ++i) {
      const auto& t = r.tensors()[i];
      INFO(t.name);
      CHECK(t.offset % alignment == 0);
      CHECK(t.offset == w.tensor_offset(i));
      const auto d = r.tensor_data(t);
      CHECK(std::equal(d.begin(), d.end(), data[i]->begin(), data[i]->end()));
    }
    const auto q = *r.tensor("q4_0");
    CHECK(q.type == dtype::q4_0);
    CHECK(q.n_dims == 2);
    CHECK(q.size == 18 * 2 * 3);
    const auto m = *r.tensor_matrix("q4_0");
    CHECK(m.type == dtype::q4_0);
    CHECK(m.rows == 3);
    CHECK(m.cols == 64);
    CHECK(m.row_stride == 36);
    CHECK(m.row(2) == r.tensor_data(q).data() + 72);
    const auto m4 = *r.tensor_matrix("q8_0");  // rows = ne[1] * ne[2] * ne[3]
    CHECK(m4.rows == 4);
    CHECK(r.find_tensor("q8_0")->shape().size() == 4);
    CHECK(r.tensor("nope").error().code == errc::not_found);
    CHECK(r.tensor_data("empty")->empty());
  }
}

TEST_CASE("version 2 files are written and read") {
  mmllm::gguf_writer_options o;
  o.version = 2;
  gguf_writer w(o);
  w.set("k", std::uint32_t{1});
  const gguf_reader r = read_back(bytes_of(w));
  CHECK(r.version() == 2);
  CHECK(*r.get<std::uint32_t>("k") == 1);
}

TEST_CASE("generated tensors stream to a file chunk by chunk") {
  mmllm::gguf_writer_options o;
  o.chunk_size = 1000;  // not a divisor of anything: pieces straddle rows and tensors
  gguf_writer w(o);
  w.set("general.architecture", "synthetic");
  std::uint64_t calls = 0, max_piece = 0;
  auto gen = [&calls, &max_piece](unsigned seed) {
    return [&calls, &max_piece, seed](std::uint64_t offset, std::span<std::byte> out) {
      ++calls;
      max_piece = std::max<std::uint64_t>(max_piece, out.size());
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::byte>(((offset + i) * 31 + seed) & 0xff);
    };
  };
  w.add_tensor_generated("a", dtype::f32, {1024, 3}, gen(1));  // 12288 bytes
  w.add_tensor_generated("b", dtype::q8_0, {64, 7}, gen(2));   // 476 bytes
  w.add_tensor_generated("c", dtype::f16, {0}, gen(3));        // empty
  temp_file tmp("generated");
  const auto written = w.write_file(tmp.path.string());
  INFO((written ? std::string() : written.error().what()));
  REQUIRE(written.has_value());
  CHECK(max_piece <= 1000);
  CHECK(calls == 13 + 1);
  CHECK(std::filesystem::file_size(tmp.path) == w.file_size());

  auto r = gguf_reader::open(tmp.path.string());
  REQUIRE(r.has_value());
  CHECK(mmllm::test::walk(*r).problem.empty());
  const auto a = *r->tensor_data("a");
  REQUIRE(a.size() == 12288);
  bool same = true;
  for (std::size_t i = 0; i < a.size(); ++i)
    same = same && a[i] == static_cast<std::byte>((i * 31 + 1) & 0xff);
  CHECK(same);
  const auto b = *r->tensor_data("b");
  REQUIRE(b.size() == 7 * 2 * 34);
  CHECK(b[100] == static_cast<std::byte>((100 * 31 + 2) & 0xff));
  // The in-memory output is the same file.
  const auto mem = bytes_of(w);
  CHECK(std::equal(mem.begin(), mem.end(), r->file_bytes().begin(), r->file_bytes().end()));
}

TEST_CASE("the writer refuses to build invalid files") {
  auto first_error = [](const gguf_writer& w) {
    auto s = w.status();
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == errc::invalid_argument);
    CHECK_FALSE(w.to_bytes().has_value());
    return s.error().message;
  };
  const auto four = pattern(16, 0);
  {
    gguf_writer w;
    w.add_tensor("t", dtype::f32, {4}, four).add_tensor("t", dtype::f32, {4}, four);
    CHECK_THAT(first_error(w), Contains("tensor 't': duplicate tensor name"));
  }
  {
    gguf_writer w;
    w.add_tensor("q", dtype::q4_0, {33}, four);
    CHECK_THAT(first_error(w), Contains("row length 33 is not a multiple of q4_0's block size 32"));
  }
  {
    gguf_writer w;
    w.add_tensor("t", dtype::f32, {5}, four);
    CHECK_THAT(first_error(w), Contains("data has 16 bytes, the shape needs 20"));
  }
  {
    gguf_writer w;
    w.add_tensor("t", dtype::f32, {1, 1, 1, 1, 1}, four);
    CHECK_THAT(first_error(w), Contains("bad shape"));
  }
  {
    gguf_writer w;
    w.add_tensor("t", dtype::f32, std::vector<std::int64_t>{4, -1}, four);
    CHECK_THAT(first_error(w), Contains("bad shape"));
  }
  {
    gguf_writer w;
    w.add_tensor_generated("t", dtype::f32, {std::uint64_t{1} << 40, std::uint64_t{1} << 40},
                           [](auto, auto) {});
    CHECK_THAT(first_error(w), Contains("overflows"));
  }
  {
    gguf_writer w;
    w.add_tensor(std::string(64, 'x'), dtype::f32, {4}, four);
    CHECK_THAT(first_error(w), Contains("longer than 63"));
  }
  {
    gguf_writer w;
    w.add_tensor("t", static_cast<dtype>(4), {4}, four);
    CHECK_THAT(first_error(w), Contains("unknown dtype id 4"));
  }
  {
    gguf_writer w;
    w.set_alignment(48);
    CHECK_THAT(first_error(w), Contains("power of two"));
  }
  {
    gguf_writer w;
    w.set("general.alignment", std::uint64_t{64});
    CHECK_THAT(first_error(w), Contains("uint32"));
  }
  {
    gguf_writer w;
    w.set("", 1);
    CHECK_THAT(first_error(w), Contains("empty metadata key"));
  }
  {
    mmllm::gguf_writer_options o;
    o.version = 1;
    const gguf_writer w(o);
    CHECK_THAT(first_error(w), Contains("version 1"));
  }
  {
    const gguf_encoded_value mixed[] = {gguf_encoded_value(1), gguf_encoded_value("x")};
    const auto arr = gguf_encoded_value::array_of(gguf_type::int32, mixed);
    REQUIRE_FALSE(arr.has_value());
    CHECK_THAT(arr.error().message, Contains("array element 1 has type string"));
  }
  {
    gguf_writer w;
    w.set("k", 1);
    const auto r = w.write_file("/nonexistent-dir/sub/x.gguf");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::io_error);
    CHECK_THAT(r.error().message, Contains("/nonexistent-dir/sub/x.gguf"));
  }
}

TEST_CASE("rewriting every fixture reproduces it byte for byte") {
  // The fixtures were written by llama.cpp's gguf-py: same layout rules, an independent
  // implementation. Vocabulary-only files end without the final padding that llama.cpp's
  // C writer (and mmllm's) adds, so there only the prefix must match.
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(mmllm::test::fixture_path(""))) {
    if (!entry.is_regular_file() || entry.path().extension() != ".gguf") continue;
    INFO(entry.path().string());
    auto r = gguf_reader::open(entry.path().string());
    REQUIRE(r.has_value());
    gguf_writer w;
    for (const auto& kv : r->metadata()) w.set(kv.key, gguf_encoded_value::copy_of(kv.value));
    for (const auto& t : r->tensors()) w.add_tensor_ref(t.name, t.type, t.shape(), r->tensor_data(t));
    const auto out = bytes_of(w);
    const auto orig = r->file_bytes();
    if (r->tensors().empty()) {
      REQUIRE(out.size() >= orig.size());
      CHECK(std::equal(orig.begin(), orig.end(), out.begin()));
      CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(orig.size()), out.end(),
                        [](std::byte b) { return b == std::byte{0}; }));
    } else {
      CHECK(out.size() == orig.size());
      CHECK(std::equal(orig.begin(), orig.end(), out.begin(), out.end()));
    }
    ++checked;
  }
  CHECK(checked >= 37);
}
