// Test helper: writes GGUF bytes field by field, independently of mmllm's gguf_writer, so
// tests can build files the writer refuses to make (bad counts, types, offsets …) and
// check the writer's output against a second encoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace mmllm::test {

class raw_gguf {
 public:
  std::vector<std::byte> bytes;

  raw_gguf& u8(std::uint8_t v) { return put(&v, 1); }
  raw_gguf& u32(std::uint32_t v) { return le(v); }
  raw_gguf& u64(std::uint64_t v) { return le(v); }
  raw_gguf& i64(std::int64_t v) { return le(static_cast<std::uint64_t>(v)); }
  raw_gguf& f32(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    return le(u);
  }
  /// A GGUF string: u64 length, then the bytes.
  raw_gguf& str(std::string_view s) {
    u64(s.size());
    return put(s.data(), s.size());
  }
  raw_gguf& raw(std::string_view s) { return put(s.data(), s.size()); }
  /// Magic, version, tensor count, key/value count.
  raw_gguf& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    raw("GGUF");
    u32(version);
    u64(n_tensors);
    return u64(n_kv);
  }
  /// A key and a value type id (the value follows).
  raw_gguf& key(std::string_view k, std::uint32_t type) {
    str(k);
    return u32(type);
  }
  /// A tensor info.
  raw_gguf& tensor(std::string_view name, std::initializer_list<std::int64_t> ne, std::uint32_t type,
                   std::uint64_t offset) {
    str(name);
    u32(static_cast<std::uint32_t>(ne.size()));
    for (std::int64_t e : ne) i64(e);
    u32(type);
    return u64(offset);
  }
  /// Zero bytes up to the next multiple of `alignment`.
  raw_gguf& pad(std::size_t alignment) {
    while (bytes.size() % alignment != 0) u8(0);
    return *this;
  }
  raw_gguf& zeros(std::size_t n) {
    bytes.resize(bytes.size() + n, std::byte{0});
    return *this;
  }
  [[nodiscard]] std::span<const std::byte> span() const { return bytes; }

 private:
  template <class U>
  raw_gguf& le(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      bytes.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
    return *this;
  }
  raw_gguf& put(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
};

}  // namespace mmllm::test
