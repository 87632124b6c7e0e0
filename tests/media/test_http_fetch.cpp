// URL fetching against a local Asio HTTP(S) server started by the test on 127.0.0.1:
// redirects, timeouts, size caps, refused addresses and domains, chunked bodies, TLS.
#include <mmllm/media/http_fetch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

#if defined(MMLLM_WITH_OPENSSL)
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#endif

namespace media = mmllm::media;
using asio::ip::tcp;
using mmllm::test::fixture_path;
using mmllm::test::read_bytes;

namespace {

/// What the server does for one request.
struct reply {
  std::string head;                    ///< status line + headers, without the final CRLF CRLF
  std::string body;                    ///< sent right after the head
  std::chrono::milliseconds stall{0};  ///< then wait this long before closing (slow server)
};

/// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) running on its own thread; TLS when
/// given a certificate and key.
class test_server {
 public:
  using route = std::function<reply(const std::string& target)>;

  explicit test_server(route r, const std::string& cert_pem = {}, const std::string& key_pem = {})
      : route_(std::move(r)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
#if defined(MMLLM_WITH_OPENSSL)
    if (!cert_pem.empty()) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(cert_pem));
      tls_->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
    }
#else
    (void)cert_pem;
    (void)key_pem;
#endif
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~test_server() {
    io_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url(const std::string& path, const char* scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] int connections() const { return connections_.load(); }

 private:
  struct conn : std::enable_shared_from_this<conn> {
    tcp::socket sock;
#if defined(MMLLM_WITH_OPENSSL)
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
#endif
    asio::streambuf in;
    std::string out;
    asio::steady_timer timer;
    test_server* server;
    explicit conn(asio::io_context& io, test_server* s) : sock(io), timer(io), server(s) {}

    template <class F>
    void read_head(F&& f) {
#if defined(MMLLM_WITH_OPENSSL)
      if (tls) return asio::async_read_until(*tls, in, "\r\n\r\n", std::forward<F>(f));
#endif
      asio::async_read_until(sock, in, "\r\n\r\n", std::forward<F>(f));
    }
    template <class F>
    void write(F&& f) {
#if defined(MMLLM_WITH_OPENSSL)
      if (tls) return asio::async_write(*tls, asio::buffer(out), std::forward<F>(f));
#endif
      asio::async_write(sock, asio::buffer(out), std::forward<F>(f));
    }
    void start() {
      auto self = shared_from_this();
#if defined(MMLLM_WITH_OPENSSL)
      if (server->tls_) {
        tls.emplace(sock, *server->tls_);
        tls->async_handshake(asio::ssl::stream_base::server, [self](const asio::error_code& ec) {
          if (!ec) self->serve();
        });
        return;
      }
#endif
      serve();
    }
    void serve() {
      auto self = shared_from_this();
      read_head([self](const asio::error_code& ec, std::size_t) {
        if (ec) return;
        std::istream is(&self->in);
        std::string method, target;
        is >> method >> target;
        const reply r = self->server->route_(target);
        self->out = r.head + "\r\n\r\n" + r.body;
        auto stall = r.stall;
        self->write([self, stall](const asio::error_code& wec, std::size_t) {
          if (wec) return;
          self->timer.expires_after(stall);
          self->timer.async_wait([self](const asio::error_code&) {
            asio::error_code ignored;
#if defined(MMLLM_WITH_OPENSSL)
            if (self->tls) self->tls->shutdown(ignored);
#endif
            self->sock.shutdown(tcp::socket::shutdown_both, ignored);
            self->sock.close(ignored);
          });
        });
      });
    }
  };

  void accept() {
    auto c = std::make_shared<conn>(io_, this);
    acceptor_.async_accept(c->sock, [this, c](const asio::error_code& ec) {
      if (ec) return;
      ++connections_;
      c->start();
      accept();
    });
  }

  route route_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
#if defined(MMLLM_WITH_OPENSSL)
  std::optional<asio::ssl::context> tls_;
#endif
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0};
};

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out;
  char hex[32];
  for (std::size_t i = 0; i < body.size(); i += piece) {
    const std::size_t n = std::min(piece, body.size() - i);
    std::snprintf(hex, sizeof hex, "%zx;ext=1\r\n", n);
    out += hex + body.substr(i, n) + "\r\n";
  }
  return out + "0\r\nX-Trailer: yes\r\n\r\n";
}

