// Hand-written hostile GGUF files, one per validation rule of gguf_reader: each must give
// a clean error with the right code and a message naming the key/tensor/offset.
#include <mmllm/io/gguf_reader.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "catch.hpp"
#include "gguf_raw.hpp"
#include "gguf_walk.hpp"

using Catch::Matchers::Contains;
using mmllm::byte_source;
using mmllm::errc;
using mmllm::gguf_read_options;
using mmllm::gguf_reader;
using mmllm::test::raw_gguf;

namespace {

constexpr std::uint32_t t_u8 = 0, t_u32 = 4, t_i32 = 5, t_bool = 7, t_str = 8, t_arr = 9, t_u64 = 10;
constexpr std::uint32_t f32_id = 0, q4_0_id = 2, i32_id = 26;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// Copies the bytes: the reader may outlive the (often temporary) builder.
mmllm::result<gguf_reader> parse(const raw_gguf& g, const gguf_read_options& o = {}) {
  return gguf_reader::parse(byte_source::copy_of(g.span()), o);
}

// One metadata entry and one tensor `w` (f32 [4], offset 0) with its data.
raw_gguf minimal() {
  raw_gguf g;
  g.header(1, 1).key("general.architecture", t_str).str("llama");
  g.tensor("w", {4}, f32_id, 0).pad(32).zeros(16);
  return g;
}

void check_error(const mmllm::result<gguf_reader>& r, errc code, const std::string& text) {
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().what());
  CHECK(r.error().code == code);
  CHECK_THAT(r.error().message, Contains(text));
  CHECK_THAT(r.error().message, Contains("gguf: "));
}

}  // namespace

TEST_CASE("the baseline hand-built file parses") {
  auto r = parse(minimal());
  REQUIRE(r.has_value());
  CHECK(r->version() == 3);
  CHECK(*r->architecture() == "llama");
  REQUIRE(r->tensors().size() == 1);
  CHECK(r->data_offset() % 32 == 0);
  CHECK(r->tensor_data(r->tensors()[0]).size() == 16);
  CHECK(mmllm::test::walk(*r).problem.empty());
}

TEST_CASE("magic, version and endianness") {
  check_error(gguf_reader::parse(byte_source{}), errc::truncated, "magic");
  raw_gguf bad_magic;
  bad_magic.raw("GGUG").u32(3).u64(0).u64(0);
  check_error(parse(bad_magic), errc::malformed, "not a GGUF file");

  raw_gguf v1;
  v1.header(0, 0, 1);
  check_error(parse(v1), errc::unsupported, "version 1");
  raw_gguf v0;
  v0.header(0, 0, 0);
  check_error(parse(v0), errc::malformed, "version 0");
  raw_gguf v4;
  v4.header(0, 0, 4);
  check_error(parse(v4), errc::unsupported, "version 4");
  raw_gguf big_endian;  // version 3 written big-endian reads as 0x03000000
  big_endian.header(0, 0, 0x03000000u);
  check_error(parse(big_endian), errc::unsupported, "big-endian");

  raw_gguf v2;
  v2.header(0, 0, 2);
  auto r = parse(v2);
  REQUIRE(r.has_value());
  CHECK(r->version() == 2);

  raw_gguf short_version;
  short_version.raw("GGUF").u8(3);
  check_error(parse(short_version), errc::truncated, "version");
  raw_gguf short_counts;
  short_counts.raw("GGUF").u32(3).u64(0);
  check_error(parse(short_counts), errc::truncated, "metadata count");
}

TEST_CASE("absurd counts are rejected before allocating") {
  raw_gguf huge_kv;
  huge_kv.header(0, u64_max).key("a", t_u8).u8(1);
  check_error(parse(huge_kv), errc::out_of_range, "metadata count 18446744073709551615");
  raw_gguf huge_tensors;
  huge_tensors.header(std::uint64_t{1} << 62, 0);
  check_error(parse(huge_tensors), errc::out_of_range, "tensor count");
  raw_gguf few_bytes;  // 3 entries claimed, bytes for one
  few_bytes.header(0, 3).key("a", t_u8).u8(1);
  check_error(parse(few_bytes), errc::truncated, "metadata count 3");
}

