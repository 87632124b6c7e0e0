// mmllm/media/detail/http_parse.hpp — the I/O-free parts of the media URL fetcher.
//
// URL parsing and redirect resolution (http/https only, no credentials, no control
// characters), classification of IP addresses that must not be reachable from a server
// without explicit permission (loopback, private, link-local, multicast, reserved, and IPv6
// forms that embed such IPv4 addresses), and an incremental HTTP/1.1 response parser
// (status line, headers, Content-Length / chunked / until-close bodies, size caps). Kept
// apart from media/http_fetch.hpp so they can be tested and fuzzed without sockets.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/core/result.hpp"

namespace mmllm::media::detail {

/// A parsed http(s) URL.
struct url_parts {
  bool https = false;
  std::string host;  ///< lower-case; IPv6 literals without brackets
  std::uint16_t port = 0;
  std::string target;  ///< path and query, starting with '/'
  bool ipv6_literal = false;

  [[nodiscard]] bool default_port() const noexcept { return port == (https ? 443 : 80); }
  /// "host" or "host:port" (IPv6 in brackets), for the Host header.
  [[nodiscard]] std::string authority() const {
    std::string a = ipv6_literal ? "[" + host + "]" : host;
    if (!default_port()) a += ":" + std::to_string(port);
    return a;
  }
  [[nodiscard]] std::string str() const { return (https ? "https://" : "http://") + authority() + target; }
};

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Parses "http(s)://host[:port][/path][?query][#fragment]".
inline result<url_parts> parse_http_url(std::string_view url) {
  for (const char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
      return make_error(errc::invalid_argument, "URL: control characters or spaces are not allowed");
  url_parts u;
  const std::string lower = ascii_lower(url.substr(0, 8));
  if (lower.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else if (lower.rfind("https://", 0) == 0) {
    u.https = true;
    url.remove_prefix(8);
  } else {
    return make_error(errc::invalid_argument, "URL: only http:// and https:// are supported");
  }
  const std::size_t end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return make_error(errc::invalid_argument, "URL: credentials in URLs are not allowed");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return make_error(errc::invalid_argument, "URL: unterminated IPv6 address");
    u.host = ascii_lower(authority.substr(1, close - 1));
    u.ipv6_literal = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error(errc::invalid_argument, "URL: bad authority");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = ascii_lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return make_error(errc::invalid_argument, "URL: no host");
  for (const char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
          (u.ipv6_literal && c == ':')))
      return make_error(errc::invalid_argument, "URL: bad character in host name");
  u.port = u.https ? 443 : 80;
  if (!port_text.empty()) {
    unsigned p = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9' || p > 65535) return make_error(errc::invalid_argument, "URL: bad port");
      p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p == 0 || p > 65535) return make_error(errc::invalid_argument, "URL: bad port");
    u.port = static_cast<std::uint16_t>(p);
  }
  rest = rest.substr(0, rest.find('#'));
  u.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return u;
}

/// RFC 3986 remove_dot_segments on a path (the query is kept as is).
inline std::string remove_dot_segments(std::string_view target) {
  const std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') path.remove_prefix(1);
    const std::size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (seg == ".") {
      if (last) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    path = last ? std::string_view{} : path.substr(slash);
  }
  std::string r;
  for (const auto& seg : out) {
    r += '/';
    r += seg;
  }
  if (r.empty()) r = "/";
  if (q != std::string_view::npos) r += target.substr(q);
  return r;
}

/// The absolute URL a redirect's Location header points to, relative to `base`.
inline result<url_parts> resolve_redirect(const url_parts& base, std::string_view location) {
  const std::string lower = ascii_lower(location.substr(0, 8));
  if (lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0) return parse_http_url(location);
  if (location.rfind("//", 0) == 0)
    return parse_http_url((base.https ? "https:" : "http:") + std::string(location));
  if (location.empty()) return make_error(errc::malformed, "HTTP: empty Location header");
  std::string target;
  if (location.front() == '/') {
    target = std::string(location);
  } else {
    const std::string_view path = std::string_view(base.target).substr(0, base.target.find('?'));
    target = std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
  }
  return parse_http_url((base.https ? "https://" : "http://") + base.authority() +
                        remove_dot_segments(target));
}

/// An IP address in network byte order; IPv4 uses the first four bytes.
struct ip_address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

/// An address range ("10.0.0.0/8", "fe80::/10").
struct ip_network {
  ip_address base;
  int prefix = 0;

