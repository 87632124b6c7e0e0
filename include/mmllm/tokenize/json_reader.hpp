// mmllm/tokenize/json_reader.hpp — a small, non-throwing JSON reader for tokenizer files.
//
// `json_cursor` walks JSON text without building a tree (used for the large vocab and merge
// tables of tokenizer.json); `json_value` is a small DOM for the rest (normalizer,
// pre_tokenizer, decoder, post_processor, added_tokens, tokenizer_config.json). Strings
// are unescaped (\uXXXX surrogate pairs included); lone surrogates become U+FFFD. Errors are
// errc::malformed with the byte offset; nesting deeper than 256 levels is rejected.
//
//   mmllm::json_cursor c(text);
//   auto v = c.read_value();            // result<json_value>
//   if (v && v->is_object()) { const json_value* m = v->find("model"); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "unicode.hpp"

namespace mmllm {

/// A parsed JSON value (objects keep member order; lookups are linear).
class json_value {
 public:
  enum class kind : std::uint8_t { null, boolean, number, string, array, object };

  json_value() = default;
  [[nodiscard]] kind type() const noexcept { return kind_; }
  [[nodiscard]] bool is_null() const noexcept { return kind_ == kind::null; }
  [[nodiscard]] bool is_bool() const noexcept { return kind_ == kind::boolean; }
  [[nodiscard]] bool is_number() const noexcept { return kind_ == kind::number; }
  [[nodiscard]] bool is_string() const noexcept { return kind_ == kind::string; }
  [[nodiscard]] bool is_array() const noexcept { return kind_ == kind::array; }
  [[nodiscard]] bool is_object() const noexcept { return kind_ == kind::object; }

  [[nodiscard]] bool as_bool(bool fallback = false) const noexcept { return is_bool() ? bool_ : fallback; }
  [[nodiscard]] double as_number(double fallback = 0) const noexcept {
    return is_number() ? number_ : fallback;
  }
  [[nodiscard]] const std::string& as_string() const noexcept { return string_; }
  [[nodiscard]] const std::vector<json_value>& items() const noexcept { return items_; }
  [[nodiscard]] const std::vector<std::pair<std::string, json_value>>& members() const noexcept {
    return members_;
  }

  /// Member `key` of an object, or nullptr (also for non-objects).
  [[nodiscard]] const json_value* find(std::string_view key) const noexcept {
    if (!is_object()) return nullptr;
    for (const auto& [k, v] : members_)
      if (k == key) return &v;
    return nullptr;
  }
  /// String member or `fallback` when absent / not a string.
  [[nodiscard]] std::string_view string_or(std::string_view key, std::string_view fallback) const noexcept {
    const json_value* v = find(key);
    return v != nullptr && v->is_string() ? std::string_view(v->string_) : fallback;
  }
  /// Boolean member or `fallback`.
  [[nodiscard]] bool bool_or(std::string_view key, bool fallback) const noexcept {
    const json_value* v = find(key);
    return v != nullptr && v->is_bool() ? v->bool_ : fallback;
  }
  /// Numeric member or `fallback`.
  [[nodiscard]] double number_or(std::string_view key, double fallback) const noexcept {
    const json_value* v = find(key);
    return v != nullptr && v->is_number() ? v->number_ : fallback;
  }

  static json_value make_bool(bool b) {
    json_value v;
    v.kind_ = kind::boolean;
    v.bool_ = b;
    return v;
  }
  static json_value make_number(double d) {
    json_value v;
    v.kind_ = kind::number;
    v.number_ = d;
    return v;
  }
  static json_value make_string(std::string s) {
    json_value v;
    v.kind_ = kind::string;
    v.string_ = std::move(s);
    return v;
  }
  static json_value make_array(std::vector<json_value> items) {
    json_value v;
    v.kind_ = kind::array;
    v.items_ = std::move(items);
    return v;
  }
  static json_value make_object(std::vector<std::pair<std::string, json_value>> members) {
    json_value v;
    v.kind_ = kind::object;
    v.members_ = std::move(members);
    return v;
  }

