// mmllm/io/gguf_writer.hpp — builds GGUF v3 files: metadata of every value type (nested
// arrays included) and tensors whose data is copied, borrowed, or generated while writing.
//
//   mmllm::gguf_writer w;
//   w.set("general.architecture", "llama")
//    .set("llama.context_length", std::uint32_t{2048})
//    .set("tokenizer.ggml.tokens", mmllm::gguf_encoded_value::array(tokens))   // strings
//    .add_tensor("output_norm.weight", mmllm::dtype::f32, {64}, std::as_bytes(std::span(norm)))
//    .add_tensor_generated("token_embd.weight", mmllm::dtype::q8_0, {4096, 128000},
//                          [](std::uint64_t offset, std::span<std::byte> out) { /* fill */ });
//   if (auto r = w.write_file("model.gguf"); !r) log(r.error().what());
//
// Generated tensors are produced chunk by chunk while the file is written, so multi-GB
// synthetic models never sit in memory. Mistakes (duplicate tensor names, a shape whose
// rows are not whole blocks, data of the wrong size, a bad alignment) are remembered:
// the first one is returned by status() and by every write function. Layout follows
// llama.cpp's writer: tensor data in insertion order, each padded to the alignment.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/result.hpp"
#include "gguf_format.hpp"
#include "gguf_value.hpp"
#include "little_endian.hpp"

namespace mmllm {

namespace detail {
inline void append_bytes(std::vector<std::byte>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  out.insert(out.end(), b, b + n);
}
template <little_endian_value T>
inline void append_le(std::vector<std::byte>& out, T v) {
  // resize + store rather than insert: g++ 12 at -O3 reports a false stringop-overflow for a
  // range insert into a vector it proves empty (gguf_encoded_value's scalar constructor)
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  store_le(out.data() + at, v);
}
inline void append_string(std::vector<std::byte>& out, std::string_view s) {
  append_le<std::uint64_t>(out, s.size());
  append_bytes(out, s.data(), s.size());
}
template <class T>
constexpr bool is_string_like_v = std::is_convertible_v<const T&, std::string_view>;
}  // namespace detail

/// An owning, already-encoded GGUF metadata value for the writer. Implicitly built from
/// numbers (the C++ type picks the GGUF type: std::uint32_t → uint32, float → float32,
/// bool → bool, …) and strings; arrays through the static factories.
class gguf_encoded_value {
 public:
  /// A number or bool; the GGUF type follows the C++ type's size and signedness.
  template <class T>
  requires std::is_arithmetic_v<T> gguf_encoded_value(T v)
      : type_(type_for<T>()), elem_type_(type_) {  // NOLINT(google-explicit-constructor)
    encode_scalar(payload_, v);
  }
  gguf_encoded_value(std::string_view s) : type_(gguf_type::string), elem_type_(type_) {  // NOLINT
    detail::append_string(payload_, s);
  }
  gguf_encoded_value(const char* s) : gguf_encoded_value(std::string_view(s)) {}         // NOLINT
  gguf_encoded_value(const std::string& s) : gguf_encoded_value(std::string_view(s)) {}  // NOLINT

