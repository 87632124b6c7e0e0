// mmllm/media/local_file.hpp — reading media files only from under an allowed root.
//
// Like vLLM's --allowed-local-media-path: with no root configured every local path is
// refused; a path (absolute, or relative to the root) is accepted only if it names a
// regular file inside the root after resolving symbolic links; any ".." component is refused
// outright, as is a symlink that leads out of the root. On POSIX the file is then opened by
// walking the resolved path from the root directory one component at a time with
// O_NOFOLLOW, so a directory swapped for a symlink between the check and the open is also
// refused. The size is checked before reading (`max_bytes`).
//
//   auto bytes = mmllm::media::read_local_file("/srv/media/cat.png", "/srv/media", 20 << 20);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#endif

#include "mmllm/core/result.hpp"

namespace mmllm::media {

namespace detail {

#if defined(__unix__) || defined(__APPLE__)
struct fd_closer {
  int fd = -1;
  fd_closer() = default;
  explicit fd_closer(int f) : fd(f) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  fd_closer(fd_closer&& o) noexcept : fd(o.fd) { o.fd = -1; }
  fd_closer& operator=(fd_closer&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

/// Opens root/rel (rel: resolved, relative, no symlinks) without following any symlink.
inline result<std::vector<std::uint8_t>> read_beneath(const std::filesystem::path& root,
                                                      const std::filesystem::path& rel,
                                                      std::size_t max_bytes) {
  fd_closer dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return make_error(errc::io_error, "local file: cannot open the allowed root");
  std::vector<std::string> parts;
  for (const auto& p : rel) parts.push_back(p.string());
  if (parts.empty()) return make_error(errc::invalid_argument, "local file: the path names the root itself");
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    fd_closer next(::openat(dir.fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd < 0) return make_error(errc::not_found, "local file: cannot open directory '", parts[i], "'");
    dir = std::move(next);
  }
  fd_closer f(
      ::openat(dir.fd, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (f.fd < 0) return make_error(errc::not_found, "local file: cannot open '", parts.back(), "'");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(errc::invalid_argument, "local file: not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return make_error(errc::resource_limit, "local file: ", std::to_string(st.st_size),
                      " bytes, more than the limit of ", std::to_string(max_bytes));
  std::vector<std::uint8_t> out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t k = ::read(f.fd, out.data() + done, out.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return make_error(errc::io_error, "local file: read failed");
    done += static_cast<std::size_t>(k);
  }
  return out;
}
#endif

}  // namespace detail

/// Reads `path` if it lies inside `allowed_root` (see above); `allowed_root` empty: refused.
inline result<std::vector<std::uint8_t>> read_local_file(const std::filesystem::path& path,
                                                         const std::filesystem::path& allowed_root,
                                                         std::size_t max_bytes) {
  namespace fs = std::filesystem;
  if (allowed_root.empty())
    return make_error(errc::invalid_argument,
                      "local file: local media paths are disabled (no allowed root is set)");
  for (const auto& part : path)
    if (part == "..")
      return make_error(errc::invalid_argument, "local file: '..' is not allowed in media paths");
  std::error_code ec;
  const fs::path root = fs::canonical(allowed_root, ec);
  if (ec || !fs::is_directory(root, ec))
    return make_error(errc::invalid_argument, "local file: the allowed root is not a directory");
  const fs::path full = path.is_absolute() ? path : root / path;
  const fs::path real = fs::canonical(full, ec);
  if (ec) return make_error(errc::not_found, "local file: '", path.string(), "' does not exist");
  const fs::path rel = real.lexically_relative(root);
  if (rel.empty() || rel == "." || *rel.begin() == "..")
    return make_error(errc::invalid_argument, "local file: '", path.string(),
                      "' is outside the allowed root");
#if defined(__unix__) || defined(__APPLE__)
  return detail::read_beneath(root, rel, max_bytes);
#else
  if (!fs::is_regular_file(real, ec))
    return make_error(errc::invalid_argument, "local file: not a regular file");
  const auto size = fs::file_size(real, ec);
  if (ec || size > max_bytes) return make_error(errc::resource_limit, "local file: too large");
  std::ifstream f(real, std::ios::binary);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
  if (!f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size())))
    return make_error(errc::io_error, "local file: read failed");
  return out;
#endif
}

}  // namespace mmllm::media