TEST_CASE("keys: lengths, emptiness, value types, duplicates") {
  raw_gguf huge_key;
  huge_key.header(0, 1).u64(u64_max).raw("abcdefghijklm");
  check_error(parse(huge_key), errc::out_of_range, "key #0: key length 18446744073709551615");
  raw_gguf long_key;  // length just past the end of the file
  long_key.header(0, 1).u64(14).raw("abcdefghijklm");
  check_error(parse(long_key), errc::truncated, "key #0: key length 14");

  raw_gguf empty_key;
  empty_key.header(0, 1).key("", t_u8).u8(0);
  check_error(parse(empty_key), errc::malformed, "the key is empty");

  raw_gguf bad_type;
  bad_type.header(0, 1).key("x.y", 13).u32(0);
  check_error(parse(bad_type), errc::malformed, "key 'x.y': value type 13 is not a GGUF value type");
  raw_gguf bad_type2;
  bad_type2.header(0, 1).key("x.y", 0xffffffffu).u32(0);
  check_error(parse(bad_type2), errc::malformed, "4294967295");

  raw_gguf truncated_value;
  truncated_value.header(0, 1).key("x.n", t_u64).u32(7);
  check_error(parse(truncated_value), errc::truncated, "key 'x.n': file ends inside a uint64 value");

  raw_gguf huge_string;
  huge_string.header(0, 1).key("x.s", t_str).u64(u64_max - 3).raw("abc");
  check_error(parse(huge_string), errc::out_of_range, "key 'x.s': string value length");

  raw_gguf dup;
  dup.header(0, 3).key("a.b", t_u32).u32(1).key("c", t_u8).u8(2).key("a.b", t_u32).u32(3);
  check_error(parse(dup), errc::malformed, "key 'a.b': duplicate key (entries #0 and #2)");
}

TEST_CASE("arrays: element types, counts, nesting depth") {
  raw_gguf bad_elem;
  bad_elem.header(0, 1).key("arr", t_arr).u32(77).u64(0);
  check_error(parse(bad_elem), errc::malformed, "key 'arr': array element type 77");

  raw_gguf huge_count;
  huge_count.header(0, 1).key("arr", t_arr).u32(t_u32).u64(std::uint64_t{1} << 61).u32(0);
  check_error(parse(huge_count), errc::out_of_range, "key 'arr': array of 2305843009213693952 uint32");
  raw_gguf short_count;  // 3 uint32 claimed, 2 present
  short_count.header(0, 1).key("arr", t_arr).u32(t_u32).u64(3).u32(1).u32(2);
  check_error(parse(short_count), errc::truncated, "array of 3 uint32");
  raw_gguf huge_strings;  // a count every string could not fit in
  huge_strings.header(0, 1).key("tok", t_arr).u32(t_str).u64(u64_max / 4).str("a");
  check_error(parse(huge_strings), errc::out_of_range, "key 'tok'");
  raw_gguf bad_element;  // second string's length is absurd
  bad_element.header(0, 1).key("tok", t_arr).u32(t_str).u64(2).str("ok").u64(u64_max).raw("zzzzzzzz");
  check_error(parse(bad_element), errc::out_of_range, "in array element 1");

  // Nesting: depth d = an array of arrays … of uint8 with d array levels.
  auto nested = [](int depth) {
    raw_gguf g;
    g.header(0, 1).key("n", t_arr);
    for (int i = 1; i < depth; ++i) g.u32(t_arr).u64(1);
    g.u32(t_u8).u64(2).u8(1).u8(2);
    return g;
  };
  auto ok8 = parse(nested(8));
  REQUIRE(ok8.has_value());
  CHECK(mmllm::test::walk(*ok8).problem.empty());
  check_error(parse(nested(9)), errc::out_of_range, "arrays nested deeper than the limit of 8");
  gguf_read_options flat;
  flat.max_array_depth = 1;
  REQUIRE(parse(nested(1), flat).has_value());
  check_error(parse(nested(2), flat), errc::out_of_range, "key 'n'");
  gguf_read_options absurd;
  absurd.max_array_depth = 1000000;  // clamped: hostile nesting cannot exhaust the stack
  check_error(parse(nested(100), absurd), errc::out_of_range, "limit of 64");

  raw_gguf bool_byte;  // any non-zero byte is true, as in llama.cpp
  bool_byte.header(0, 2).key("b", t_bool).u8(2).key("c", t_bool).u8(0);
  auto rb = parse(bool_byte);
  REQUIRE(rb.has_value());
  CHECK(*rb->get<bool>("b") == true);
  CHECK(*rb->get<bool>("c") == false);
}

