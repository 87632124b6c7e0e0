// mapped_file and byte_source: contents equal the file read by other means, clear errors,
// move semantics, empty files.
#include <mmllm/io/byte_source.hpp>
#include <mmllm/io/mapped_file.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

using Catch::Matchers::Contains;
using mmllm::byte_source;
using mmllm::errc;
using mmllm::mapped_file;

TEST_CASE("a mapped file holds exactly the file's bytes") {
  const auto path = mmllm::test::fixture_path("synthetic/text/llama_q4_0/model.gguf");
  const auto expected = mmllm::test::read_bytes(path);
  auto f = mapped_file::open(path.string());
  REQUIRE(f.has_value());
  CHECK(f->size() == std::filesystem::file_size(path));
  CHECK(f->path() == path.string());
  REQUIRE(f->size() == expected.size());
  CHECK(std::equal(expected.begin(), expected.end(), f->bytes().begin(),
                   [](std::uint8_t a, std::byte b) { return a == static_cast<std::uint8_t>(b); }));

  // Moving hands the mapping over without moving the bytes.
  const std::byte* data = f->data();
  mapped_file g = std::move(*f);
  CHECK(g.data() == data);
  CHECK(f->data() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(f->empty());
  mapped_file h;
  h = std::move(g);
  CHECK(h.data() == data);
  CHECK(h.size() == expected.size());

  auto src = byte_source::from(std::move(h));
  CHECK(src.owning());
  CHECK(src.bytes().data() == data);
  byte_source moved = std::move(src);
  CHECK(moved.bytes().data() == data);
}

TEST_CASE("mapping failures name the path and the reason") {
  auto missing = mapped_file::open("/nonexistent/file.gguf");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == errc::io_error);
  CHECK_THAT(missing.error().message, Contains("/nonexistent/file.gguf"));
  CHECK_THAT(missing.error().message, Contains("No such file"));

  auto dir = mapped_file::open(mmllm::test::fixture_path("vocab").string());
  REQUIRE_FALSE(dir.has_value());
  CHECK(dir.error().code == errc::io_error);
  CHECK_THAT(dir.error().message, Contains("not a regular file"));

  CHECK_FALSE(byte_source::map("/nonexistent/file.gguf").has_value());
}

TEST_CASE("an empty file maps to an empty span") {
  const auto path = std::filesystem::temp_directory_path() / "mmllm-test-empty-file.bin";
  std::FILE* fp = std::fopen(path.string().c_str(), "wb");
  REQUIRE(fp != nullptr);
  std::fclose(fp);
  auto f = mapped_file::open(path.string());
  std::filesystem::remove(path);
  REQUIRE(f.has_value());
  CHECK(f->empty());
  CHECK(f->bytes().empty());
}

TEST_CASE("byte sources own or borrow") {
  std::vector<std::byte> buf = {std::byte{1}, std::byte{2}, std::byte{3}};
  const auto borrowed = byte_source::borrow(buf);
  CHECK_FALSE(borrowed.owning());
  CHECK(borrowed.bytes().data() == buf.data());
  const auto copied = byte_source::copy_of(buf);
  CHECK(copied.owning());
  CHECK(copied.bytes().data() != buf.data());
  CHECK(copied.size() == 3);
  const std::byte* heap = buf.data();
  auto owned = byte_source::own(std::move(buf));
  CHECK(owned.bytes().data() == heap);
  byte_source moved = std::move(owned);
  CHECK(moved.bytes().data() == heap);
  CHECK(moved.bytes()[2] == std::byte{3});
  CHECK(byte_source{}.bytes().empty());
}
