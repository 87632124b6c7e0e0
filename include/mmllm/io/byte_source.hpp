// mmllm/io/byte_source.hpp — immutable bytes a parser reads from: a mapped file, an owned
// buffer, or a borrowed span.
//
// Parsers (gguf_reader, …) keep their `byte_source` alive and hand out views (string_views,
// tensor spans) into it, so the same parser runs on a file, on a buffer built in memory
// (tests, the writer's output) and on fuzzer input:
//
//   auto src = mmllm::byte_source::map("model.gguf");                 // mmap, owning
//   auto own = mmllm::byte_source::own(std::move(vector_of_bytes));   // owning buffer
//   auto view = mmllm::byte_source::borrow(span);                     // caller keeps span alive
//
// Moving a byte_source never moves the bytes themselves (the heap buffer or mapping is
// handed over), so views into it stay valid across moves.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../core/result.hpp"
#include "mapped_file.hpp"

namespace mmllm {

/// Owning or non-owning read-only bytes (move-only when owning a mapping).
class byte_source {
 public:
  byte_source() noexcept = default;

  /// Non-owning: the caller keeps `bytes` alive (and unchanged) while this is used.
  [[nodiscard]] static byte_source borrow(std::span<const std::byte> bytes) noexcept {
    return byte_source(storage(std::in_place_index<0>, bytes));
  }
  /// Takes ownership of a buffer.
  [[nodiscard]] static byte_source own(std::vector<std::byte> bytes) noexcept {
    return byte_source(storage(std::in_place_index<1>, std::move(bytes)));
  }
  /// Copies `bytes` into an owned buffer.
  [[nodiscard]] static byte_source copy_of(std::span<const std::byte> bytes) {
    return own(std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  /// Takes ownership of a mapped file.
  [[nodiscard]] static byte_source from(mapped_file file) noexcept {
    return byte_source(storage(std::in_place_index<2>, std::move(file)));
  }
  /// Maps the file at `path` (see mapped_file::open).
  [[nodiscard]] static result<byte_source> map(std::string_view path) {
    auto f = mapped_file::open(path);
    if (!f) return std::move(f).error();
    return from(std::move(*f));
  }

  /// The bytes.
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
    switch (storage_.index()) {
      case 1: {
        const auto& v = *std::get_if<1>(&storage_);
        return {v.data(), v.size()};
      }
      case 2: return std::get_if<2>(&storage_)->bytes();
      default: return *std::get_if<0>(&storage_);
    }
  }
  [[nodiscard]] std::size_t size() const noexcept { return bytes().size(); }
  /// True when the bytes are owned (a buffer or a mapping) rather than borrowed.
  [[nodiscard]] bool owning() const noexcept { return storage_.index() != 0; }

 private:
  using storage = std::variant<std::span<const std::byte>, std::vector<std::byte>, mapped_file>;
  explicit byte_source(storage s) noexcept : storage_(std::move(s)) {}
  storage storage_;
};

}  // namespace mmllm