  [[nodiscard]] bool contains(const ip_address& a) const noexcept {
    if (a.v6 != base.v6) return false;
    int bits = prefix;
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
      const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF);
      if ((a.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
    }
    return true;
  }
};

/// Why `a` must not be contacted without permission ("loopback", "private", …), or "" if it
/// is an ordinary public address.
inline std::string_view special_address_reason(const ip_address& a) noexcept {
  const auto& b = a.bytes;
  if (!a.v6) {
    if (b[0] == 0) return "'this network' (0.0.0.0/8)";
    if (b[0] == 10) return "private (10.0.0.0/8)";
    if (b[0] == 100 && (b[1] & 0xC0) == 64) return "shared/CGNAT (100.64.0.0/10)";
    if (b[0] == 127) return "loopback (127.0.0.0/8)";
    if (b[0] == 169 && b[1] == 254) return "link-local (169.254.0.0/16)";
    if (b[0] == 172 && (b[1] & 0xF0) == 16) return "private (172.16.0.0/12)";
    if (b[0] == 192 && b[1] == 0 && b[2] == 0) return "IETF protocol assignments (192.0.0.0/24)";
    if (b[0] == 192 && b[1] == 0 && b[2] == 2) return "documentation (192.0.2.0/24)";
    if (b[0] == 192 && b[1] == 88 && b[2] == 99) return "6to4 relay anycast (192.88.99.0/24)";
    if (b[0] == 192 && b[1] == 168) return "private (192.168.0.0/16)";
    if (b[0] == 198 && (b[1] & 0xFE) == 18) return "benchmarking (198.18.0.0/15)";
    if (b[0] == 198 && b[1] == 51 && b[2] == 100) return "documentation (198.51.100.0/24)";
    if (b[0] == 203 && b[1] == 0 && b[2] == 113) return "documentation (203.0.113.0/24)";
    if ((b[0] & 0xF0) == 224) return "multicast (224.0.0.0/4)";
    if ((b[0] & 0xF0) == 240) return "reserved (240.0.0.0/4)";
    return "";
  }
  bool zero10 = true;
  for (int i = 0; i < 10; ++i) zero10 = zero10 && b[static_cast<std::size_t>(i)] == 0;
  if (zero10 && b[10] == 0xFF && b[11] == 0xFF) {  // IPv4-mapped: judge the IPv4 address
    ip_address v4;
    std::copy(b.begin() + 12, b.end(), v4.bytes.begin());
    const std::string_view r = special_address_reason(v4);
    return r.empty() ? "" : "IPv4-mapped special address";
  }
  if (zero10 && b[10] == 0 && b[11] == 0) {
    bool rest_zero = b[12] == 0 && b[13] == 0 && b[14] == 0;
    if (rest_zero && b[15] == 0) return "unspecified (::)";
    if (rest_zero && b[15] == 1) return "loopback (::1)";
    return "IPv4-compatible (::/96, deprecated)";
  }
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) return "NAT64 (64:ff9b::/96)";
  if (b[0] == 0x01 && b[1] == 0x00 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 && b[6] == 0 &&
      b[7] == 0)
    return "discard (100::/64)";
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xFE) == 0x00)
    return "IETF protocol assignments / Teredo (2001::/23)";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return "documentation (2001:db8::/32)";
  if (b[0] == 0x20 && b[1] == 0x02) return "6to4 (2002::/16)";
  if ((b[0] & 0xFE) == 0xFC) return "unique local (fc00::/7)";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local (fe80::/10)";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return "site-local (fec0::/10)";
  if (b[0] == 0xFF) return "multicast (ff00::/8)";
  return "";
}

