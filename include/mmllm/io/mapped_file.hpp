// mmllm/io/mapped_file.hpp — a read-only memory-mapped file (RAII).
//
// Model weights are used in place from the mapping: nothing is copied, and the operating
// system pages data in on first touch. The mapping lives as long as the `mapped_file`
// (move-only); pointers into it stay valid across moves.
//
//   auto f = mmllm::mapped_file::open("model.gguf");
//   if (!f) { log(f.error().what()); return; }
//   std::span<const std::byte> bytes = f->bytes();
//
// POSIX systems use mmap(PROT_READ, MAP_PRIVATE); elsewhere the file is read into memory.
// As with any mapping, a file truncated by another process while mapped faults (SIGBUS)
// on access to the missing pages; mmllm does not guard against concurrent modification.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "../core/result.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define MMLLM_DETAIL_HAVE_MMAP 1
#else
#include <cstdio>
#include <memory>
#endif

namespace mmllm {

/// A whole file mapped read-only into memory. Empty files map to an empty span.
class mapped_file {
 public:
  mapped_file() noexcept = default;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  ~mapped_file() { release(); }

  /// Maps the file at `path`. Errors (errc::io_error) name the path and the OS reason.
  [[nodiscard]] static result<mapped_file> open(std::string_view path);

  /// The file's bytes (empty for an empty or default-constructed mapped_file).
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// The path the file was opened with.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  void release() noexcept {
    if (data_ == nullptr) return;
#ifdef MMLLM_DETAIL_HAVE_MMAP
    ::munmap(const_cast<std::byte*>(data_), size_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
#else
    delete[] data_;
#endif
    data_ = nullptr;
    size_ = 0;
  }

  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
};

namespace detail {
inline error io_failure(std::string_view what, std::string_view path, int err) {
  return make_error(errc::io_error, what, " '", path, "': ", std::generic_category().message(err));
}
}  // namespace detail

inline result<mapped_file> mapped_file::open(std::string_view path) {
  mapped_file f;
  f.path_.assign(path);
#ifdef MMLLM_DETAIL_HAVE_MMAP
  const int fd = ::open(f.path_.c_str(), O_RDONLY | O_CLOEXEC);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (fd < 0) return detail::io_failure("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return detail::io_failure("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(errc::io_error, "cannot map '", path, "': not a regular file");
  }
  if (st.st_size > 0) {
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {  // NOLINT(cppcoreguidelines-pro-type-cstyle-cast)
      const int err = errno;
      ::close(fd);
      return detail::io_failure("cannot mmap", path, err);
    }
    f.data_ = static_cast<const std::byte*>(p);
    f.size_ = size;
  }
  ::close(fd);
#else
  std::FILE* fp = std::fopen(f.path_.c_str(), "rb");
  if (fp == nullptr) return detail::io_failure("cannot open", path, errno);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(fp, &std::fclose);
  if (std::fseek(fp, 0, SEEK_END) != 0) return detail::io_failure("cannot seek", path, errno);
  const long end = std::ftell(fp);
  if (end < 0) return detail::io_failure("cannot tell size of", path, errno);
  std::rewind(fp);
  if (end > 0) {
    auto* buf = new std::byte[static_cast<std::size_t>(end)];
    f.data_ = buf;
    f.size_ = static_cast<std::size_t>(end);
    if (std::fread(buf, 1, f.size_, fp) != f.size_) return detail::io_failure("cannot read", path, errno);
  }
#endif
  return f;
}

}  // namespace mmllm