  /// An array of numbers, bools or strings from any contiguous container (vector, span,
  /// std::array, …); strings may be std::string, std::string_view or const char*.
  template <class R>
  requires requires(const R& r) {
    std::data(r);
    std::size(r);
  }
  [[nodiscard]] static gguf_encoded_value array(const R& elements) {
    using E = std::remove_cvref_t<decltype(*std::data(elements))>;
    return from_elements<E>(std::data(elements), std::size(elements));
  }
  template <class E>
  [[nodiscard]] static gguf_encoded_value array(std::initializer_list<E> elements) {
    return from_elements<E>(elements.begin(), elements.size());
  }
  /// An array of already-encoded values, all of type `element_type` (use
  /// gguf_type::array for nested arrays; their own element types may differ).
  [[nodiscard]] static result<gguf_encoded_value> array_of(gguf_type element_type,
                                                           std::span<const gguf_encoded_value> elements) {
    if (static_cast<std::uint32_t>(element_type) >= gguf_type_count)
      return make_error(errc::invalid_argument, "gguf_writer: invalid array element type");
    gguf_encoded_value v(gguf_type::array, element_type);
    detail::append_le(v.payload_, static_cast<std::uint32_t>(element_type));
    detail::append_le<std::uint64_t>(v.payload_, elements.size());
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (elements[i].type() != element_type)
        return make_error(errc::invalid_argument, "gguf_writer: array element ", std::to_string(i),
                          " has type ", to_string(elements[i].type()), ", the array's element type is ",
                          to_string(element_type));
      detail::append_bytes(v.payload_, elements[i].payload_.data(), elements[i].payload_.size());
    }
    return v;
  }
  /// A verbatim copy of a value read by gguf_reader (to carry metadata into a new file).
  [[nodiscard]] static gguf_encoded_value copy_of(const gguf_value& v) {
    const gguf_type elem = v.is_array() ? gguf_array(v).element_type() : v.type();
    gguf_encoded_value e(v.type(), elem);
    e.payload_.assign(v.raw().begin(), v.raw().end());
    return e;
  }

  [[nodiscard]] gguf_type type() const noexcept { return type_; }
  /// For arrays, the element type; otherwise the value's own type.
  [[nodiscard]] gguf_type element_type() const noexcept { return elem_type_; }
  /// The encoded value as it will appear after the type id in the file.
  [[nodiscard]] std::span<const std::byte> payload() const noexcept { return payload_; }

 private:
  gguf_encoded_value(gguf_type t, gguf_type elem) : type_(t), elem_type_(elem) {}

  template <class T>
  static constexpr gguf_type type_for() noexcept {
    if constexpr (std::is_same_v<T, bool>) {
      return gguf_type::boolean;
    } else if constexpr (std::is_floating_point_v<T>) {
      return sizeof(T) == 4 ? gguf_type::float32 : gguf_type::float64;
    } else if constexpr (sizeof(T) == 1) {
      return std::is_signed_v<T> ? gguf_type::int8 : gguf_type::uint8;
    } else if constexpr (sizeof(T) == 2) {
      return std::is_signed_v<T> ? gguf_type::int16 : gguf_type::uint16;
    } else if constexpr (sizeof(T) == 4) {
      return std::is_signed_v<T> ? gguf_type::int32 : gguf_type::uint32;
    } else {
      return std::is_signed_v<T> ? gguf_type::int64 : gguf_type::uint64;
    }
  }
  template <class T>
  static void encode_scalar(std::vector<std::byte>& out, T v) {
    if constexpr (std::is_same_v<T, bool>) {
      detail::append_le<std::uint8_t>(out, v ? 1 : 0);
    } else if constexpr (std::is_floating_point_v<T>) {
      if constexpr (sizeof(T) == 4) {
        detail::append_le<float>(out, static_cast<float>(v));
      } else {
        detail::append_le<double>(out, static_cast<double>(v));
      }
    } else {
      using U = detail::same_size_unsigned<T>;
      detail::append_le<U>(out, static_cast<U>(v));
    }
  }
  template <class E>
  static gguf_encoded_value from_elements(const E* p, std::size_t n) {
    if constexpr (detail::is_string_like_v<E>) {
      gguf_encoded_value v(gguf_type::array, gguf_type::string);
      detail::append_le(v.payload_, static_cast<std::uint32_t>(gguf_type::string));
      detail::append_le<std::uint64_t>(v.payload_, n);
      for (std::size_t i = 0; i < n; ++i) detail::append_string(v.payload_, std::string_view(p[i]));
      return v;
    } else {
      static_assert(std::is_arithmetic_v<E>, "gguf array elements must be numbers, bools or strings");
      constexpr gguf_type t = type_for<E>();
      gguf_encoded_value v(gguf_type::array, t);
      v.payload_.reserve(12 + n * gguf_type_size(t));
      detail::append_le(v.payload_, static_cast<std::uint32_t>(t));
      detail::append_le<std::uint64_t>(v.payload_, n);
      for (std::size_t i = 0; i < n; ++i) encode_scalar(v.payload_, p[i]);
      return v;
    }
  }