const std::string& png_bytes() {
  static const std::string s = [] {
    const auto b = read_bytes(fixture_path("media/hopper.png"));
    return std::string(b.begin(), b.end());
  }();
  return s;
}

test_server::route standard_routes(const std::string& base_holder_unused = {}) {
  (void)base_holder_unused;
  return [](const std::string& t) -> reply {
    const std::string& png = png_bytes();
    if (t == "/hopper.png")
      return {"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: " + std::to_string(png.size()),
              png};
    if (t == "/chunked.png")
      return {"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked", chunked(png, 1000)};
    if (t == "/close.png") return {"HTTP/1.0 200 OK\r\nContent-Type: image/png", png};
    if (t == "/jfk.wav") {
      const auto w = read_bytes(fixture_path("media/jfk.wav"));
      return {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(w.size()),
              std::string(w.begin(), w.end())};
    }
    if (t.rfind("/redirect/", 0) == 0 && t.size() == 11 && t[10] >= '0' && t[10] <= '9') {
      const int n = t[10] - '0';
      const std::string next = n == 0 ? "../hopper.png" : "/redirect/" + std::to_string(n - 1);
      return {"HTTP/1.1 302 Found\r\nLocation: " + next + "\r\nContent-Length: 0", ""};
    }
    if (t == "/redirect-private")
      return {"HTTP/1.1 301 Moved\r\nLocation: http://10.1.2.3/x.png\r\nContent-Length: 0", ""};
    if (t == "/redirect-metadata")
      return {
          "HTTP/1.1 307 Temporary\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0",
          ""};
    if (t == "/slow")
      return {"HTTP/1.1 200 OK\r\nContent-Length: 100000", "only a little", std::chrono::milliseconds(4000)};
    if (t == "/huge") return {"HTTP/1.1 200 OK\r\nContent-Length: 1000000000", "xx"};
    if (t == "/huge-chunked")
      return {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", chunked(std::string(300000, 'x'), 50000)};
    if (t == "/truncated") return {"HTTP/1.1 200 OK\r\nContent-Length: 1000", std::string(100, 'y')};
    if (t == "/bad") return {"HTTP/1.1 2x0 Nope", ""};
    return {"HTTP/1.1 404 Not Found\r\nContent-Length: 9", "not found"};
  };
}

media::http_fetch_options local_ok() {
  media::http_fetch_options o;
  o.allowed_networks = {"127.0.0.1/32"};
  return o;
}

constexpr std::size_t cap = 1 << 20;

}  // namespace

TEST_CASE("fetch: loopback is refused unless allowed; then bodies arrive intact") {
  test_server srv(standard_routes());
  auto refused = media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, {}, cap);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == mmllm::errc::invalid_argument);
  CHECK(refused.error().message.find("loopback") != std::string::npos);
  CHECK(srv.connections() == 0);  // refused before connecting

  for (const char* path : {"/hopper.png", "/chunked.png", "/close.png"}) {
    INFO(path);
    auto r = media::fetch_url(srv.url(path), media::media_kind::image, local_ok(), cap);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::string(r->body.begin(), r->body.end()) == png_bytes());
  }
  // By name: resolved (blocking on this thread, or Asio's asynchronous resolver), then checked.
  std::string by_name = srv.url("/hopper.png");
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  for (const bool async_dns : {false, true}) {
    INFO("async_dns " << async_dns);
    auto o = local_ok();
    o.async_dns = async_dns;
    auto r = media::fetch_url(by_name, media::media_kind::image, o, cap);
    REQUIRE(r);
    CHECK(r->body.size() == png_bytes().size());
    o.allowed_networks.clear();
    CHECK(media::fetch_url(by_name, media::media_kind::image, o, cap).error().message.find("refused") !=
          std::string::npos);
  }
  CHECK(media::fetch_url("http://no-such-host.invalid/x", media::media_kind::image, local_ok(), cap)
            .error()
            .code == mmllm::errc::not_found);
  media::http_fetch_options special = {};
  special.allow_special_addresses = true;
  CHECK(media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, special, cap).has_value());
}

