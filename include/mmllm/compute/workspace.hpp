// mmllm/compute/workspace.hpp — a reusable, grow-only scratch buffer for kernels.
//
// Kernels that need scratch memory (converted activations, packed GEMM panels) take it
// from a `workspace` owned by the compute policy. The buffer only grows, so once a
// program has run its largest step no kernel allocates again. Not thread-safe: one
// policy (and its workspace) per thread that issues kernels.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace mmllm::compute {

/// Grow-only, 64-byte aligned scratch memory.
class workspace {
 public:
  static constexpr std::size_t alignment = 64;

  workspace() noexcept = default;
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;
  workspace(workspace&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  workspace& operator=(workspace&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~workspace() { release(); }

  /// At least `bytes` of 64-byte aligned memory (contents unspecified; earlier contents are
  /// lost when it grows), or nullptr when the allocation fails. Pointers stay valid until
  /// the next call that needs more than capacity(), or release().
  [[nodiscard]] std::byte* get(std::size_t bytes) noexcept {
    if (bytes <= size_ && data_ != nullptr) return data_;
    release();
    const std::size_t n = round_up(bytes == 0 ? alignment : bytes);
    data_ = static_cast<std::byte*>(::operator new (n, std::align_val_t{alignment}, std::nothrow));
    size_ = data_ != nullptr ? n : 0;
    return data_;
  }

  /// Bytes available without growing.
  [[nodiscard]] std::size_t capacity() const noexcept { return size_; }

  /// Frees the memory.
  void release() noexcept {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{alignment});
    data_ = nullptr;
    size_ = 0;
  }

  /// `n` rounded up to a multiple of the alignment (used to carve aligned sub-buffers).
  static constexpr std::size_t round_up(std::size_t n) noexcept {
    return (n + alignment - 1) / alignment * alignment;
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mmllm::compute
