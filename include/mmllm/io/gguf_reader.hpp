// mmllm/io/gguf_reader.hpp — validated, zero-copy reader of GGUF model files.
//
// `gguf_reader` parses a GGUF v2/v3 file from a `byte_source` (a memory-mapped file, an
// owned buffer or a borrowed span) and checks everything a consumer relies on before
// handing anything out: every count and length against the bytes left (before any
// allocation), value types, array nesting depth, duplicate keys and tensor names, tensor
// dtypes, shapes, element-count overflow, block-size multiples, alignment, bounds and
// overlap of tensor data. Malformed input gives an `error` (errc::malformed, truncated,
// out_of_range or unsupported) whose message names the key, tensor and offset; it never
// reads out of bounds.
//
//   auto r = mmllm::gguf_reader::open("model.gguf");
//   if (!r) { log(r.error().what()); return; }
//   std::uint32_t n_ctx = r->get<std::uint32_t>("llama.context_length").value_or(2048);
//   auto tokens = r->get<mmllm::gguf_array>("tokenizer.ggml.tokens");  // then ->strings()
//   for (const mmllm::gguf_tensor_info& t : r->tensors()) {
//     mmllm::any_matrix_view w = r->tensor_matrix(t);   // rows = ne[1]*ne[2]*ne[3], cols = ne[0]
//   }
//
// Views (keys, string values, tensor names, tensor data) point into the source bytes and
// stay valid while the reader lives (also after moving it).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/any_matrix_view.hpp"
#include "../core/dtype.hpp"
#include "../core/result.hpp"
#include "byte_source.hpp"
#include "gguf_format.hpp"
#include "gguf_value.hpp"
#include "little_endian.hpp"

namespace mmllm {

/// One metadata entry: a key and its value (views into the file).
struct gguf_kv {
  std::string_view key;
  gguf_value value;
};

/// A tensor's description. Extents follow ggml: ne[0] is the innermost (contiguous)
/// dimension; unused dimensions are 1.
struct gguf_tensor_info {
  std::string_view name;
  dtype type = dtype::f32;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, gguf_max_dims> ne{1, 1, 1, 1};
  std::uint64_t offset = 0;  ///< from the start of the data section (a multiple of the alignment)
  std::uint64_t size = 0;    ///< bytes of data

  /// The n_dims extents, ne[0] first.
  [[nodiscard]] std::span<const std::uint64_t> shape() const noexcept { return {ne.data(), n_dims}; }
  /// Number of elements (the reader checked that it does not overflow).
  [[nodiscard]] std::uint64_t n_elements() const noexcept { return ne[0] * ne[1] * ne[2] * ne[3]; }
  /// Rows of the 2-D view: ne[1] * ne[2] * ne[3].
  [[nodiscard]] std::uint64_t rows() const noexcept { return ne[1] * ne[2] * ne[3]; }
  /// Elements per row: ne[0].
  [[nodiscard]] std::uint64_t cols() const noexcept { return ne[0]; }
};

/// Limits and policies of the reader.
struct gguf_read_options {
  /// Deepest array nesting accepted: 1 = arrays of scalars/strings only (all llama.cpp
  /// reads), 2 = arrays of arrays, …; at most 64.
  std::uint32_t max_array_depth = 8;
  /// Longest tensor name accepted (default: llama.cpp's limit).
  std::size_t max_tensor_name_length = gguf_peer_max_tensor_name_length;
  /// Reject tensors whose dtype mmllm cannot compute with (dtype_traits::supported).
  bool require_supported_dtypes = false;
};

namespace detail {
class gguf_parser;
}  // namespace detail

/// A parsed GGUF file. Move-only; see the header comment for an example.
class gguf_reader {
 public:
  gguf_reader(gguf_reader&&) noexcept = default;
  gguf_reader& operator=(gguf_reader&&) noexcept = default;
  gguf_reader(const gguf_reader&) = delete;
  gguf_reader& operator=(const gguf_reader&) = delete;
  ~gguf_reader() = default;

  /// Maps and parses the file at `path`.
  [[nodiscard]] static result<gguf_reader> open(std::string_view path, const gguf_read_options& options = {});
  /// Parses `source` (kept alive inside the reader; a borrowed source must outlive it).
  [[nodiscard]] static result<gguf_reader> parse(byte_source source, const gguf_read_options& options = {});

