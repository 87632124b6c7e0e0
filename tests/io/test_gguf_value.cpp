// GGUF metadata values: every type read back exactly, strict and converting accessors,
// their error messages, arrays (numbers, strings, nested) and view lifetime.
#include <mmllm/io/gguf_reader.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gguf_raw.hpp"
#include "gguf_walk.hpp"

using Catch::Matchers::Contains;
using mmllm::byte_source;
using mmllm::errc;
using mmllm::gguf_array;
using mmllm::gguf_reader;
using mmllm::gguf_type;
using mmllm::test::raw_gguf;

namespace {

// Built with the independent raw encoder, so these tests do not rely on gguf_writer.
raw_gguf all_types() {
  raw_gguf g;
  g.header(0, 19);
  g.key("u8", 0).u8(250);
  g.key("i8", 1).u8(0x80);  // -128
  g.key("u16", 2).u8(0x34).u8(0x12);
  g.key("i16", 3).u8(0xff).u8(0xff);  // -1
  g.key("u32", 4).u32(4000000000u);
  g.key("i32", 5).u32(static_cast<std::uint32_t>(-7));
  g.key("f32", 6).f32(0.1f);
  g.key("bool", 7).u8(1);
  g.key("str", 8).str(std::string("a\0b\xc3\xa9", 5));
  g.key("u64", 10).u64(std::numeric_limits<std::uint64_t>::max());
  g.key("i64", 11).i64(std::numeric_limits<std::int64_t>::min());
  g.key("f64", 12).u64(0x400921fb54442d18ull);  // pi
  g.key("arr.f32", 9).u32(6).u64(3).f32(1.5f).f32(-2.0f).f32(INFINITY);
  g.key("arr.i32", 9).u32(5).u64(4).u32(1).u32(static_cast<std::uint32_t>(-2)).u32(3).u32(0x7fffffff);
  g.key("arr.str", 9).u32(8).u64(3).str("<unk>").str("").str("\xe2\x96\x81the");
  g.key("arr.bool", 9).u32(7).u64(3).u8(0).u8(1).u8(9);
  g.key("arr.empty", 9).u32(10).u64(0);
  // [[1, 2], ["x"], []] : an array of arrays with different element types.
  g.key("arr.nested", 9).u32(9).u64(3);
  g.u32(0).u64(2).u8(1).u8(2);
  g.u32(8).u64(1).str("x");
  g.u32(11).u64(0);
  g.key("arr.u64", 9).u32(10).u64(2).u64(5).u64(std::numeric_limits<std::uint64_t>::max());
  return g;
}

gguf_reader parse_all_types(const raw_gguf& g) {
  auto r = gguf_reader::parse(byte_source::borrow(g.span()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

}  // namespace

TEST_CASE("every scalar type reads back exactly with get<T>") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  CHECK(r.metadata().size() == 19);
  CHECK(*r.get<std::uint8_t>("u8") == 250);
  CHECK(*r.get<std::int8_t>("i8") == -128);
  CHECK(*r.get<std::uint16_t>("u16") == 0x1234);
  CHECK(*r.get<std::int16_t>("i16") == -1);
  CHECK(*r.get<std::uint32_t>("u32") == 4000000000u);
  CHECK(*r.get<std::int32_t>("i32") == -7);
  CHECK(*r.get<float>("f32") == 0.1f);
  CHECK(*r.get<bool>("bool") == true);
  CHECK(*r.get<std::string_view>("str") == std::string_view("a\0b\xc3\xa9", 5));
  CHECK(*r.get<std::string>("str") == std::string("a\0b\xc3\xa9", 5));
  CHECK(*r.get<std::uint64_t>("u64") == std::numeric_limits<std::uint64_t>::max());
  CHECK(*r.get<std::int64_t>("i64") == std::numeric_limits<std::int64_t>::min());
  CHECK(*r.get<double>("f64") == 3.141592653589793);
  CHECK(r.find("f64")->type() == gguf_type::float64);
  CHECK(r.find("arr.f32")->type_name() == "array<float32>");
  // Metadata keeps file order.
  CHECK(r.metadata()[0].key == "u8");
  CHECK(r.metadata()[18].key == "arr.u64");
  CHECK(mmllm::test::walk(r).problem.empty());
}

TEST_CASE("strict accessors report missing keys and type mismatches clearly") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  auto missing = r.get<std::uint32_t>("llama.context_length");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::not_found);
  CHECK_THAT(missing.error().message, Contains("llama.context_length"));