TEST_CASE("fetch: redirects are followed, limited, and every hop is checked") {
  test_server srv(standard_routes());
  auto r = media::fetch_url(srv.url("/redirect/3"), media::media_kind::image, local_ok(), cap);
  REQUIRE(r);
  CHECK(r->final_url == srv.url("/hopper.png"));
  CHECK(r->body.size() == png_bytes().size());
  auto opt = local_ok();
  opt.max_redirects = 3;
  auto too_many = media::fetch_url(srv.url("/redirect/3"), media::media_kind::image, opt, cap);
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().code == mmllm::errc::resource_limit);
  for (const char* p : {"/redirect-private", "/redirect-metadata"}) {
    INFO(p);
    auto priv = media::fetch_url(srv.url(p), media::media_kind::image, local_ok(), cap);
    REQUIRE_FALSE(priv);
    CHECK(priv.error().message.find("refused") != std::string::npos);
  }
}

TEST_CASE("fetch: per-kind timeouts cover slow bodies") {
  test_server srv(standard_routes());
  auto opt = local_ok();
  opt.timeouts.image = std::chrono::milliseconds(300);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = media::fetch_url(srv.url("/slow"), media::media_kind::image, opt, cap);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::timeout);
  CHECK(elapsed < std::chrono::milliseconds(2500));
  CHECK(elapsed >= std::chrono::milliseconds(250));
  // the audio deadline is separate (and longer than the stall is not needed here)
  opt.timeouts.audio = std::chrono::milliseconds(200);
  CHECK(media::fetch_url(srv.url("/slow"), media::media_kind::audio, opt, cap).error().code ==
        mmllm::errc::timeout);
}

TEST_CASE("fetch: size caps, truncation, HTTP errors") {
  test_server srv(standard_routes());
  auto huge = media::fetch_url(srv.url("/huge"), media::media_kind::image, local_ok(), cap);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().code == mmllm::errc::resource_limit);
  auto hc = media::fetch_url(srv.url("/huge-chunked"), media::media_kind::image, local_ok(), 100000);
  REQUIRE_FALSE(hc);
  CHECK(hc.error().code == mmllm::errc::resource_limit);
  CHECK(media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, local_ok(), 1000).error().code ==
        mmllm::errc::resource_limit);
  CHECK(media::fetch_url(srv.url("/close.png"), media::media_kind::image, local_ok(), 1000).error().code ==
        mmllm::errc::resource_limit);
  CHECK(media::fetch_url(srv.url("/truncated"), media::media_kind::image, local_ok(), cap).error().code ==
        mmllm::errc::truncated);
  CHECK(media::fetch_url(srv.url("/nothing"), media::media_kind::image, local_ok(), cap).error().code ==
        mmllm::errc::not_found);
  CHECK(media::fetch_url(srv.url("/bad"), media::media_kind::image, local_ok(), cap).error().code ==
        mmllm::errc::malformed);
}

TEST_CASE("fetch: domain allow-list, schemes, credentials, bad networks") {
  test_server srv(standard_routes());
  auto opt = local_ok();
  opt.allowed_domains = {"example.com"};
  auto r = media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, opt, cap);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("allowed domains") != std::string::npos);
  opt.allowed_domains = {"127.0.0.1"};
  CHECK(media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, opt, cap).has_value());
  CHECK(media::detail::host_allowed("img.example.com", {"example.com"}));
  CHECK(media::detail::host_allowed("example.com", {"Example.COM"}));
  CHECK_FALSE(media::detail::host_allowed("badexample.com", {"example.com"}));
  CHECK_FALSE(media::fetch_url("ftp://127.0.0.1/x", media::media_kind::image, local_ok(), cap));
  CHECK_FALSE(media::fetch_url("http://user:pw@127.0.0.1/x", media::media_kind::image, local_ok(), cap));
  CHECK_FALSE(media::fetch_url("http://127.0.0.1/a b", media::media_kind::image, local_ok(), cap));
  auto bad_net = local_ok();
  bad_net.allowed_networks = {"127.0.0.1/33"};
  CHECK_FALSE(media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, bad_net, cap));
  // IPv6 loopback and IPv4-mapped loopback are refused too (nothing listens there: refused first).
  CHECK(media::fetch_url("http://[::1]:1/x", media::media_kind::image, {}, cap)
            .error()
            .message.find("refused") != std::string::npos);
  CHECK(media::fetch_url("http://[::ffff:127.0.0.1]:1/x", media::media_kind::image, {}, cap)
            .error()
            .message.find("refused") != std::string::npos);
  CHECK(media::fetch_url("http://10.0.0.1:1/x", media::media_kind::image, {}, cap)
            .error()
            .message.find("private") != std::string::npos);
}