  /// Format version (2 or 3).
  [[nodiscard]] std::uint32_t version() const noexcept { return version_; }
  /// Data alignment (`general.alignment`, default 32).
  [[nodiscard]] std::uint64_t alignment() const noexcept { return alignment_; }
  /// File offset of the data section (may equal or exceed the file size when no tensor
  /// has data, e.g. vocabulary-only files).
  [[nodiscard]] std::uint64_t data_offset() const noexcept { return data_offset_; }
  /// The whole file.
  [[nodiscard]] std::span<const std::byte> file_bytes() const noexcept { return source_.bytes(); }

  // --- metadata ---------------------------------------------------------------------------

  /// All entries in file order.
  [[nodiscard]] std::span<const gguf_kv> metadata() const noexcept { return kvs_; }
  /// The value of `key`, or nullptr.
  [[nodiscard]] const gguf_value* find(std::string_view key) const noexcept {
    const auto it = std::lower_bound(kv_order_.begin(), kv_order_.end(), key,
                                     [this](std::size_t i, std::string_view k) { return kvs_[i].key < k; });
    if (it == kv_order_.end() || kvs_[*it].key != key) return nullptr;
    return &kvs_[*it].value;
  }
  [[nodiscard]] bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  /// The value of `key` if its type is exactly T's (gguf_value's type mapping):
  /// errc::not_found when absent, errc::malformed naming the key and both types otherwise.
  template <gguf_gettable T>
  [[nodiscard]] result<T> get(std::string_view key) const {
    const gguf_value* v = find(key);
    if (v == nullptr) return missing(key);
    return with_key(key, v->get<T>());
  }
  /// As get(), but an absent key gives nullopt (a present key of another type is an error).
  template <gguf_gettable T>
  [[nodiscard]] result<std::optional<T>> get_optional(std::string_view key) const {
    const gguf_value* v = find(key);
    if (v == nullptr) return std::optional<T>();
    auto r = with_key(key, v->get<T>());
    if (!r) return std::move(r).error();
    return std::optional<T>(std::move(*r));
  }
  /// The value of `key` converted as by gguf_value::as<T> (integers range-checked).
  template <gguf_gettable T>
  [[nodiscard]] result<T> get_as(std::string_view key) const {
    const gguf_value* v = find(key);
    if (v == nullptr) return missing(key);
    return with_key(key, v->as<T>());
  }
  /// The strings of the string array `key` (e.g. "tokenizer.ggml.tokens"), as views into
  /// the file; errors name the key.
  [[nodiscard]] result<std::span<const std::string_view>> get_strings(std::string_view key) const {
    MMLLM_TRY_ASSIGN(const gguf_array a, get<gguf_array>(key));
    return with_key(key, a.strings());
  }
  /// The elements of the numeric array `key` whose element type is exactly T's (e.g.
  /// get_numbers<float>("tokenizer.ggml.scores")), read in place; errors name the key.
  template <gguf_scalar T>
  [[nodiscard]] result<gguf_numbers<T>> get_numbers(std::string_view key) const {
    MMLLM_TRY_ASSIGN(const gguf_array a, get<gguf_array>(key));
    return with_key(key, a.numbers<T>());
  }
  /// `general.architecture` ("llama", "qwen2", "clip", …).
  [[nodiscard]] result<std::string_view> architecture() const {
    return get<std::string_view>("general.architecture");
  }

  // --- tensors ----------------------------------------------------------------------------

