// Helpers for reading the shared, read-only test fixtures (../shared/fixtures by default;
// the build passes the directory as MMLLM_FIXTURES_DIR).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef MMLLM_FIXTURES_DIR
#error "MMLLM_FIXTURES_DIR must be defined by the build"
#endif

namespace mmllm::test {

/// Absolute path of a fixture file, e.g. fixture_path("quant/q4_0.blocks").
inline std::filesystem::path fixture_path(const std::string& rel) {
  return std::filesystem::path(MMLLM_FIXTURES_DIR) / rel;
}

/// Whole file as bytes; throws (failing the test) when it cannot be read.
inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open fixture " + p.string());
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// Whole file as text.
inline std::string read_text(const std::filesystem::path& p) {
  auto b = read_bytes(p);
  return {b.begin(), b.end()};
}

/// A raw little-endian float32 array file.
inline std::vector<float> read_f32(const std::filesystem::path& p) {
  auto b = read_bytes(p);
  if (b.size() % sizeof(float) != 0) throw std::runtime_error("not an f32 array: " + p.string());
  std::vector<float> v(b.size() / sizeof(float));
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

}  // namespace mmllm::test
