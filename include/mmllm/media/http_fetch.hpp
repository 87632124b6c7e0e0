// mmllm/media/http_fetch.hpp — fetching media over http(s) with Asio (and OpenSSL for https).
//
// Depends on standalone Asio (Debian: libasio-dev) and, for https, OpenSSL (libssl-dev;
// CMake target mmllm::media_openssl defines MMLLM_WITH_OPENSSL — without it https URLs are a
// clear "not supported in this build" error). Nothing else in the media layer includes this.
//
// Safety rules, as a server that fetches user-supplied URLs needs them:
// - a deadline for the whole fetch, redirects included, per media kind (image 5 s, audio 10 s,
//   video 30 s by default — vLLM's VLLM_{IMAGE,AUDIO,VIDEO}_FETCH_TIMEOUT);
// - a byte cap: a larger Content-Length is refused before reading, a longer body is cut off;
// - at most `max_redirects` redirects (http→https and https→http both allowed; every hop is
//   checked again);
// - an optional allow-list of host names (`allowed_domains`: the name or its subdomains);
// - SSRF guard: the host is resolved first and every address that is loopback, private,
//   link-local, multicast, reserved, … (detail::special_address_reason) is dropped unless it
//   lies in `allowed_networks` (CIDR strings such as "127.0.0.1/32") or
//   `allow_special_addresses` is set; connections go to the checked addresses only, so DNS
//   cannot change the answer between check and connect;
// - credentials in URLs and non-http(s) schemes are refused; TLS verifies the certificate
//   chain (system trust store plus `extra_ca_pem`) and the host name, and sends SNI.
//
// Two entry points: `async_fetch_url(executor, url, kind, options, max_bytes, handler)` runs
// on the caller's executor (the server's io_context) and calls handler(result<http_response>)
// (for host names see http_fetch_options::async_dns);
// `fetch_url(...)` is the blocking form — it runs a private io_context on the calling thread.
// `http_fetcher` plugs into media_source_options::fetch:
//
//   mmllm::media::media_source_options src;
//   src.fetch = mmllm::media::http_fetcher{fetch_options};
//   auto item = mmllm::media::load_media("https://example.com/cat.jpg", media_kind::image, src);
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio.hpp>
#if defined(MMLLM_WITH_OPENSSL)
#include <asio/ssl.hpp>
#endif

#include "mmllm/core/result.hpp"
#include "mmllm/media/detail/http_parse.hpp"
#include "mmllm/media/media_format.hpp"
#include "mmllm/media/media_source.hpp"

namespace mmllm::media {

/// Whole-fetch deadlines per media kind.
struct fetch_timeouts {
  std::chrono::milliseconds image{5000};
  std::chrono::milliseconds audio{10000};
  std::chrono::milliseconds video{30000};
  std::chrono::milliseconds other{10000};