TEST_CASE("fetch: async on the caller's io_context, concurrent requests") {
  test_server srv(standard_routes());
  asio::io_context io;
  std::vector<mmllm::result<media::http_response>> results;
  for (const char* p : {"/hopper.png", "/chunked.png", "/redirect/2", "/nothing"})
    media::async_fetch_url(io.get_executor(), srv.url(p), media::media_kind::image, local_ok(), cap,
                           [&](mmllm::result<media::http_response> r) { results.push_back(std::move(r)); });
  io.run();
  REQUIRE(results.size() == 4);
  int ok = 0;
  for (const auto& r : results) ok += r.has_value() && r->body.size() == png_bytes().size();
  CHECK(ok == 3);
}

TEST_CASE("load_media through http_fetcher sniffs the fetched bytes") {
  test_server srv(standard_routes());
  media::media_source_options opt;
  opt.fetch = media::http_fetcher{local_ok()};
  auto img = media::load_media(srv.url("/hopper.png"), media::media_kind::image, opt);
  REQUIRE(img);
  CHECK(img->format == media::media_format::png);
  auto wrong = media::load_media(srv.url("/jfk.wav"), media::media_kind::image, opt);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("audio") != std::string::npos);
  opt.limits.max_image_bytes = 100;
  CHECK(media::load_media(srv.url("/hopper.png"), media::media_kind::image, opt).error().code ==
        mmllm::errc::resource_limit);
}

TEST_CASE("URL parsing, redirect resolution and address classification") {
  using media::detail::parse_http_url;
  auto u = parse_http_url("HTTPS://Example.COM:8443/a/b.png?x=1#frag");
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "example.com");
  CHECK(u->port == 8443);
  CHECK(u->target == "/a/b.png?x=1");
  auto v6 = parse_http_url("http://[2001:db8::1]/x");
  REQUIRE(v6);
  CHECK(v6->ipv6_literal);
  CHECK(v6->authority() == "[2001:db8::1]");
  CHECK(parse_http_url("http://h")->target == "/");
  for (const char* bad : {"http://", "http://h:0/", "http://h:70000/", "http://h:x/", "http://[::1/",
                          "http://a@b/", "file:///etc/passwd", "http://h/\r\nX: y", "http://h_\x01/"})
    CHECK_FALSE(parse_http_url(bad));
  const auto base = *parse_http_url("https://h.com/dir/page.html?q");
  CHECK(media::detail::resolve_redirect(base, "img.png")->str() == "https://h.com/dir/img.png");
  CHECK(media::detail::resolve_redirect(base, "/root.png")->str() == "https://h.com/root.png");
  CHECK(media::detail::resolve_redirect(base, "//cdn.net/x")->str() == "https://cdn.net/x");
  CHECK(media::detail::resolve_redirect(base, "http://other/y")->str() == "http://other/y");
  CHECK(media::detail::resolve_redirect(base, "../up.png")->str() == "https://h.com/up.png");
  CHECK(media::detail::resolve_redirect(base, "./a/../b/./c.png?z=1")->str() ==
        "https://h.com/dir/b/c.png?z=1");
  CHECK(media::detail::resolve_redirect(base, "/../../x")->str() == "https://h.com/x");

  auto reason = [](const char* s) {
    asio::error_code ec;
    const auto a = asio::ip::make_address(s, ec);
    REQUIRE_FALSE(ec);
    return std::string(media::detail::special_address_reason(media::detail::to_ip(a)));
  };
  for (const char* pub : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1",
                          "2606:4700::1111", "2a00:1450:4001::200e"})
    CHECK(reason(pub).empty());
  for (const char* sp : {"0.0.0.0",
                         "10.0.0.1",
                         "100.64.1.1",
                         "127.0.0.1",
                         "127.255.255.254",
                         "169.254.169.254",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "192.0.0.8",
                         "198.18.0.1",
                         "224.0.0.1",
                         "240.0.0.1",
                         "255.255.255.255",
                         "::",
                         "::1",
                         "::ffff:10.0.0.1",
                         "::ffff:127.0.0.1",
                         "64:ff9b::a00:1",
                         "fc00::1",
                         "fd12::1",
                         "fe80::1",
                         "ff02::1",
                         "2001:db8::1",
                         "2002:a00:1::1",
                         "2001:0:4136:e378::1"})
    CHECK_FALSE(reason(sp).empty());
  CHECK(media::detail::parse_cidr("10.0.0.0/8")
            ->contains(media::detail::to_ip(asio::ip::make_address("10.9.8.7"))));
  CHECK_FALSE(media::detail::parse_cidr("10.0.0.0/8")
                  ->contains(media::detail::to_ip(asio::ip::make_address("11.0.0.1"))));
  CHECK(media::detail::parse_cidr("fe80::/10")
            ->contains(media::detail::to_ip(asio::ip::make_address("fe80::5"))));
}