  auto wrong = r.get<std::uint32_t>("i32");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().code == errc::malformed);
  CHECK(wrong.error().message == "gguf: key 'i32': value has type int32, expected uint32");
  CHECK_THAT(r.get<std::string_view>("u8").error().message, Contains("has type uint8, expected string"));
  CHECK_THAT(r.get<gguf_array>("str").error().message, Contains("has type string, expected array"));
  CHECK_THAT(r.get<float>("f64").error().message, Contains("expected float32"));
  CHECK_FALSE(r.find("u32")->try_get<std::int32_t>().has_value());

  auto absent = r.get_optional<bool>("tokenizer.ggml.add_bos_token");
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
  auto present = r.get_optional<bool>("bool");
  REQUIRE(present.has_value());
  CHECK(**present == true);
  CHECK_FALSE(r.get_optional<std::uint32_t>("bool").has_value());  // present with another type: an error
  CHECK(r.contains("u8"));
  CHECK_FALSE(r.contains("u"));
  CHECK(r.find("") == nullptr);
}

TEST_CASE("as<T> converts between integer types with range checks, and to floating point") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  CHECK(*r.get_as<std::uint64_t>("u8") == 250);
  CHECK(*r.get_as<std::int16_t>("u8") == 250);
  CHECK(*r.get_as<std::int64_t>("i32") == -7);
  CHECK(*r.get_as<std::int64_t>("u32") == 4000000000);
  auto too_big = r.get_as<std::int8_t>("u8");
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().code == errc::out_of_range);
  CHECK(too_big.error().message == "gguf: key 'u8': value 250 of type uint8 does not fit in int8");
  CHECK(r.get_as<std::uint32_t>("i32").error().code == errc::out_of_range);
  CHECK(r.get_as<std::int64_t>("u64").error().code == errc::out_of_range);
  CHECK(*r.get_as<std::uint64_t>("u64") == std::numeric_limits<std::uint64_t>::max());
  CHECK(*r.get_as<double>("f32") == static_cast<double>(0.1f));
  CHECK(*r.get_as<float>("f64") == static_cast<float>(3.141592653589793));
  CHECK(*r.get_as<double>("i64") == -9223372036854775808.0);
  CHECK(r.get_as<std::int32_t>("f32").error().code == errc::malformed);  // no float → integer
  CHECK(r.get_as<std::int32_t>("bool").error().code == errc::malformed);
  CHECK(*r.get_as<std::string_view>("str") == std::string_view("a\0b\xc3\xa9", 5));
}

TEST_CASE("numeric arrays are read in place and iterate like ranges") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  const gguf_array f = *r.get<gguf_array>("arr.f32");
  CHECK(f.element_type() == gguf_type::float32);
  REQUIRE(f.size() == 3);
  const auto nums = *f.numbers<float>();
  CHECK(nums[0] == 1.5f);
  CHECK(nums[1] == -2.0f);
  CHECK(std::isinf(nums[2]));
  CHECK(std::vector<float>(nums.begin(), nums.end()) == nums.to_vector());
  CHECK(nums.end() - nums.begin() == 3);
  CHECK(*std::min_element(nums.begin(), nums.end()) == -2.0f);
  // Elements sit in the file bytes (no copy).
  const auto file = r.file_bytes();
  CHECK(nums.bytes().data() >= file.data());
  CHECK(nums.bytes().data() + 12 <= file.data() + file.size());
  CHECK_THAT(f.numbers<double>().error().message, Contains("element type float32, expected float64"));

  const auto ints = *r.get<gguf_array>("arr.i32")->numbers<std::int32_t>();
  CHECK(std::accumulate(ints.begin(), ints.end(), std::int64_t{0}) == std::int64_t{1} - 2 + 3 + 0x7fffffff);
  auto widened = r.get<gguf_array>("arr.i32")->to_vector<std::int64_t>();
  REQUIRE(widened.has_value());
  CHECK(*widened == std::vector<std::int64_t>{1, -2, 3, 0x7fffffff});
  auto narrowed = r.get<gguf_array>("arr.i32")->to_vector<std::uint32_t>();
  REQUIRE_FALSE(narrowed.has_value());
  CHECK_THAT(narrowed.error().message, Contains("array element 1"));

  const auto bools = *r.get<gguf_array>("arr.bool")->numbers<bool>();
  CHECK(bools.to_vector() == std::vector<bool>{false, true, true});
  const auto big = *r.get<gguf_array>("arr.u64")->numbers<std::uint64_t>();
  CHECK(big[1] == std::numeric_limits<std::uint64_t>::max());

  const gguf_array empty = *r.get<gguf_array>("arr.empty");
  CHECK(empty.empty());
  CHECK(empty.element_type() == gguf_type::uint64);
  CHECK(empty.numbers<std::uint64_t>()->size() == 0);
  CHECK(empty.begin() == empty.end());
  CHECK(empty.at(0).error().code == errc::out_of_range);
}