  [[nodiscard]] std::chrono::milliseconds for_kind(media_kind k) const noexcept {
    switch (k) {
      case media_kind::image: return image;
      case media_kind::audio: return audio;
      case media_kind::video: return video;
      case media_kind::unknown: break;
    }
    return other;
  }
};

struct http_fetch_options {
  fetch_timeouts timeouts{};
  int max_redirects = 5;
  /// Empty: any host. Otherwise the URL's host must equal an entry or be a subdomain of one.
  std::vector<std::string> allowed_domains;
  /// Special (loopback/private/…) ranges that may be contacted anyway, e.g. "10.0.0.0/8".
  std::vector<std::string> allowed_networks;
  /// Allow every special address (trusted deployments only).
  bool allow_special_addresses = false;
  /// Host names are resolved with a blocking getaddrinfo on the calling thread by default (no
  /// thread besides the caller's; DNS time is not covered by the deadline). `async_dns` uses
  /// Asio's asynchronous resolver instead, which runs getaddrinfo on Asio's own internal
  /// thread. IP-literal hosts need neither.
  bool async_dns = false;
  std::string user_agent = "mmllm-media/0.1";
  /// Extra trusted CA certificates (PEM) for https, in addition to the system store.
  std::string extra_ca_pem;
  bool verify_tls = true;
};

struct http_response {
  int status = 0;
  std::string content_type;
  std::string final_url;  ///< after redirects
  std::vector<std::uint8_t> body;
};

namespace detail {

inline ip_address to_ip(const asio::ip::address& a) {
  ip_address out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    out.v6 = true;
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

inline result<ip_network> parse_cidr(std::string_view s) {
  const std::size_t slash = s.find('/');
  asio::error_code ec;
  const auto addr = asio::ip::make_address(std::string(s.substr(0, slash)), ec);
  if (ec) return make_error(errc::invalid_argument, "allowed_networks: bad address in '", s, "'");
  ip_network n;
  n.base = to_ip(addr);
  const int max = n.base.v6 ? 128 : 32;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = s.substr(slash + 1);
    int v = 0;
    if (p.empty() || p.size() > 3)
      return make_error(errc::invalid_argument, "allowed_networks: bad prefix in '", s, "'");
    for (const char c : p) {
      if (c < '0' || c > '9')
        return make_error(errc::invalid_argument, "allowed_networks: bad prefix in '", s, "'");
      v = v * 10 + (c - '0');
    }
    if (v > max) return make_error(errc::invalid_argument, "allowed_networks: bad prefix in '", s, "'");
    n.prefix = v;
  }
  return n;
}

inline bool host_allowed(std::string_view host, const std::vector<std::string>& domains) {
  if (domains.empty()) return true;
  for (const auto& d0 : domains) {
    const std::string d = ascii_lower(d0);
    if (host == d) return true;
    if (host.size() > d.size() && host.substr(host.size() - d.size()) == d &&
        host[host.size() - d.size() - 1] == '.')
      return true;
  }
  return false;
}

/// One fetch (with its redirects) on an executor.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  using handler_type = std::function<void(result<http_response>)>;

  http_session(asio::any_io_executor ex, http_fetch_options opt, std::vector<ip_network> nets,
               std::size_t max_bytes, std::chrono::milliseconds timeout, handler_type h)
      : ex_(std::move(ex)),
        opt_(std::move(opt)),
        nets_(std::move(nets)),
        max_bytes_(max_bytes),
        timeout_(timeout),
        resolver_(ex_),
        timer_(ex_),
        handler_(std::move(h)) {}

  void start(url_parts u) {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->finished_) return;
      self->fail(make_error(errc::timeout, "fetch: no complete response within ",
                            std::to_string(self->timeout_.count()), " ms (", self->url_.str(), ")"));
    });
    go(std::move(u));
  }

 private:
  void go(url_parts u) {
    url_ = std::move(u);
    if (url_.https) {
#if !defined(MMLLM_WITH_OPENSSL)
      return fail(
          make_error(errc::unsupported, "fetch: https is not supported in this build (OpenSSL not linked)"));
#endif
    }
    if (!host_allowed(url_.host, opt_.allowed_domains))
      return fail(
          make_error(errc::invalid_argument, "fetch: host '", url_.host, "' is not in the allowed domains"));
    close_connection(true);
    const std::string port = std::to_string(url_.port);
    asio::error_code ec;
    (void)asio::ip::make_address(url_.host, ec);
    if (!ec || !opt_.async_dns) {  // IP literal (no lookup) or blocking getaddrinfo on this thread
      const auto flags =
          !ec ? asio::ip::resolver_base::numeric_host | asio::ip::resolver_base::numeric_service
              : asio::ip::resolver_base::numeric_service;
      asio::error_code rec;
      auto results = resolver_.resolve(url_.host, port, flags, rec);
      asio::post(ex_, [self = shared_from_this(), rec, results]() { self->on_resolve(rec, results); });
      return;
    }
    resolver_.async_resolve(url_.host, port,
                            [self = shared_from_this()](const asio::error_code& e,
                                                        const asio::ip::tcp::resolver::results_type& r) {
                              self->on_resolve(e, r);
                            });
  }

  void on_resolve(const asio::error_code& ec, const asio::ip::tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec)
      return fail(make_error(errc::not_found, "fetch: cannot resolve '", url_.host, "': ", ec.message()));
    std::vector<asio::ip::tcp::endpoint> ok_endpoints;
    std::string refused;
    for (const auto& entry : results) {
      const auto ep = entry.endpoint();
      const ip_address ip = to_ip(ep.address());
      const std::string_view why = special_address_reason(ip);
      bool allowed = why.empty() || opt_.allow_special_addresses;
      for (const auto& n : nets_) allowed = allowed || n.contains(ip);
      if (allowed) {
        ok_endpoints.push_back(ep);
      } else if (refused.empty()) {
        refused = ep.address().to_string() + " is " + std::string(why);
      }
    }
    if (ok_endpoints.empty())
      return fail(make_error(errc::invalid_argument, "fetch: refused to connect to '", url_.host,
                             "': ", refused, " (not in allowed_networks)"));
    socket_.emplace(ex_);
    asio::async_connect(*socket_, ok_endpoints,
                        [self = shared_from_this()](const asio::error_code& e,
                                                    const asio::ip::tcp::endpoint&) { self->on_connect(e); });
  }

  void on_connect(const asio::error_code& ec) {
    if (finished_) return;
    if (ec)
      return fail(
          make_error(errc::io_error, "fetch: cannot connect to ", url_.authority(), ": ", ec.message()));
#if defined(MMLLM_WITH_OPENSSL)
    if (url_.https) {
      asio::error_code e;
      tls_ctx_.emplace(asio::ssl::context::tls_client);
      tls_ctx_->set_default_verify_paths(e);
      if (!opt_.extra_ca_pem.empty()) {
        tls_ctx_->add_certificate_authority(asio::buffer(opt_.extra_ca_pem), e);
        if (e) return fail(make_error(errc::invalid_argument, "fetch: bad extra_ca_pem: ", e.message()));
      }
      tls_ctx_->set_verify_mode(opt_.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none, e);
      tls_.emplace(std::move(*socket_), *tls_ctx_);
      socket_.reset();
      if (!url_.ipv6_literal) SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str());
      if (opt_.verify_tls) tls_->set_verify_callback(asio::ssl::host_name_verification(url_.host), e);
      tls_->async_handshake(
          asio::ssl::stream_base::client, [self = shared_from_this()](const asio::error_code& he) {
            if (self->finished_) return;
            if (he)
              return self->fail(make_error(errc::io_error, "fetch: TLS handshake with ",
                                           self->url_.authority(), " failed: ", he.message()));
            self->send_request();
          });
      return;
    }