  gguf_type type_;
  gguf_type elem_type_;
  std::vector<std::byte> payload_;
};

/// A tensor shape for the writer: up to 4 extents, ne[0] (the row length) first.
class gguf_shape {
 public:
  gguf_shape(std::initializer_list<std::uint64_t> ne) noexcept {  // NOLINT(google-explicit-constructor)
    assign(ne.begin(), ne.size());
  }
  /// From any contiguous container of integers (vector, span, std::array).
  template <class R>
  requires requires(const R& r) {
    std::data(r);
    std::size(r);
  } && std::is_integral_v<std::remove_cvref_t<decltype(*std::data(std::declval<const R&>()))>> gguf_shape(
      const R& ne)
  noexcept {  // NOLINT(google-explicit-constructor,bugprone-forwarding-reference-overload)
    assign(std::data(ne), std::size(ne));
  }

  [[nodiscard]] std::size_t n_dims() const noexcept { return n_dims_; }
  /// Extent d (1 for d >= n_dims()).
  [[nodiscard]] std::uint64_t operator[](std::size_t d) const noexcept {
    return d < gguf_max_dims ? ne_[d] : 1;
  }
  /// False when more than gguf_max_dims extents, or a negative or > INT64_MAX extent, was given.
  [[nodiscard]] bool valid() const noexcept { return valid_; }

 private:
  template <class I>
  void assign(const I* p, std::size_t n) noexcept {
    n_dims_ = n;
    valid_ = n <= gguf_max_dims;
    for (std::size_t d = 0; d < n && d < gguf_max_dims; ++d) {
      if constexpr (std::is_signed_v<I>) {
        if (p[d] < 0) valid_ = false;
      }
      const auto v = static_cast<std::uint64_t>(p[d]);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) valid_ = false;
      ne_[d] = v;
    }
  }
  std::uint64_t ne_[gguf_max_dims] = {1, 1, 1, 1};
  std::size_t n_dims_ = 0;
  bool valid_ = true;
};

/// Options of gguf_writer.
struct gguf_writer_options {
  /// Format version to write: 3 (default) or 2 (same layout, older version number).
  std::uint32_t version = gguf_latest_version;
  /// Longest tensor name accepted (default: what llama.cpp can load).
  std::size_t max_tensor_name_length = gguf_peer_max_tensor_name_length;
  /// Bytes requested per call of a generated tensor's fill function.
  std::size_t chunk_size = std::size_t{1} << 20;
};

/// Builds a GGUF file; see the header comment.
class gguf_writer {
 public:
  /// Called while writing with consecutive pieces of a generated tensor: fill `out` with
  /// the tensor's bytes starting at byte `offset` of the tensor.
  using fill_function = std::function<void(std::uint64_t offset, std::span<std::byte> out)>;

  gguf_writer() : gguf_writer(gguf_writer_options{}) {}
  explicit gguf_writer(gguf_writer_options options) : options_(options) {
    if (options_.version < gguf_oldest_version || options_.version > gguf_latest_version)
      remember(make_error(errc::invalid_argument, "gguf_writer: cannot write GGUF version ",
                          std::to_string(options_.version)));
    if (options_.chunk_size == 0) options_.chunk_size = 1;
  }

  // --- metadata ---------------------------------------------------------------------------