/// Incremental HTTP/1.x response parser with body and header caps.
class http_response_parser {
 public:
  explicit http_response_parser(std::size_t max_body, std::size_t max_header = std::size_t{64} << 10)
      : max_body_(max_body), max_header_(max_header) {}

  /// Consumes `data` (bytes after a complete response are ignored).
  result<void> feed(std::span<const std::uint8_t> data) {
    std::size_t i = 0;
    while (i < data.size() && state_ != state::done) {
      switch (state_) {
        case state::head: {
          const std::size_t old = head_.size();
          const std::size_t take =
              std::min(data.size() - i, max_header_ + 4 - std::min(old, max_header_ + 4));
          head_.append(reinterpret_cast<const char*>(data.data() + i), take);
          const std::size_t from = old >= 3 ? old - 3 : 0;
          std::size_t end = head_.find("\r\n\r\n", from);
          std::size_t sep = 4;
          const std::size_t lf = head_.find("\n\n", from);
          if (lf != std::string::npos && (end == std::string::npos || lf < end)) {
            end = lf;
            sep = 2;
          }
          if (end == std::string::npos) {
            if (head_.size() > max_header_)
              return make_error(errc::resource_limit, "HTTP: response headers larger than ",
                                std::to_string(max_header_), " bytes");
            i += take;
            break;
          }
          const std::size_t used = end + sep - old;  // bytes of this feed that belong to the head
          i += used;
          head_.resize(end);
          MMLLM_TRY(parse_head());
          head_.clear();
          break;
        }
        case state::body_length:
        case state::body_close:
        case state::chunk_data: {
          std::size_t take = data.size() - i;
          if (state_ != state::body_close)
            take = static_cast<std::size_t>(std::min<std::uint64_t>(take, remaining_));
          if (body_.size() + take > max_body_)
            return make_error(errc::resource_limit, "HTTP: body larger than the limit of ",
                              std::to_string(max_body_), " bytes");
          body_.insert(body_.end(), data.begin() + static_cast<std::ptrdiff_t>(i),
                       data.begin() + static_cast<std::ptrdiff_t>(i + take));
          i += take;
          if (state_ != state::body_close) {
            remaining_ -= take;
            if (remaining_ == 0) state_ = state_ == state::body_length ? state::done : state::chunk_crlf;
          }
          break;
        }
        case state::chunk_size:
        case state::chunk_crlf:
        case state::trailers: {
          const char c = static_cast<char>(data[i++]);
          if (c != '\n') {
            if (line_.size() > 4096) return make_error(errc::malformed, "HTTP: chunk header line too long");
            line_ += c;
            break;
          }
          if (!line_.empty() && line_.back() == '\r') line_.pop_back();
          MMLLM_TRY(on_line());
          line_.clear();
          break;
        }
        case state::done: break;
      }
    }
    return ok();
  }

  /// The connection was closed: fine after a complete response or an until-close body.
  result<void> finish_eof() {
    if (state_ == state::body_close) state_ = state::done;
    if (state_ != state::done)
      return make_error(errc::truncated, "HTTP: connection closed before the end of the response");
    return ok();
  }

  [[nodiscard]] bool headers_done() const noexcept { return status_ != 0 && state_ != state::head; }
  [[nodiscard]] bool done() const noexcept { return state_ == state::done; }
  [[nodiscard]] int status() const noexcept { return status_; }
  /// First value of a header (name in lower case), or "".
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept {
    for (const auto& [k, v] : headers_)
      if (k == name) return v;
    return {};
  }
  std::vector<std::uint8_t>& body() noexcept { return body_; }