TEST_CASE("general.alignment must be a uint32 non-zero power of two") {
  auto with_alignment = [](std::uint32_t type, std::uint64_t value) {
    raw_gguf g;
    g.header(0, 1).key("general.alignment", type);
    if (type == t_u64) {
      g.u64(value);
    } else {
      g.u32(static_cast<std::uint32_t>(value));
    }
    return g;
  };
  check_error(parse(with_alignment(t_u64, 64)), errc::malformed, "general.alignment': has type uint64");
  check_error(parse(with_alignment(t_i32, 64)), errc::malformed, "it must be uint32");
  check_error(parse(with_alignment(t_u32, 0)), errc::malformed, "alignment 0 is not a non-zero power of two");
  check_error(parse(with_alignment(t_u32, 48)), errc::malformed, "alignment 48");

  raw_gguf g;
  g.header(1, 1).key("general.alignment", t_u32).u32(256).tensor("w", {64}, f32_id, 0).pad(256).zeros(256);
  auto r = parse(g);
  REQUIRE(r.has_value());
  CHECK(r->alignment() == 256);
  CHECK(r->data_offset() == 256);
  raw_gguf one;  // alignment 1 is a power of two: data starts right after the infos
  one.header(1, 1).key("general.alignment", t_u32).u32(1).tensor("w", {1}, f32_id, 0).zeros(4);
  auto r1 = parse(one);
  REQUIRE(r1.has_value());
  CHECK(r1->data_offset() == one.bytes.size() - 4);
}

TEST_CASE("tensor infos: names, dimensions, extents, types") {
  auto one_tensor = [](std::string_view name, std::initializer_list<std::int64_t> ne, std::uint32_t type,
                       std::uint64_t offset, std::size_t data) {
    raw_gguf g;
    g.header(1, 0).tensor(name, ne, type, offset).pad(32).zeros(data);
    return g;
  };
  check_error(parse(one_tensor(std::string(64, 'n'), {4}, f32_id, 0, 16)), errc::out_of_range,
              "tensor #0: tensor name is 64 bytes long; the limit is 63");
  REQUIRE(parse(one_tensor(std::string(63, 'n'), {4}, f32_id, 0, 16)).has_value());
  gguf_read_options long_names;
  long_names.max_tensor_name_length = 1000;
  REQUIRE(parse(one_tensor(std::string(64, 'n'), {4}, f32_id, 0, 16), long_names).has_value());

  check_error(parse(one_tensor("w", {1, 1, 1, 1, 1}, f32_id, 0, 16)), errc::out_of_range,
              "tensor 'w': has 5 dimensions; at most 4");
  check_error(parse(one_tensor("w", {4, -2}, f32_id, 0, 16)), errc::malformed,
              "tensor 'w': extent ne[1] is negative");
  check_error(parse(one_tensor("w", {std::int64_t{1} << 40, std::int64_t{1} << 40}, f32_id, 0, 16)),
              errc::out_of_range, "element count of shape [1099511627776, 1099511627776] overflows");
  // An empty row does not hide an overflowing row count.
  check_error(parse(one_tensor("w", {0, std::int64_t{1} << 32, std::int64_t{1} << 32, std::int64_t{1} << 32},
                               f32_id, 0, 0)),
              errc::out_of_range, "overflows");
  // Elements fit in int64 but the bytes do not (f32: 4 bytes each).
  check_error(parse(one_tensor("w", {std::int64_t{1} << 62}, f32_id, 0, 16)), errc::out_of_range,
              "byte size");

  check_error(parse(one_tensor("w", {32}, 4, 0, 16)), errc::unsupported,
              "tensor 'w': unknown tensor type id 4");
  check_error(parse(one_tensor("w", {32}, 40, 0, 16)), errc::unsupported, "unknown tensor type id 40");
  check_error(parse(one_tensor("w", {32}, 0xffffffffu, 0, 16)), errc::unsupported, "4294967295");
  REQUIRE(parse(one_tensor("w", {4}, i32_id, 0, 16)).has_value());
  gguf_read_options strict;
  strict.require_supported_dtypes = true;
  check_error(parse(one_tensor("w", {4}, i32_id, 0, 16), strict), errc::unsupported,
              "tensor type i32 is not supported");

  check_error(parse(one_tensor("w", {100, 2}, q4_0_id, 0, 4096)), errc::malformed,
              "row length ne[0] = 100 is not a multiple of q4_0's block size 32");
  auto q = parse(one_tensor("w", {64, 2}, q4_0_id, 0, 72));
  REQUIRE(q.has_value());
  CHECK(q->tensors()[0].size == 2 * 2 * 18);

  // Truncated inside a tensor info.
  raw_gguf cut;
  cut.header(1, 0).str("wwwwwwwwww").u32(2).i64(4);  // the second extent is missing
  check_error(parse(cut), errc::truncated, "tensor 'wwwwwwwwww': file ends inside the extent");
  raw_gguf huge_name;
  huge_name.header(1, 0).u64(u64_max).zeros(40);
  check_error(parse(huge_name), errc::out_of_range, "tensor #0: tensor name length");
}