  /// Sets `key` (keeping its position if already set). `general.alignment` must be a
  /// uint32 power of two and also sets the data alignment.
  gguf_writer& set(std::string_view key, gguf_encoded_value value) {
    if (key.empty()) return remember(make_error(errc::invalid_argument, "gguf_writer: empty metadata key"));
    if (key == gguf_alignment_key) {
      const std::span<const std::byte> p = value.payload();
      const std::uint32_t a =
          value.type() == gguf_type::uint32 ? detail::load_le<std::uint32_t>(p.data()) : 0;
      if (a == 0 || (a & (a - 1)) != 0)
        return remember(make_error(errc::invalid_argument, "gguf_writer: ", gguf_alignment_key,
                                   " must be a uint32 power of two"));
      alignment_ = a;
    }
    for (auto& kv : kvs_) {
      if (kv.first == key) {
        kv.second = std::move(value);
        return *this;
      }
    }
    kvs_.emplace_back(std::string(key), std::move(value));
    return *this;
  }
  /// Sets `general.alignment` (a power of two; the default without the key is 32).
  gguf_writer& set_alignment(std::uint32_t alignment) { return set(gguf_alignment_key, alignment); }

  // --- tensors ----------------------------------------------------------------------------

  /// Adds a tensor, copying `data` (which must hold exactly the tensor's bytes).
  gguf_writer& add_tensor(std::string_view name, dtype type, const gguf_shape& shape,
                          std::span<const std::byte> data) {
    tensor t;
    if (!describe(t, name, type, shape)) return *this;
    if (!check_size(t, data.size())) return *this;
    t.owned.assign(data.begin(), data.end());
    t.source = source_kind::owned;
    tensors_.push_back(std::move(t));
    return *this;
  }
  /// Adds a tensor whose data the caller keeps alive and unchanged until written.
  gguf_writer& add_tensor_ref(std::string_view name, dtype type, const gguf_shape& shape,
                              std::span<const std::byte> data) {
    tensor t;
    if (!describe(t, name, type, shape)) return *this;
    if (!check_size(t, data.size())) return *this;
    t.ref = data;
    t.source = source_kind::borrowed;
    tensors_.push_back(std::move(t));
    return *this;
  }
  /// Adds a tensor whose data `fill` produces, piece by piece, while the file is written.
  gguf_writer& add_tensor_generated(std::string_view name, dtype type, const gguf_shape& shape,
                                    fill_function fill) {
    tensor t;
    if (!describe(t, name, type, shape)) return *this;
    if (!fill)
      return remember(
          make_error(errc::invalid_argument, "gguf_writer: tensor '", name, "': empty fill function"));
    t.fill = std::move(fill);
    t.source = source_kind::generated;
    tensors_.push_back(std::move(t));
    return *this;
  }

  // --- state and layout -------------------------------------------------------------------

  /// The first mistake made so far, if any.
  [[nodiscard]] result<void> status() const {
    if (error_) return *error_;
    return ok();
  }
  [[nodiscard]] std::uint32_t alignment() const noexcept { return alignment_; }
  [[nodiscard]] std::size_t metadata_count() const noexcept { return kvs_.size(); }
  [[nodiscard]] std::size_t tensor_count() const noexcept { return tensors_.size(); }
  /// Bytes of a tensor's data (same order as added).
  [[nodiscard]] std::uint64_t tensor_size(std::size_t i) const noexcept { return tensors_[i].size; }
  /// Offset of tensor i's data from the start of the data section.
  [[nodiscard]] std::uint64_t tensor_offset(std::size_t i) const noexcept {
    std::uint64_t off = 0;
    for (std::size_t k = 0; k < i; ++k) off += padded(tensors_[k].size);
    return off;
  }
  /// File offset at which the data section will start.
  [[nodiscard]] std::uint64_t data_offset() const noexcept { return padded(header_size()); }
  /// Size of the whole file.
  [[nodiscard]] std::uint64_t file_size() const noexcept {
    std::uint64_t n = data_offset();
    for (const tensor& t : tensors_) n += padded(t.size);
    return n;
  }