  /// All tensors in file order.
  [[nodiscard]] std::span<const gguf_tensor_info> tensors() const noexcept { return tensors_; }
  /// The tensor named `name`, or nullptr.
  [[nodiscard]] const gguf_tensor_info* find_tensor(std::string_view name) const noexcept {
    const auto it =
        std::lower_bound(tensor_order_.begin(), tensor_order_.end(), name,
                         [this](std::size_t i, std::string_view n) { return tensors_[i].name < n; });
    if (it == tensor_order_.end() || tensors_[*it].name != name) return nullptr;
    return &tensors_[*it];
  }
  /// The tensor named `name`, or errc::not_found.
  [[nodiscard]] result<gguf_tensor_info> tensor(std::string_view name) const {
    if (const gguf_tensor_info* t = find_tensor(name)) return *t;
    return make_error(errc::not_found, "gguf: tensor '", name, "' not found");
  }
  /// The data of a tensor of this file (empty for a tensor with no elements).
  [[nodiscard]] std::span<const std::byte> tensor_data(const gguf_tensor_info& t) const noexcept {
    const std::span<const std::byte> file = source_.bytes();
    if (t.size == 0 || data_offset_ > file.size() || t.offset > file.size() - data_offset_ ||
        t.size > file.size() - data_offset_ - t.offset)
      return {};
    return file.subspan(static_cast<std::size_t>(data_offset_ + t.offset), static_cast<std::size_t>(t.size));
  }
  /// The data of a tensor as a rows × cols matrix (rows = ne[1]*ne[2]*ne[3], cols = ne[0]).
  [[nodiscard]] any_matrix_view tensor_matrix(const gguf_tensor_info& t) const noexcept {
    any_matrix_view m =
        any_matrix_view::dense(t.type, tensor_data(t).data(), 0, static_cast<std::size_t>(t.cols()));
    m.rows = static_cast<std::size_t>(t.rows());
    return m;
  }
  [[nodiscard]] result<std::span<const std::byte>> tensor_data(std::string_view name) const {
    MMLLM_TRY_ASSIGN(const gguf_tensor_info t, tensor(name));
    return tensor_data(t);
  }
  [[nodiscard]] result<any_matrix_view> tensor_matrix(std::string_view name) const {
    MMLLM_TRY_ASSIGN(const gguf_tensor_info t, tensor(name));
    return tensor_matrix(t);
  }

 private:
  friend class detail::gguf_parser;
  gguf_reader() = default;

  static error missing(std::string_view key) {
    return make_error(errc::not_found, "gguf: key '", key, "' not found");
  }
  template <class T>
  static result<T> with_key(std::string_view key, result<T> r) {
    if (r) return r;
    return make_error(r.error().code, "gguf: key '", key, "': ", r.error().message);
  }

  byte_source source_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = gguf_default_alignment;
  std::uint64_t data_offset_ = 0;
  std::vector<gguf_kv> kvs_;
  std::vector<std::size_t> kv_order_;  // indices of kvs_ sorted by key
  std::vector<std::string_view> string_pool_;
  std::vector<gguf_value> value_pool_;
  std::vector<gguf_tensor_info> tensors_;
  std::vector<std::size_t> tensor_order_;  // indices of tensors_ sorted by name
};

namespace detail {

/// Single-pass GGUF parser filling a gguf_reader (not part of the public API).
class gguf_parser {
 public:
  gguf_parser(gguf_reader& out, const gguf_read_options& options) noexcept
      : out_(out),
        base_(out.source_.bytes().data()),
        size_(out.source_.bytes().size()),
        max_depth_(std::clamp<std::uint32_t>(options.max_array_depth, 1, 64)),
        options_(options) {}

  result<void> run() {
    MMLLM_TRY(parse_header());
    MMLLM_TRY(parse_metadata());
    MMLLM_TRY(parse_tensor_infos());
    MMLLM_TRY(check_tensor_data());
    for (gguf_kv& kv : out_.kvs_) resolve(kv.value);
    for (gguf_value& v : out_.value_pool_) resolve(v);
    return ok();
  }

 private:
  static std::string num(std::uint64_t v) { return std::to_string(v); }
  static std::string num_signed(std::int64_t v) { return std::to_string(v); }

  // "key 'x'", "key #3", "tensor 'w'", "header": what is being parsed, for messages.
  [[nodiscard]] std::string context() const {
    std::string s(ctx_kind_);
    if (!ctx_name_.empty() || ctx_named_) {
      s += " '";
      s += ctx_name_;
      s += '\'';
    } else if (ctx_kind_ != "header") {
      s += " #";
      s += num(ctx_index_);
    }
    return s;
  }
  void set_context(std::string_view kind, std::uint64_t index) noexcept {
    ctx_kind_ = kind;
    ctx_index_ = index;
    ctx_name_ = {};
    ctx_named_ = false;
  }
  void name_context(std::string_view name) noexcept {
    ctx_name_ = name;
    ctx_named_ = true;
  }