TEST_CASE("tensor data: alignment, bounds, overlap, duplicate names") {
  auto two = [](std::uint64_t off_a, std::uint64_t off_b, std::size_t data, std::string_view name_b = "b") {
    raw_gguf g;
    g.header(2, 0).tensor("a", {16}, f32_id, off_a).tensor(name_b, {16}, f32_id, off_b).pad(32).zeros(data);
    return g;
  };
  REQUIRE(parse(two(0, 64, 128)).has_value());
  REQUIRE(parse(two(64, 0, 128)).has_value());  // order of data need not follow order of infos
  check_error(parse(two(0, 16, 128)), errc::malformed,
              "tensor 'b': data offset 16 is not a multiple of the alignment 32");
  check_error(parse(two(0, 32, 128)), errc::malformed,
              "tensor 'b': data [32, 96) overlaps tensor 'a' [0, 64)");
  check_error(parse(two(32, 0, 128)), errc::malformed, "overlaps");
  check_error(parse(two(0, 64, 100)), errc::truncated, "tensor 'b': data");
  check_error(parse(two(0, 64, 100)), errc::truncated, "ends past the end of the file");
  check_error(parse(two(0, std::uint64_t{1} << 40, 128)), errc::out_of_range, "past the end of the file");
  check_error(parse(two(0, u64_max - 15, 128)), errc::malformed, "not a multiple");
  check_error(parse(two(0, u64_max - 63, 128)), errc::out_of_range, "tensor 'b'");
  check_error(parse(two(0, 64, 128, "a")), errc::malformed,
              "tensor 'a': duplicate tensor name (tensors #0 and #1)");

  // Zero-element tensors take no space: any aligned offset, an empty span.
  raw_gguf empty;
  empty.header(2, 0).tensor("e", {0, 7}, f32_id, 1u << 20).tensor("w", {8}, f32_id, 0).pad(32).zeros(32);
  auto r = parse(empty);
  REQUIRE(r.has_value());
  const auto* e = r->find_tensor("e");
  REQUIRE(e != nullptr);
  CHECK(e->size == 0);
  CHECK(r->tensor_data(*e).empty());
  CHECK(r->tensor_matrix(*e).rows == 7);
  CHECK(mmllm::test::walk(*r).problem.empty());
}

TEST_CASE("every truncation of a valid file fails until the last tensor's data is present") {
  raw_gguf g;
  g.header(2, 3)
      .key("general.architecture", t_str)
      .str("llama")
      .key("tok", t_arr)
      .u32(t_str)
      .u64(3)
      .str("a")
      .str("")
      .str("ccc")
      .key("nums", t_arr)
      .u32(t_u32)
      .u64(2)
      .u32(1)
      .u32(2);
  g.tensor("a", {8}, f32_id, 0).tensor("b", {32, 2}, q4_0_id, 32).pad(32).zeros(32 + 36).pad(32);
  auto full = parse(g);
  REQUIRE(full.has_value());
  const std::size_t needed = full->data_offset() + 32 + 36;
  for (std::size_t n = 0; n < g.bytes.size(); ++n) {
    auto r = gguf_reader::parse(byte_source::borrow(g.span().first(n)));
    INFO("prefix of " << n << " bytes");
    if (n < needed) {
      REQUIRE_FALSE(r.has_value());
      CHECK((r.error().code == errc::truncated || r.error().code == errc::out_of_range));
      CHECK_FALSE(r.error().message.empty());
    } else {
      REQUIRE(r.has_value());
      CHECK(mmllm::test::walk(*r).problem.empty());
    }
  }
}

TEST_CASE("error messages carry the byte offset") {
  raw_gguf g;
  g.header(0, 2).key("a", t_u8).u8(1).key("b", 13);
  auto r = parse(g);
  REQUIRE_FALSE(r.has_value());
  // "b" key starts at 24 + (8+1+4+1) = 38; its type field at 38 + 9 = 47.
  CHECK_THAT(r.error().message, Contains("key 'b'") && Contains("at byte offset 47"));
}