TEST_CASE("string arrays are string_views into the file") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  const gguf_array a = *r.get<gguf_array>("arr.str");
  const auto s = *a.strings();
  REQUIRE(s.size() == 3);
  CHECK(s[0] == "<unk>");
  CHECK(s[1].empty());
  CHECK(s[2] == "\xe2\x96\x81the");
  const auto* base = reinterpret_cast<const char*>(r.file_bytes().data());
  CHECK(s[0].data() > base);
  CHECK(s[2].data() + s[2].size() <= base + r.file_bytes().size());
  CHECK(*a[2].get<std::string_view>() == s[2]);
  CHECK(a[2].raw().size() == 8 + s[2].size());  // the element's encoding: length + bytes
  CHECK(*a.to_vector<std::string>() == std::vector<std::string>{"<unk>", "", "\xe2\x96\x81the"});
  CHECK_FALSE(a.try_numbers<std::uint8_t>().has_value());
  std::size_t n = 0;
  for (const mmllm::gguf_value v : a) n += v.is_string() ? 1 : 0;
  CHECK(n == 3);
}

TEST_CASE("nested arrays keep each sub-array's element type") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  const gguf_array outer = *r.get<gguf_array>("arr.nested");
  CHECK(outer.element_type() == gguf_type::array);
  const auto subs = *outer.arrays();
  REQUIRE(subs.size() == 3);
  CHECK(gguf_array(subs[0]).numbers<std::uint8_t>()->to_vector() == std::vector<std::uint8_t>{1, 2});
  CHECK(gguf_array(subs[1]).strings()->front() == "x");
  CHECK(gguf_array(subs[2]).element_type() == gguf_type::int64);
  CHECK(gguf_array(subs[2]).empty());
  CHECK(outer[1].type_name() == "array<string>");
  CHECK_THAT(outer.strings().error().message, Contains("element type array, expected string"));
}

TEST_CASE("views stay valid after the reader moves") {
  const raw_gguf g = all_types();
  auto first = gguf_reader::parse(byte_source::copy_of(g.span()));
  REQUIRE(first.has_value());
  const auto strings = *first->get<gguf_array>("arr.str")->strings();
  const mmllm::gguf_value nested = *first->find("arr.nested");
  gguf_reader moved = std::move(*first);
  gguf_reader moved_again(std::move(moved));
  CHECK(strings[0] == "<unk>");
  CHECK(gguf_array(*gguf_array(nested).arrays()->begin()).size() == 2);
  CHECK(*moved_again.get<std::uint32_t>("u32") == 4000000000u);
  CHECK(gguf_array(nested).arrays()->data() == moved_again.get<gguf_array>("arr.nested")->arrays()->data());
}

TEST_CASE("reader-level array accessors name the key in their errors") {
  const raw_gguf g = all_types();
  const gguf_reader r = parse_all_types(g);
  const auto tokens = r.get_strings("arr.str");
  REQUIRE(tokens.has_value());
  CHECK(tokens->size() == 3);
  CHECK((*tokens)[0] == "<unk>");
  const auto scores = r.get_numbers<float>("arr.f32");
  REQUIRE(scores.has_value());
  CHECK((*scores)[0] == 1.5f);
  CHECK(r.get_strings("arr.f32").error().message ==
        "gguf: key 'arr.f32': array has element type float32, expected string");
  CHECK(r.get_numbers<std::int32_t>("arr.f32").error().code == errc::malformed);
  CHECK(r.get_numbers<float>("u8").error().message == "gguf: key 'u8': value has type uint8, expected array");
  CHECK(r.get_strings("missing").error().code == errc::not_found);
}