  // "gguf: <context>: <parts…> (at byte offset N)"
  [[nodiscard]] error fail_at(errc code, std::uint64_t offset,
                              std::initializer_list<std::string_view> parts) const {
    error e{code, "gguf: "};
    e.message += context();
    e.message += ": ";
    for (const std::string_view p : parts) e.message += p;
    e.message += " (at byte offset ";
    e.message += num(offset);
    e.message += ')';
    return e;
  }
  [[nodiscard]] error fail(errc code, std::initializer_list<std::string_view> parts) const {
    return fail_at(code, pos_, parts);
  }
  // A count or length that does not fit in what is left: out_of_range when it could not
  // fit in the whole file either (an absurd value), truncated otherwise.
  [[nodiscard]] errc too_big(std::uint64_t needed) const noexcept {
    return needed > size_ ? errc::out_of_range : errc::truncated;
  }

  [[nodiscard]] std::size_t remaining() const noexcept { return size_ - pos_; }

  template <class T>
  result<T> read(std::string_view field) {
    if (remaining() < sizeof(T))
      return fail(errc::truncated, {"file ends inside the ", field, " (", num(sizeof(T)), " bytes needed, ",
                                    num(remaining()), " left)"});
    const T v = load_le<T>(base_ + pos_);
    pos_ += sizeof(T);
    return v;
  }