 private:
  enum class state : std::uint8_t {
    head,
    body_length,
    body_close,
    chunk_size,
    chunk_data,
    chunk_crlf,
    trailers,
    done
  };

  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  }

  result<void> parse_head() {
    headers_.clear();
    std::string_view h(head_);
    std::size_t eol = h.find('\n');
    std::string_view line = trim(h.substr(0, eol));
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(line[9])) ||
        !std::isdigit(static_cast<unsigned char>(line[10])) ||
        !std::isdigit(static_cast<unsigned char>(line[11])))
      return make_error(errc::malformed, "HTTP: bad status line");
    status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    while (eol != std::string_view::npos) {
      h.remove_prefix(eol + 1);
      eol = h.find('\n');
      line = h.substr(0, eol);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (line.front() == ' ' || line.front() == '\t')
        return make_error(errc::malformed, "HTTP: folded header line");
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0)
        return make_error(errc::malformed, "HTTP: bad header line");
      headers_.emplace_back(ascii_lower(trim(line.substr(0, colon))),
                            std::string(trim(line.substr(colon + 1))));
    }
    if (status_ < 100 || status_ > 599) return make_error(errc::malformed, "HTTP: bad status code");
    if (status_ == 101) return make_error(errc::malformed, "HTTP: unexpected protocol switch");
    if (status_ < 200) {  // interim response: the real one follows
      status_ = 0;
      return ok();
    }
    if (status_ == 204 || status_ == 304) {
      state_ = state::done;
      return ok();
    }
    const std::string te = ascii_lower(trim(header("transfer-encoding")));
    if (!te.empty()) {
      if (te != "chunked" && (te.size() < 9 || te.substr(te.size() - 9) != ", chunked"))
        return make_error(errc::unsupported, "HTTP: unsupported transfer encoding '", te, "'");
      state_ = state::chunk_size;
      return ok();
    }
    bool have_length = false;
    std::uint64_t length = 0;
    for (const auto& [k, v] : headers_) {
      if (k != "content-length") continue;
      std::string_view s(v);
      while (!s.empty()) {  // "n" or "n, n" (identical values)
        const std::size_t comma = s.find(',');
        const std::string_view item = trim(s.substr(0, comma));
        std::uint64_t n = 0;
        if (item.empty() || item.size() > 18) return make_error(errc::malformed, "HTTP: bad Content-Length");
        for (const char c : item) {
          if (c < '0' || c > '9') return make_error(errc::malformed, "HTTP: bad Content-Length");
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (have_length && n != length)
          return make_error(errc::malformed, "HTTP: conflicting Content-Length");
        have_length = true;
        length = n;
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      }
    }
    if (have_length) {
      if (length > max_body_)
        return make_error(errc::resource_limit, "HTTP: Content-Length ", std::to_string(length),
                          " exceeds the limit of ", std::to_string(max_body_), " bytes");
      remaining_ = length;
      state_ = length == 0 ? state::done : state::body_length;
      body_.reserve(static_cast<std::size_t>(length));
      return ok();
    }
    state_ = state::body_close;
    return ok();
  }

  result<void> on_line() {
    if (state_ == state::chunk_crlf) {
      if (!line_.empty()) return make_error(errc::malformed, "HTTP: missing CRLF after chunk data");
      state_ = state::chunk_size;
      return ok();
    }
    if (state_ == state::trailers) {
      if (line_.empty()) state_ = state::done;
      return ok();
    }
    const std::string_view s = trim(std::string_view(line_).substr(0, line_.find(';')));
    if (s.empty() || s.size() > 15) return make_error(errc::malformed, "HTTP: bad chunk size");
    std::uint64_t n = 0;
    for (const char c : s) {
      const int v = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (v < 0) return make_error(errc::malformed, "HTTP: bad chunk size");
      n = n * 16 + static_cast<std::uint64_t>(v);
    }
    if (n == 0) {
      state_ = state::trailers;
      return ok();
    }
    if (n > max_body_ - std::min(max_body_, body_.size()))
      return make_error(errc::resource_limit, "HTTP: body larger than the limit of ",
                        std::to_string(max_body_), " bytes");
    remaining_ = n;
    state_ = state::chunk_data;
    return ok();
  }

  std::size_t max_body_;
  std::size_t max_header_;
  state state_ = state::head;
  int status_ = 0;
  std::uint64_t remaining_ = 0;
  std::string head_;
  std::string line_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<std::uint8_t> body_;
};

}  // namespace mmllm::media::detail