  // --- output -----------------------------------------------------------------------------

  /// Writes the file to `sink`, a callable `result<void>(std::span<const std::byte>)`
  /// called with consecutive pieces of the file.
  template <class Sink>
  result<void> write(Sink&& sink) const {
    MMLLM_TRY(status());
    std::vector<std::byte> h;
    h.reserve(static_cast<std::size_t>(header_size()));
    detail::append_bytes(h, gguf_magic.data(), gguf_magic.size());
    detail::append_le<std::uint32_t>(h, options_.version);
    detail::append_le<std::uint64_t>(h, tensors_.size());
    detail::append_le<std::uint64_t>(h, kvs_.size());
    for (const auto& [key, value] : kvs_) {
      detail::append_string(h, key);
      detail::append_le(h, static_cast<std::uint32_t>(value.type()));
      detail::append_bytes(h, value.payload().data(), value.payload().size());
    }
    std::uint64_t offset = 0;
    for (const tensor& t : tensors_) {
      detail::append_string(h, t.name);
      detail::append_le<std::uint32_t>(h, static_cast<std::uint32_t>(t.n_dims));
      for (std::size_t d = 0; d < t.n_dims; ++d)
        detail::append_le<std::int64_t>(h, static_cast<std::int64_t>(t.ne[d]));
      detail::append_le(h, static_cast<std::uint32_t>(t.type));
      detail::append_le<std::uint64_t>(h, offset);
      offset += padded(t.size);
    }
    h.resize(static_cast<std::size_t>(padded(h.size())), std::byte{0});
    MMLLM_TRY(sink(std::span<const std::byte>(h)));
    h = {};

    std::vector<std::byte> chunk;
    const std::vector<std::byte> zeros(alignment_, std::byte{0});
    for (const tensor& t : tensors_) {
      if (t.source == source_kind::generated) {
        chunk.resize(static_cast<std::size_t>(std::min<std::uint64_t>(options_.chunk_size, t.size)));
        for (std::uint64_t done = 0; done < t.size;) {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), t.size - done));
          const std::span<std::byte> piece(chunk.data(), n);
          std::fill(piece.begin(), piece.end(), std::byte{0});
          t.fill(done, piece);
          MMLLM_TRY(sink(std::span<const std::byte>(piece)));
          done += n;
        }
      } else {
        const std::span<const std::byte> d =
            t.source == source_kind::owned ? std::span<const std::byte>(t.owned) : t.ref;
        if (!d.empty()) MMLLM_TRY(sink(d));
      }
      const std::uint64_t pad = padded(t.size) - t.size;
      if (pad != 0) MMLLM_TRY(sink(std::span<const std::byte>(zeros.data(), static_cast<std::size_t>(pad))));
    }
    return ok();
  }

  /// The whole file in memory.
  [[nodiscard]] result<std::vector<std::byte>> to_bytes() const {
    MMLLM_TRY(status());
    std::vector<std::byte> out;
    out.reserve(static_cast<std::size_t>(file_size()));
    MMLLM_TRY(write([&out](std::span<const std::byte> b) -> result<void> {
      out.insert(out.end(), b.begin(), b.end());
      return ok();
    }));
    return out;
  }

  /// Writes the file to `path` (replacing it); a partial file is removed on failure.
  [[nodiscard]] result<void> write_file(std::string_view path) const {
    MMLLM_TRY(status());
    const std::string p(path);
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr)
      return make_error(errc::io_error, "gguf_writer: cannot create '", path,
                        "': ", std::generic_category().message(errno));
    auto r = write([f, &path](std::span<const std::byte> b) -> result<void> {
      if (std::fwrite(b.data(), 1, b.size(), f) != b.size())
        return make_error(errc::io_error, "gguf_writer: cannot write '", path,
                          "': ", std::generic_category().message(errno));
      return ok();
    });
    const bool closed = std::fclose(f) == 0;
    if (r && !closed)
      r = make_error(errc::io_error, "gguf_writer: cannot write '", path,
                     "': ", std::generic_category().message(errno));
    if (!r) std::remove(p.c_str());
    return r;
  }

 private:
  enum class source_kind : std::uint8_t { owned, borrowed, generated };
  struct tensor {
    std::string name;
    dtype type = dtype::f32;
    std::size_t n_dims = 0;
    std::uint64_t ne[gguf_max_dims] = {1, 1, 1, 1};
    std::uint64_t size = 0;
    source_kind source = source_kind::owned;
    std::vector<std::byte> owned;
    std::span<const std::byte> ref;
    fill_function fill;
  };

  gguf_writer& remember(error e) {
    if (!error_) error_ = std::move(e);
    return *this;
  }

  [[nodiscard]] std::uint64_t padded(std::uint64_t n) const noexcept {
    return (n + alignment_ - 1) / alignment_ * alignment_;
  }

  [[nodiscard]] std::uint64_t header_size() const noexcept {
    std::uint64_t n = 4 + 4 + 8 + 8;
    for (const auto& [key, value] : kvs_) n += 8 + key.size() + 4 + value.payload().size();
    for (const tensor& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.n_dims + 4 + 8;
    return n;
  }

  // Validates name, type and shape and fills t; records an error and returns false if bad.
  bool describe(tensor& t, std::string_view name, dtype type, const gguf_shape& shape) {
    auto bad = [&](auto&&... parts) {
      remember(make_error(errc::invalid_argument, "gguf_writer: tensor '", name, "': ", parts...));
      return false;
    };
    if (name.size() > options_.max_tensor_name_length)
      return bad("name is longer than ", std::to_string(options_.max_tensor_name_length), " bytes");
    for (const tensor& o : tensors_)
      if (o.name == name) return bad("duplicate tensor name");
    const std::optional<dtype_traits> tr = traits_of(static_cast<std::uint32_t>(type));
    if (!tr) return bad("unknown dtype id ", std::to_string(static_cast<std::uint32_t>(type)));
    if (!shape.valid()) return bad("bad shape (at most 4 extents, each 0..INT64_MAX)");
    t.name.assign(name);
    t.type = type;
    t.n_dims = shape.n_dims();
    std::uint64_t rows = 1;
    constexpr auto i64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (std::size_t d = 0; d < gguf_max_dims; ++d) {
      t.ne[d] = shape[d];
      if (d == 0) continue;
      if (t.ne[d] != 0 && rows > i64_max / t.ne[d]) return bad("element count overflows");
      rows *= t.ne[d];
    }
    if (rows != 0 && t.ne[0] > i64_max / rows) return bad("element count overflows");
    if (t.ne[0] % tr->block_size != 0)
      return bad("row length ", std::to_string(t.ne[0]), " is not a multiple of ", tr->name, "'s block size ",
                 std::to_string(tr->block_size));
    const std::optional<std::uint64_t> row = row_bytes(type, t.ne[0]);
    if (!row || (rows != 0 && *row > std::numeric_limits<std::uint64_t>::max() / rows))
      return bad("byte size overflows");
    t.size = *row * rows;
    return true;
  }
  bool check_size(const tensor& t, std::size_t got) {
    if (got == t.size) return true;
    remember(make_error(errc::invalid_argument, "gguf_writer: tensor '", t.name, "': data has ",
                        std::to_string(got), " bytes, the shape needs ", std::to_string(t.size)));
    return false;
  }

  gguf_writer_options options_;
  std::uint32_t alignment_ = gguf_default_alignment;
  std::vector<std::pair<std::string, gguf_encoded_value>> kvs_;
  std::vector<tensor> tensors_;
  std::optional<error> error_;
};

}  // namespace mmllm