  result<std::string_view> read_string(std::string_view field) {
    const std::size_t start = pos_;
    MMLLM_TRY_ASSIGN(const std::uint64_t len, read<std::uint64_t>(field));
    if (len > remaining()) {
      pos_ = start;
      return fail(too_big(len), {field, " length ", num(len), " exceeds the ", num(remaining() - 8),
                                 " bytes left in the file"});
    }
    const std::string_view s(reinterpret_cast<const char*>(base_ + pos_), static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return s;
  }

  result<gguf_type> read_type(std::string_view field) {
    const std::size_t start = pos_;
    MMLLM_TRY_ASSIGN(const std::uint32_t id, read<std::uint32_t>(field));
    if (id >= gguf_type_count)
      return fail_at(errc::malformed, start, {field, " ", num(id), " is not a GGUF value type (0..12)"});
    return static_cast<gguf_type>(id);
  }

  result<void> parse_header() {
    set_context("header", 0);
    if (size_ < 4 || std::memcmp(base_, gguf_magic.data(), 4) != 0)
      return fail(size_ < 4 ? errc::truncated : errc::malformed,
                  {"not a GGUF file (the magic bytes are not 'GGUF')"});
    pos_ = 4;
    MMLLM_TRY_ASSIGN(const std::uint32_t version, read<std::uint32_t>("version"));
    if (version != 0 && (version & 0xffffu) == 0)
      return fail(errc::unsupported,
                  {"version field reads ", num(version),
                   ": a big-endian GGUF file, which mmllm does not read (convert it to little-endian)"});
    if (version == 1)
      return fail(errc::unsupported, {"GGUF version 1 is not supported (only versions 2 and 3)"});
    if (version == 0) return fail(errc::malformed, {"GGUF version 0 is invalid"});
    if (version > gguf_latest_version)
      return fail(errc::unsupported, {"GGUF version ", num(version), " is newer than the newest supported (",
                                      num(gguf_latest_version), ")"});
    out_.version_ = version;
    MMLLM_TRY_ASSIGN(n_tensors_, read<std::uint64_t>("tensor count"));
    MMLLM_TRY_ASSIGN(n_kv_, read<std::uint64_t>("metadata count"));
    // Smallest encodings: a key/value pair is 13 bytes (empty key + type + 1-byte value, and
    // keys may not be empty but this is only a bound), a tensor info 24 bytes.
    constexpr std::uint64_t min_kv = 8 + 4 + 1;
    constexpr std::uint64_t min_tensor = 8 + 4 + 4 + 8;
    if (n_kv_ > remaining() / min_kv)
      return fail(too_big(n_kv_),
                  {"metadata count ", num(n_kv_), " cannot fit in the ", num(remaining()), " bytes left"});
    if (n_tensors_ > remaining() / min_tensor)
      return fail(too_big(n_tensors_),
                  {"tensor count ", num(n_tensors_), " cannot fit in the ", num(remaining()), " bytes left"});
    if (n_kv_ * min_kv + n_tensors_ * min_tensor > remaining())
      return fail(errc::truncated, {"metadata count ", num(n_kv_), " and tensor count ", num(n_tensors_),
                                    " cannot fit in the ", num(remaining()), " bytes left"});
    return ok();
  }

  // Parses one value of type `type` (for arrays: the element type, count and elements).
  result<gguf_value> parse_value(gguf_type type, std::uint32_t depth) {
    const std::size_t start = pos_;
    if (type == gguf_type::string) {
      MMLLM_TRY(read_string("string value"));
      return gguf_value_access::make(type, type, base_ + start, pos_ - start, 0, 0);
    }
    if (type != gguf_type::array) {
      const std::size_t sz = gguf_type_size(type);
      if (remaining() < sz)
        return fail(errc::truncated, {"file ends inside a ", to_string(type), " value (", num(sz),
                                      " bytes needed, ", num(remaining()), " left)"});
      pos_ += sz;
      return gguf_value_access::make(type, type, base_ + start, sz, 0, 0);
    }
    if (depth > max_depth_)
      return fail(errc::out_of_range, {"arrays nested deeper than the limit of ", num(max_depth_)});
    MMLLM_TRY_ASSIGN(const gguf_type elem, read_type("array element type"));
    MMLLM_TRY_ASSIGN(const std::uint64_t n, read<std::uint64_t>("array length"));
    const std::uint64_t min_elem = elem == gguf_type::string  ? 8
                                   : elem == gguf_type::array ? 12
                                                              : gguf_type_size(elem);
    if (n > remaining() / min_elem)
      return fail(n > size_ / min_elem ? errc::out_of_range : errc::truncated,
                  {"array of ", num(n), " ", to_string(elem), " elements needs at least ", num(min_elem),
                   " bytes each, but only ", num(remaining()), " bytes are left"});
    std::size_t pool_index = 0;
    const auto count = static_cast<std::size_t>(n);
    if (elem == gguf_type::string) {
      pool_index = out_.string_pool_.size();
      for (std::size_t i = 0; i < count; ++i) {
        auto s = read_string("string array element");
        if (!s) return element_error(i, std::move(s).error());
        out_.string_pool_.push_back(*s);
      }
    } else if (elem == gguf_type::array) {
      // Sub-arrays must sit side by side in the pool, but their own children are added
      // while they are parsed: collect them first, then append the block. Memory grows
      // with what is actually parsed, never with a claimed count.
      std::vector<gguf_value> children;
      for (std::size_t i = 0; i < count; ++i) {
        auto v = parse_value(gguf_type::array, depth + 1);
        if (!v) return element_error(i, std::move(v).error());
        children.push_back(*v);
      }
      pool_index = out_.value_pool_.size();
      out_.value_pool_.insert(out_.value_pool_.end(), children.begin(), children.end());
    } else {
      pos_ += count * static_cast<std::size_t>(min_elem);
    }
    return gguf_value_access::make(gguf_type::array, elem, base_ + start, pos_ - start, n, pool_index);
  }
  static error element_error(std::size_t i, error e) {
    e.message += " [in array element " + num(i) + "]";
    return e;
  }

  result<void> parse_metadata() {
    for (std::uint64_t i = 0; i < n_kv_; ++i) {
      set_context("key", i);
      const std::size_t key_pos = pos_;
      MMLLM_TRY_ASSIGN(const std::string_view key, read_string("key"));
      if (key.empty()) return fail_at(errc::malformed, key_pos, {"the key is empty"});
      name_context(key);
      MMLLM_TRY_ASSIGN(const gguf_type type, read_type("value type"));
      MMLLM_TRY_ASSIGN(const gguf_value value, parse_value(type, 1));
      out_.kvs_.push_back(gguf_kv{key, value});
    }
    auto& order = out_.kv_order_;
    order.resize(out_.kvs_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto& kvs = out_.kvs_;
    std::stable_sort(order.begin(), order.end(),
                     [&kvs](std::size_t a, std::size_t b) { return kvs[a].key < kvs[b].key; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (kvs[order[i]].key == kvs[order[i - 1]].key) {
        set_context("key", 0);
        name_context(kvs[order[i]].key);
        return fail_at(errc::malformed, offset_of(kvs[order[i]].key) - 8,
                       {"duplicate key (entries #", num(order[i - 1]), " and #", num(order[i]), ")"});
      }
    }
    if (const gguf_value* a = out_.find(gguf_alignment_key)) {
      set_context("key", 0);
      name_context(gguf_alignment_key);
      const std::uint64_t at = offset_of(a->raw());
      if (a->type() != gguf_type::uint32)
        return fail_at(errc::malformed, at, {"has type ", a->type_name(), "; it must be uint32"});
      const std::uint32_t align = *a->get<std::uint32_t>();
      if (align == 0 || (align & (align - 1)) != 0)
        return fail_at(errc::malformed, at, {"alignment ", num(align), " is not a non-zero power of two"});
      out_.alignment_ = align;
    }
    return ok();
  }

  [[nodiscard]] std::uint64_t offset_of(std::string_view s) const noexcept {
    return static_cast<std::uint64_t>(reinterpret_cast<const std::byte*>(s.data()) - base_);
  }
  [[nodiscard]] std::uint64_t offset_of(std::span<const std::byte> s) const noexcept {
    return static_cast<std::uint64_t>(s.data() - base_);
  }

  result<void> parse_tensor_infos() {
    constexpr auto i64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (std::uint64_t i = 0; i < n_tensors_; ++i) {
      set_context("tensor", i);
      gguf_tensor_info t;
      const std::size_t info_pos = pos_;
      MMLLM_TRY_ASSIGN(t.name, read_string("tensor name"));
      if (t.name.size() > options_.max_tensor_name_length)
        return fail_at(errc::out_of_range, info_pos,
                       {"tensor name is ", num(t.name.size()), " bytes long; the limit is ",
                        num(options_.max_tensor_name_length)});
      name_context(t.name);
      const std::size_t dims_pos = pos_;
      MMLLM_TRY_ASSIGN(t.n_dims, read<std::uint32_t>("dimension count"));
      if (t.n_dims > gguf_max_dims)
        return fail_at(errc::out_of_range, dims_pos,
                       {"has ", num(t.n_dims), " dimensions; at most ", num(gguf_max_dims), " are allowed"});
      for (std::uint32_t d = 0; d < t.n_dims; ++d) {
        const std::size_t ne_pos = pos_;
        MMLLM_TRY_ASSIGN(const std::int64_t ne, read<std::int64_t>("extent"));
        if (ne < 0)
          return fail_at(errc::malformed, ne_pos,
                         {"extent ne[", num(d), "] is negative (", num_signed(ne), ")"});
        t.ne[d] = static_cast<std::uint64_t>(ne);
      }
      // Element count: ne[1]*ne[2]*ne[3] (the rows) and the total must fit in int64.
      std::uint64_t rows = 1;
      bool overflow = false;
      for (std::uint32_t d = 1; d < gguf_max_dims && !overflow; ++d) {
        if (t.ne[d] != 0 && rows > i64_max / t.ne[d]) overflow = true;
        rows *= overflow ? 1 : t.ne[d];
      }
      if (!overflow && rows != 0 && t.ne[0] > i64_max / rows) overflow = true;
      if (overflow)
        return fail_at(errc::out_of_range, dims_pos,
                       {"element count of shape [", shape_string(t), "] overflows a 64-bit integer"});
      const std::size_t type_pos = pos_;
      MMLLM_TRY_ASSIGN(const std::uint32_t type_id, read<std::uint32_t>("tensor type"));
      const std::optional<dtype_traits> tr = traits_of(type_id);
      if (!tr)
        return fail_at(errc::unsupported, type_pos,
                       {"unknown tensor type id ", num(type_id), " (not a ggml type this build knows)"});
      if (options_.require_supported_dtypes && !tr->supported)
        return fail_at(errc::unsupported, type_pos, {"tensor type ", tr->name, " is not supported by mmllm"});
      t.type = static_cast<dtype>(type_id);
      if (t.ne[0] % tr->block_size != 0)
        return fail_at(errc::malformed, dims_pos,
                       {"row length ne[0] = ", num(t.ne[0]), " is not a multiple of ", tr->name,
                        "'s block size ", num(tr->block_size)});
      const std::optional<std::uint64_t> row = row_bytes(t.type, t.ne[0]);
      if (!row || (rows != 0 && *row > std::numeric_limits<std::uint64_t>::max() / rows))
        return fail_at(errc::out_of_range, dims_pos,
                       {"byte size of shape [", shape_string(t), "] overflows"});
      t.size = *row * rows;
      MMLLM_TRY_ASSIGN(t.offset, read<std::uint64_t>("data offset"));
      out_.tensors_.push_back(t);
      info_pos_.push_back(info_pos);
    }
    // Duplicate names.
    auto& order = out_.tensor_order_;
    order.resize(out_.tensors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto& ts = out_.tensors_;
    std::stable_sort(order.begin(), order.end(),
                     [&ts](std::size_t a, std::size_t b) { return ts[a].name < ts[b].name; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (ts[order[i]].name == ts[order[i - 1]].name) {
        set_context("tensor", order[i]);
        name_context(ts[order[i]].name);
        return fail_at(errc::malformed, info_pos_[order[i]],
                       {"duplicate tensor name (tensors #", num(order[i - 1]), " and #", num(order[i]), ")"});
      }
    }
    // The data section starts at the next multiple of the alignment.
    const std::uint64_t a = out_.alignment_;
    out_.data_offset_ = (static_cast<std::uint64_t>(pos_) + a - 1) / a * a;
    return ok();
  }

  static std::string shape_string(const gguf_tensor_info& t) {
    std::string s;
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      if (d) s += ", ";
      s += num(t.ne[d]);
    }
    return s;
  }

  result<void> check_tensor_data() {
    const std::uint64_t a = out_.alignment_;
    const std::uint64_t data_offset = out_.data_offset_;
    const std::uint64_t file = size_;
    std::vector<std::size_t> with_data;
    for (std::size_t i = 0; i < out_.tensors_.size(); ++i) {
      const gguf_tensor_info& t = out_.tensors_[i];
      set_context("tensor", i);
      name_context(t.name);
      const std::uint64_t at = info_pos_[i];
      if (t.offset % a != 0)
        return fail_at(errc::malformed, at,
                       {"data offset ", num(t.offset), " is not a multiple of the alignment ", num(a)});
      if (t.size == 0) continue;
      if (data_offset > file || t.offset > file - data_offset)
        return fail_at(errc::out_of_range, at,
                       {"data starts at file offset ", num_sum(data_offset, t.offset),
                        ", past the end of the file (", num(file), " bytes)"});
      if (t.size > file - data_offset - t.offset)
        return fail_at(errc::truncated, at,
                       {"data [", num(data_offset + t.offset), ", ", num_sum(data_offset + t.offset, t.size),
                        ") ends past the end of the file (", num(file), " bytes)"});
      with_data.push_back(i);
    }
    const auto& ts = out_.tensors_;
    std::sort(with_data.begin(), with_data.end(),
              [&ts](std::size_t x, std::size_t y) { return ts[x].offset < ts[y].offset; });
    for (std::size_t k = 1; k < with_data.size(); ++k) {
      const gguf_tensor_info& p = ts[with_data[k - 1]];
      const gguf_tensor_info& t = ts[with_data[k]];
      if (t.offset < p.offset + p.size) {
        set_context("tensor", with_data[k]);
        name_context(t.name);
        return fail_at(
            errc::malformed, info_pos_[with_data[k]],
            {"data [", num(t.offset), ", ", num(t.offset + t.size), ") overlaps tensor '", p.name, "' [",
             num(p.offset), ", ", num(p.offset + p.size), ") (offsets relative to the data section)"});
      }
    }
    return ok();
  }
  // a + b as decimal text, exact even when the sum exceeds 64 bits.
  static std::string num_sum(std::uint64_t a, std::uint64_t b) {
    if (a <= std::numeric_limits<std::uint64_t>::max() - b) return num(a + b);
    return num(a) + " + " + num(b);
  }

  void resolve(gguf_value& v) const noexcept {
    gguf_value_access::resolve(v, out_.string_pool_.data(), out_.value_pool_.data());
  }

  gguf_reader& out_;
  const std::byte* base_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::uint32_t max_depth_;
  const gguf_read_options& options_;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_kv_ = 0;
  std::vector<std::size_t> info_pos_;  // file offset of each tensor info, for messages
  std::string_view ctx_kind_ = "header";
  std::string_view ctx_name_;
  std::uint64_t ctx_index_ = 0;
  bool ctx_named_ = false;
};

}  // namespace detail

inline result<gguf_reader> gguf_reader::parse(byte_source source, const gguf_read_options& options) {
  gguf_reader r;
  r.source_ = std::move(source);
  detail::gguf_parser p(r, options);
  MMLLM_TRY(p.run());
  return r;
}

inline result<gguf_reader> gguf_reader::open(std::string_view path, const gguf_read_options& options) {
  auto src = byte_source::map(path);
  if (!src) return std::move(src).error();
  auto r = parse(std::move(*src), options);
  if (!r) {
    error e = std::move(r).error();
    e.message = std::string(path) + ": " + e.message;
    return e;
  }
  return r;
}

}  // namespace mmllm
