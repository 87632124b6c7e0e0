// mmllm/core/result.hpp — value-or-error type used at every API edge.
//
// Core layers never throw: fallible functions return `result<T>`, which holds either a
// T or an `error` (a code plus a human-readable message). Works with -fno-exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace mmllm {

/// Broad category of a failure; the message carries the details.
enum class errc : std::uint8_t {
  invalid_argument,  ///< caller passed something unusable (bad shape, bad flag)
  io_error,          ///< the operating system refused (open, mmap, read)
  malformed,         ///< input data violates its format (bad magic, bad type id)
  truncated,         ///< input ends before the format says it should
  out_of_range,      ///< a count, length or offset exceeds what is allowed or present
  unsupported,       ///< valid input this build cannot handle (unknown arch, dtype)
  not_found,         ///< a requested key, tensor or file does not exist
  resource_limit,    ///< a configured cap (size, pixels, tokens) would be exceeded
  timeout,           ///< an operation did not finish in time
  internal,          ///< a bug in mmllm; please report
};

/// Short stable name of an error code, e.g. "malformed".
constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::io_error: return "io_error";
    case errc::malformed: return "malformed";
    case errc::truncated: return "truncated";
    case errc::out_of_range: return "out_of_range";
    case errc::unsupported: return "unsupported";
    case errc::not_found: return "not_found";
    case errc::resource_limit: return "resource_limit";
    case errc::timeout: return "timeout";
    case errc::internal: return "internal";
  }
  return "unknown";
}

/// An error: a code and a message that names the offending thing.
struct error {
  errc code = errc::internal;
  std::string message;

  /// "malformed: gguf: tensor 'x' ends past the file"
  [[nodiscard]] std::string what() const {
    std::string s(to_string(code));
    s += ": ";
    s += message;
    return s;
  }
};

/// Builds an `error` from a code and message parts (each convertible to string_view).
template <class... Parts>
[[nodiscard]] error make_error(errc code, const Parts&... parts) {
  error e{code, {}};
  (e.message.append(std::string_view(parts)), ...);
  return e;
}

namespace detail {
/// U can build the value of a result<T> (R) and is neither T, error, nor R itself.
template <class U, class T, class R>
concept result_value_source =
    std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
    !std::is_same_v<std::remove_cvref_t<U>, error> && !std::is_same_v<std::remove_cvref_t<U>, R>;
}  // namespace detail

/// Holds either a `T` or an `error`. `T` may not itself be `error`.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, mmllm::error>, "result<error> is meaningless");

 public:
  using value_type = T;

  result(const T& v) : state_(std::in_place_index<0>, v) {}        // NOLINT(google-explicit-constructor)
  result(T&& v) : state_(std::in_place_index<0>, std::move(v)) {}  // NOLINT(google-explicit-constructor)
  result(mmllm::error e)
      : state_(std::in_place_index<1>, std::move(e)) {}  // NOLINT(google-explicit-constructor)
  /// Converting construction from anything T can be built from (e.g. string literal → string).
  template <detail::result_value_source<T, result> U>
  result(U&& v)  // NOLINT(google-explicit-constructor,bugprone-forwarding-reference-overload)
      : state_(std::in_place_index<0>, T(std::forward<U>(v))) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; must only be called when has_value().
  T& value() & noexcept { return *std::get_if<0>(&state_); }
  const T& value() const& noexcept { return *std::get_if<0>(&state_); }
  T&& value() && noexcept { return std::move(*std::get_if<0>(&state_)); }

  T& operator*() & noexcept { return value(); }
  const T& operator*() const& noexcept { return value(); }
  T&& operator*() && noexcept { return std::move(*this).value(); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }

  /// The error; must only be called when !has_value().
  [[nodiscard]] const mmllm::error& error() const& noexcept { return *std::get_if<1>(&state_); }
  [[nodiscard]] mmllm::error&& error() && noexcept { return std::move(*std::get_if<1>(&state_)); }

  /// The value, or `fallback` when this holds an error.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, mmllm::error> state_;
};

/// Success-or-error for functions that produce nothing.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(mmllm::error e) : err_(std::move(e)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  [[nodiscard]] const mmllm::error& error() const& noexcept { return err_; }
  [[nodiscard]] mmllm::error&& error() && noexcept { return std::move(err_); }

 private:
  mmllm::error err_{};
  bool ok_ = true;
};

/// A successful `result<void>`.
inline result<void> ok() { return {}; }

}  // namespace mmllm

#define MMLLM_DETAIL_CAT2(a, b) a##b
#define MMLLM_DETAIL_CAT(a, b) MMLLM_DETAIL_CAT2(a, b)

/// Evaluates `expr` (a result); on error returns that error from the enclosing function.
#define MMLLM_TRY(expr)                                                    \
  do {                                                                     \
    auto&& mmllm_try_r_ = (expr);                                          \
    if (!mmllm_try_r_.has_value()) return std::move(mmllm_try_r_).error(); \
  } while (false)

/// `MMLLM_TRY_ASSIGN(auto x, f())`: declares/assigns the value of a result or returns its error.
#define MMLLM_TRY_ASSIGN(lhs, expr)                                     \
  auto&& MMLLM_DETAIL_CAT(mmllm_try_v_, __LINE__) = (expr);             \
  if (!MMLLM_DETAIL_CAT(mmllm_try_v_, __LINE__).has_value())            \
    return std::move(MMLLM_DETAIL_CAT(mmllm_try_v_, __LINE__)).error(); \
  lhs = std::move(MMLLM_DETAIL_CAT(mmllm_try_v_, __LINE__)).value()
