// Shared helpers of the multimodal tests: the synthetic/mm fixtures (reference.json, arrays,
// media) and comparisons.
#pragma once

#include <mmllm/media/image_decode.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace mmllm::test {

/// One fixture directory of synthetic/mm.
struct mm_fixture {
  std::string name;
  nlohmann::json config, reference;

  explicit mm_fixture(std::string n) : name(std::move(n)) {
    config = nlohmann::json::parse(read_text(fixture_path("synthetic/mm/" + name + "/config.json")));
    reference = nlohmann::json::parse(read_text(fixture_path("synthetic/mm/" + name + "/reference.json")));
  }
  [[nodiscard]] std::string dir() const { return fixture_path("synthetic/mm/" + name).string(); }
  [[nodiscard]] std::string file(const std::string& rel) const { return dir() + "/" + rel; }
  /// A path recorded as "shared/fixtures/…" in reference.json.
  static std::string shared_path(const std::string& p) {
    const std::string prefix = "shared/fixtures/";
    return fixture_path(p.rfind(prefix, 0) == 0 ? p.substr(prefix.size()) : p).string();
  }
  /// The array named `key` in reference.json "arrays" (the recorded file name is used).
  [[nodiscard]] std::vector<float> array(const std::string& key) const {
    return read_f32(shared_path(reference.at("arrays").at(key).at("file").get<std::string>()));
  }
  [[nodiscard]] bool has_array(const std::string& key) const { return reference.at("arrays").contains(key); }
  /// The language model's file.
  [[nodiscard]] std::string model_path() const {
    return shared_path(reference.at("files").at("model").get<std::string>());
  }
  [[nodiscard]] std::string mmproj_path(bool f16 = false) const {
    return shared_path(reference.at("files").at(f16 ? "mmproj_f16" : "mmproj").get<std::string>());
  }
  /// Media chunks of the recorded tokenization, in order.
  [[nodiscard]] std::vector<nlohmann::json> media_chunks() const {
    std::vector<nlohmann::json> v;
    for (const auto& c : reference.at("tokenization").at("chunks"))
      if (c.at("type") != "text") v.push_back(c);
    return v;
  }
};

inline const media::image_u8& test_image_peer() {
  static const media::image_u8 img = [] {
    auto r = media::decode_image(read_bytes(fixture_path("media/test-1.jpeg")),
                                 media::image_decode_options::llama_cpp());
    REQUIRE(r);
    return std::move(r).value();
  }();
  return img;
}

inline float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace mmllm::test