#endif
    send_request();
  }

  void send_request() {
    request_ = "GET " + url_.target + " HTTP/1.1\r\nHost: " + url_.authority() +
               "\r\nUser-Agent: " + opt_.user_agent +
               "\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n";
    parser_.emplace(max_bytes_);
    auto done = [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
      if (self->finished_) return;
      if (ec)
        return self->fail(make_error(errc::io_error, "fetch: sending the request failed: ", ec.message()));
      self->read_more();
    };
#if defined(MMLLM_WITH_OPENSSL)
    if (tls_) return asio::async_write(*tls_, asio::buffer(request_), done);
#endif
    asio::async_write(*socket_, asio::buffer(request_), done);
  }

  void read_more() {
    auto on_read = [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      self->on_read(ec, n);
    };
#if defined(MMLLM_WITH_OPENSSL)
    if (tls_) return tls_->async_read_some(asio::buffer(buf_), on_read);
#endif
    socket_->async_read_some(asio::buffer(buf_), on_read);
  }

  void on_read(const asio::error_code& ec, std::size_t n) {
    if (finished_) return;
    if (n > 0) {
      auto r = parser_->feed(std::span<const std::uint8_t>(buf_.data(), n));
      if (!r) return fail(std::move(r).error());
    }
    if (parser_->headers_done() && parser_->status() >= 300 && parser_->status() < 400 &&
        !parser_->header("location").empty())
      return redirect();
    if (parser_->done()) return complete();
    if (ec) {
      bool eof = ec == asio::error::eof;
#if defined(MMLLM_WITH_OPENSSL)
      eof = eof || ec == asio::ssl::error::stream_truncated;  // servers often skip close_notify
#endif
      if (!eof) return fail(make_error(errc::io_error, "fetch: reading the response failed: ", ec.message()));
      auto r = parser_->finish_eof();
      if (!r) return fail(std::move(r).error());
      return complete();
    }
    read_more();
  }

  void redirect() {
    if (++redirects_ > opt_.max_redirects)
      return fail(make_error(errc::resource_limit, "fetch: more than ", std::to_string(opt_.max_redirects),
                             " redirects"));
    auto next = resolve_redirect(url_, parser_->header("location"));
    if (!next) return fail(std::move(next).error());
    go(std::move(next).value());
  }

  void complete() {
    const int status = parser_->status();
    if (status < 200 || status >= 300) {
      const errc code = (status == 404 || status == 410) ? errc::not_found : errc::io_error;
      return fail(make_error(code, "fetch: ", url_.str(), " answered HTTP ", std::to_string(status)));
    }
    http_response r;
    r.status = status;
    r.content_type = std::string(parser_->header("content-type"));
    r.final_url = url_.str();
    r.body = std::move(parser_->body());
    finish(std::move(r));
  }

  void fail(error e) { finish(std::move(e)); }

  void finish(result<http_response> r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    close_connection(false);  // pending operations complete (aborted) before the objects go
    auto h = std::move(handler_);
    h(std::move(r));
  }

  /// Closes the connection; `destroy` also drops the objects (only when no operation is
  /// pending on them: before connecting to a redirect target).
  void close_connection(bool destroy) {
    asio::error_code ignored;
#if defined(MMLLM_WITH_OPENSSL)
    if (tls_) {
      tls_->lowest_layer().close(ignored);
      if (destroy) {
        tls_.reset();
        tls_ctx_.reset();
      }
    }
#endif
    if (socket_) {
      socket_->close(ignored);
      if (destroy) socket_.reset();
    }
  }

  asio::any_io_executor ex_;
  http_fetch_options opt_;
  std::vector<ip_network> nets_;
  std::size_t max_bytes_;
  std::chrono::milliseconds timeout_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;
  handler_type handler_;
  url_parts url_;
  int redirects_ = 0;
  bool finished_ = false;
  std::optional<asio::ip::tcp::socket> socket_;