 private:
  kind kind_ = kind::null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<json_value> items_;
  std::vector<std::pair<std::string, json_value>> members_;
};

/// Streaming reader over JSON text.
class json_cursor {
 public:
  explicit json_cursor(std::string_view text) noexcept : t_(text) {}

  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] bool at_end() {
    skip_ws();
    return pos_ >= t_.size();
  }
  /// Next non-space character, or '\0' at the end.
  [[nodiscard]] char peek() {
    skip_ws();
    return pos_ < t_.size() ? t_[pos_] : '\0';
  }

  [[nodiscard]] error fail(std::string_view what) const {
    return make_error(errc::malformed, "json: ", what, " at byte ", std::to_string(pos_));
  }

  /// Reads a string; the view points into the text when it has no escapes, else into `buf`.
  result<std::string_view> read_string(std::string& buf) {
    skip_ws();
    if (pos_ >= t_.size() || t_[pos_] != '"') return fail("expected a string");
    ++pos_;
    const std::size_t start = pos_;
    while (pos_ < t_.size() && t_[pos_] != '"' && t_[pos_] != '\\') {
      if (static_cast<unsigned char>(t_[pos_]) < 0x20) return fail("control character in string");
      ++pos_;
    }
    if (pos_ >= t_.size()) return fail("unterminated string");
    if (t_[pos_] == '"') {
      return t_.substr(start, pos_++ - start);
    }
    buf.assign(t_.substr(start, pos_ - start));
    while (pos_ < t_.size()) {
      const char c = t_[pos_++];
      if (c == '"') return std::string_view(buf);
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        buf.push_back(c);
        continue;
      }
      if (pos_ >= t_.size()) break;
      const char e = t_[pos_++];
      switch (e) {
        case '"': buf.push_back('"'); break;
        case '\\': buf.push_back('\\'); break;
        case '/': buf.push_back('/'); break;
        case 'b': buf.push_back('\b'); break;
        case 'f': buf.push_back('\f'); break;
        case 'n': buf.push_back('\n'); break;
        case 'r': buf.push_back('\r'); break;
        case 't': buf.push_back('\t'); break;
        case 'u': {
          MMLLM_TRY_ASSIGN(std::uint32_t cp, read_hex4());
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (t_.substr(pos_, 2) == "\\u") {
              const std::size_t save = pos_;
              pos_ += 2;
              MMLLM_TRY_ASSIGN(const std::uint32_t lo, read_hex4());
              if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              } else {
                pos_ = save;
                cp = replacement_character;
              }
            } else {
              cp = replacement_character;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = replacement_character;
          }
          utf8_append(buf, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  result<double> read_number() {
    skip_ws();
    const std::size_t start = pos_;
    if (pos_ < t_.size() && t_[pos_] == '-') ++pos_;
    while (pos_ < t_.size() && ((t_[pos_] >= '0' && t_[pos_] <= '9') || t_[pos_] == '.' || t_[pos_] == 'e' ||
                                t_[pos_] == 'E' || t_[pos_] == '+' || t_[pos_] == '-'))
      ++pos_;
    if (pos_ == start) return fail("expected a number");
    const std::string s(t_.substr(start, pos_ - start));
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return fail("bad number");
    return d;
  }

  /// Calls f(key) for each member of an object; f must consume the member's value.
  template <class F>
  result<void> read_object(F&& f) {
    if (peek() != '{') return fail("expected an object");
    ++pos_;
    if (++depth_ > 256) return fail("nesting too deep");
    if (peek() == '}') {
      ++pos_;
      --depth_;
      return ok();
    }
    std::string kbuf;
    for (;;) {
      MMLLM_TRY_ASSIGN(std::string_view key, read_string(kbuf));
      std::string key_copy;
      if (key.data() == kbuf.data()) {  // f may reuse kbuf through nested reads
        key_copy = std::string(key);
        key = key_copy;
      }
      if (peek() != ':') return fail("expected ':'");
      ++pos_;
      MMLLM_TRY(f(key));
      const char c = peek();
      ++pos_;
      if (c == '}') break;
      if (c != ',') return fail("expected ',' or '}'");
    }
    --depth_;
    return ok();
  }

  /// Calls f() for each element of an array; f must consume the element.
  template <class F>
  result<void> read_array(F&& f) {
    if (peek() != '[') return fail("expected an array");
    ++pos_;
    if (++depth_ > 256) return fail("nesting too deep");
    if (peek() == ']') {
      ++pos_;
      --depth_;
      return ok();
    }
    for (;;) {
      MMLLM_TRY(f());
      const char c = peek();
      ++pos_;
      if (c == ']') break;
      if (c != ',') return fail("expected ',' or ']'");
    }
    --depth_;
    return ok();
  }

  result<void> skip_value() {
    const char c = peek();
    if (c == '{') return read_object([&](std::string_view) { return skip_value(); });
    if (c == '[') return read_array([&] { return skip_value(); });
    if (c == '"') {
      std::string tmp;
      MMLLM_TRY(read_string(tmp));
      return ok();
    }
    return read_literal_or_number().has_value() ? ok() : result<void>(fail("bad value"));
  }

  result<json_value> read_value() {
    const char c = peek();
    if (c == '{') {
      std::vector<std::pair<std::string, json_value>> members;
      MMLLM_TRY(read_object([&](std::string_view key) -> result<void> {
        MMLLM_TRY_ASSIGN(json_value v, read_value());
        members.emplace_back(std::string(key), std::move(v));
        return ok();
      }));
      return json_value::make_object(std::move(members));
    }
    if (c == '[') {
      std::vector<json_value> items;
      MMLLM_TRY(read_array([&]() -> result<void> {
        MMLLM_TRY_ASSIGN(json_value v, read_value());
        items.push_back(std::move(v));
        return ok();
      }));
      return json_value::make_array(std::move(items));
    }
    if (c == '"') {
      std::string buf;
      MMLLM_TRY_ASSIGN(const std::string_view s, read_string(buf));
      return json_value::make_string(std::string(s));
    }
    return read_literal_or_number();
  }

 private:
  std::string_view t_;
  std::size_t pos_ = 0;
  int depth_ = 0;

  void skip_ws() noexcept {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\n' || t_[pos_] == '\r' || t_[pos_] == '\t'))
      ++pos_;
  }

  result<std::uint32_t> read_hex4() {
    if (pos_ + 4 > t_.size()) return fail("bad \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = t_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else
        return fail("bad \\u escape");
    }
    return v;
  }

  result<json_value> read_literal_or_number() {
    skip_ws();
    const std::string_view rest = t_.substr(pos_);
    if (rest.substr(0, 4) == "null") {
      pos_ += 4;
      return json_value();
    }
    if (rest.substr(0, 4) == "true") {
      pos_ += 4;
      return json_value::make_bool(true);
    }
    if (rest.substr(0, 5) == "false") {
      pos_ += 5;
      return json_value::make_bool(false);
    }
    // Python's json writes these for non-finite floats.
    if (rest.substr(0, 3) == "NaN") {
      pos_ += 3;
      return json_value::make_number(std::numeric_limits<double>::quiet_NaN());
    }
    MMLLM_TRY_ASSIGN(const double d, read_number());
    return json_value::make_number(d);
  }
};

/// Parses a whole JSON document.
inline result<json_value> json_parse(std::string_view text) {
  json_cursor c(text);
  MMLLM_TRY_ASSIGN(json_value v, c.read_value());
  if (!c.at_end()) return c.fail("trailing characters");
  return v;
}

}  // namespace mmllm