TEST_CASE("HTTP response parser: framing, byte-by-byte feeding, limits") {
  using media::detail::http_response_parser;
  const std::string resp =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: x/y\r\nTransfer-Encoding: "
      "chunked\r\n\r\n"
      "5\r\nhello\r\n6;a=b\r\n world\r\n0\r\nT: 1\r\n\r\ntrailing garbage";
  http_response_parser whole(100), bytewise(100);
  REQUIRE(whole.feed(std::span(reinterpret_cast<const std::uint8_t*>(resp.data()), resp.size())));
  for (const char c : resp) REQUIRE(bytewise.feed(std::span(reinterpret_cast<const std::uint8_t*>(&c), 1)));
  for (auto* p : {&whole, &bytewise}) {
    CHECK(p->done());
    CHECK(p->status() == 200);
    CHECK(p->header("content-type") == "x/y");
    CHECK(std::string(p->body().begin(), p->body().end()) == "hello world");
  }
  auto feed = [](http_response_parser& p, const std::string& s) {
    return p.feed(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  http_response_parser small(5);
  CHECK(feed(small, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n").error().code ==
        mmllm::errc::resource_limit);
  http_response_parser close_body(100);
  REQUIRE(feed(close_body, "HTTP/1.0 200 OK\n\nabc"));
  CHECK_FALSE(close_body.done());
  REQUIRE(close_body.finish_eof());
  CHECK(close_body.body().size() == 3);
  http_response_parser cut(100);
  REQUIRE(feed(cut, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  CHECK(cut.finish_eof().error().code == mmllm::errc::truncated);
  http_response_parser conflict(100);
  CHECK_FALSE(feed(conflict, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"));
  http_response_parser bad_chunk(100);
  CHECK_FALSE(feed(bad_chunk, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
  http_response_parser gzip(100);
  CHECK_FALSE(feed(gzip, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"));
  http_response_parser headers(100, 64);
  CHECK(feed(headers, "HTTP/1.1 200 OK\r\n" + std::string(100, 'a') + ": b\r\n\r\n").error().code ==
        mmllm::errc::resource_limit);
  http_response_parser nobody(100);
  REQUIRE(feed(nobody, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"));
  CHECK(nobody.done());
}

#if defined(MMLLM_WITH_OPENSSL)
namespace {
/// A self-signed certificate for 127.0.0.1 / localhost, made with OpenSSL for this test run.
std::pair<std::string, std::string> make_test_certificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mmllm test"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  std::string cert = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  std::string pkey =
      to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return {cert, pkey};
}
}  // namespace

TEST_CASE("fetch over https: verified with a trusted CA, refused without") {
  const auto [cert, key] = make_test_certificate();
  test_server srv(standard_routes(), cert, key);
  auto opt = local_ok();
  opt.extra_ca_pem = cert;
  auto r = media::fetch_url(srv.url("/hopper.png", "https"), media::media_kind::image, opt, cap);
  if (!r) FAIL(r.error().what());
  CHECK(std::string(r->body.begin(), r->body.end()) == png_bytes());
  auto chunk = media::fetch_url(srv.url("/chunked.png", "https"), media::media_kind::image, opt, cap);
  REQUIRE(chunk);
  CHECK(chunk->body.size() == png_bytes().size());
  auto untrusted =
      media::fetch_url(srv.url("/hopper.png", "https"), media::media_kind::image, local_ok(), cap);
  REQUIRE_FALSE(untrusted);
  CHECK(untrusted.error().message.find("TLS") != std::string::npos);
  // plain http to a TLS port fails cleanly (malformed or closed), never hangs past the deadline
  auto plain = media::fetch_url(srv.url("/hopper.png"), media::media_kind::image, opt, cap);
  CHECK_FALSE(plain);
}
#else
TEST_CASE("https without OpenSSL is a clear error") {
  auto r = media::fetch_url("https://127.0.0.1:1/x", media::media_kind::image, local_ok(), cap);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::unsupported);
}
#endif