#if defined(MMLLM_WITH_OPENSSL)
  std::optional<asio::ssl::context> tls_ctx_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
#endif
  std::string request_;
  std::optional<http_response_parser> parser_;
  std::array<std::uint8_t, 16384> buf_{};
};

}  // namespace detail

/// Starts fetching `url` on `ex`; `handler(result<http_response>)` runs on `ex` exactly once.
/// The body is capped at `max_bytes`; the deadline is opt.timeouts.for_kind(kind).
template <class Handler>
void async_fetch_url(asio::any_io_executor ex, std::string_view url, media_kind kind,
                     const http_fetch_options& opt, std::size_t max_bytes, Handler&& handler) {
  std::function<void(result<http_response>)> h(std::forward<Handler>(handler));
  auto u = detail::parse_http_url(url);
  std::vector<detail::ip_network> nets;
  for (const auto& s : opt.allowed_networks) {
    auto n = detail::parse_cidr(s);
    if (!n) {
      u = std::move(n).error();
      break;
    }
    nets.push_back(*n);
  }
  if (!u) {
    asio::post(ex, [h = std::move(h), e = std::move(u).error()]() mutable { h(std::move(e)); });
    return;
  }
  auto s = std::make_shared<detail::http_session>(ex, opt, std::move(nets), max_bytes,
                                                  opt.timeouts.for_kind(kind), std::move(h));
  s->start(std::move(u).value());
}

/// Blocking fetch: runs a private io_context on the calling thread until done.
inline result<http_response> fetch_url(std::string_view url, media_kind kind, const http_fetch_options& opt,
                                       std::size_t max_bytes) {
  result<http_response> out = make_error(errc::internal, "fetch: no result");
#if defined(__cpp_exceptions)
  try {
#endif
    asio::io_context io;
    async_fetch_url(io.get_executor(), url, kind, opt, max_bytes,
                    [&out](result<http_response> r) { out = std::move(r); });
    io.run();
#if defined(__cpp_exceptions)
  } catch (const std::exception& e) {
    return make_error(errc::internal, "fetch: ", e.what());
  }
#endif
  return out;
}

/// media_source_options::fetch adapter: blocking fetch_url returning the body.
struct http_fetcher {
  http_fetch_options options;

  result<std::vector<std::uint8_t>> operator()(std::string_view url, media_kind kind,
                                               std::size_t max_bytes) const {
    MMLLM_TRY_ASSIGN(http_response r, fetch_url(url, kind, options, max_bytes));
    return std::move(r.body);
  }
};

}  // namespace mmllm::media
