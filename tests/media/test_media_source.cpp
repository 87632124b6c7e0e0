// Media sources: sniffing, base64, data: URIs, local files under an allowed root.
#include <mmllm/media/media_source.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;
namespace fs = std::filesystem;
using mmllm::test::fixture_path;
using mmllm::test::read_bytes;
using namespace std::string_literals;

namespace {

/// A scratch directory tree for the local-file tests, removed afterwards.
struct scratch_dir {
  fs::path root;
  scratch_dir() {
    std::random_device rd;
    root = fs::temp_directory_path() / ("mmllm-media-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(root / "allowed" / "sub");
    fs::create_directories(root / "outside");
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void write(const fs::path& rel, const std::vector<std::uint8_t>& bytes) const {
    std::ofstream f(root / rel, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
};

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("sniffing by magic bytes, never by name") {
  struct expect {
    const char* file;
    media::media_format f;
  };
  for (const expect e :
       {expect{"media/test-1.jpeg", media::media_format::jpeg},
        expect{"media/hopper.png", media::media_format::png},
        expect{"media/hopper.bmp", media::media_format::bmp},
        expect{"media/hopper.gif", media::media_format::gif},
        expect{"media/hopper.ppm", media::media_format::pnm},
        expect{"media/jfk.wav", media::media_format::wav}, expect{"media/jfk.mp3", media::media_format::mp3},
        expect{"media/test-2.mp3", media::media_format::mp3}}) {
    INFO(e.file);
    CHECK(media::sniff_format(read_bytes(fixture_path(e.file))) == e.f);
  }
  auto b = [](std::initializer_list<int> v) {
    std::vector<std::uint8_t> out;
    for (int x : v) out.push_back(std::uint8_t(x));
    out.resize(std::max<std::size_t>(out.size(), 400), 0);
    return out;
  };
  CHECK(media::sniff_format(bytes_of("fLaC\0\0\0\""s)) == media::media_format::flac);
  CHECK(media::sniff_format(bytes_of("OggS\0\x02\0\0\0\0\0\0\0\0\x01\x1e\x01vorbis"s)) ==
        media::media_format::ogg_audio);
  CHECK(media::sniff_format(bytes_of(std::string("OggS") + std::string(24, '\0') + "\x80theora")) ==
        media::media_format::ogg_video);
  CHECK(media::sniff_format(
            b({0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0, 'i', 's', 'o', 'm'})) ==
        media::media_format::mp4);
  CHECK(media::sniff_format(
            b({0, 0, 0, 0x1c, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0, 0, 0, 'a', 'v', 'i', 'f'})) ==
        media::media_format::avif);
  CHECK(media::sniff_format(b({0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'M', '4', 'A', ' ', 0, 0, 0, 0})) ==
        media::media_format::m4a);
  CHECK(media::sniff_format(b({0x1A, 0x45, 0xDF, 0xA3, 0x9F})) == media::media_format::matroska);
  CHECK(media::sniff_format(bytes_of("RIFF\x10\0\0\0AVI LIST"s)) == media::media_format::avi);
  CHECK(media::sniff_format(bytes_of("RIFF\x10\0\0\0WEBPVP8 "s)) == media::media_format::webp);
  CHECK(media::sniff_format(b({0xFF, 0xFB, 0x90, 0x64})) ==
        media::media_format::mp3);  // MPEG-1 layer III frame
  CHECK(media::sniff_format(b({0xFF, 0xF1, 0x50, 0x80})) == media::media_format::aac);  // ADTS
  CHECK(media::sniff_format(b({0xFF, 0xD8, 0xFF, 0xE0})) == media::media_format::jpeg);
  CHECK(media::sniff_format(bytes_of("hello world, just text")) == media::media_format::unknown);
  CHECK(media::sniff_format({}) == media::media_format::unknown);
  CHECK(media::kind_of(media::media_format::wav) == media::media_kind::audio);
  CHECK(media::mime_type(media::media_format::png) == "image/png");
}

TEST_CASE("base64: round trips, whitespace, both alphabets, errors, cap") {
  std::vector<std::uint8_t> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::uint8_t(i * 7 + 3);
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 5u, 999u, 1000u}) {
    const std::vector<std::uint8_t> part(data.begin(), data.begin() + std::ptrdiff_t(n));
    const std::string text = media::encode_base64(part);
    CHECK(text.size() == (n + 2) / 3 * 4);
    auto back = media::decode_base64(text);
    REQUIRE(back);
    CHECK(*back == part);
    // without padding, and wrapped at 76 columns
    std::string bare = text;
    while (!bare.empty() && bare.back() == '=') bare.pop_back();
    CHECK(*media::decode_base64(bare) == part);
    std::string wrapped;
    for (std::size_t i = 0; i < text.size(); ++i)
      wrapped += (i % 76 == 75) ? std::string("\r\n") + text[i] : std::string(1, text[i]);
    CHECK(*media::decode_base64(wrapped) == part);
  }
  CHECK(media::encode_base64(bytes_of("Man")) == "TWFu");  // RFC 4648 examples
  CHECK(media::encode_base64(bytes_of("foobar")) == "Zm9vYmFy");
  CHECK(*media::decode_base64("Zm9vYg==") == bytes_of("foob"));
  CHECK(*media::decode_base64("-_-_") == *media::decode_base64("+/+/"));  // URL-safe alphabet
  CHECK_FALSE(media::decode_base64("Zm9v!mFy"));
  CHECK_FALSE(media::decode_base64("Zm9vY"));      // one dangling character
  CHECK_FALSE(media::decode_base64("Zm9vYg=x"));   // data after padding
  CHECK_FALSE(media::decode_base64("Zm9vYmFy="));  // padding where none belongs
  CHECK_FALSE(media::decode_base64("Zg==="));
  auto capped = media::decode_base64(media::encode_base64(data), 999);
  REQUIRE_FALSE(capped);
  CHECK(capped.error().code == mmllm::errc::resource_limit);
  CHECK(media::decode_base64(media::encode_base64(data), 1000).has_value());
}

TEST_CASE("data: URIs") {
  const auto png = read_bytes(fixture_path("media/hopper.png"));
  const std::string uri = "data:image/png;base64," + media::encode_base64(png);
  auto d = media::parse_data_uri(uri);
  REQUIRE(d);
  CHECK(d->mime_type == "image/png");
  CHECK(d->bytes == png);
  auto p = media::parse_data_uri("DATA:text/plain;charset=utf-8,a%20b%2Cc");
  REQUIRE(p);
  CHECK(p->mime_type == "text/plain");
  CHECK(p->bytes == bytes_of("a b,c"));
  CHECK(media::parse_data_uri("data:,x")->mime_type == "text/plain");
  CHECK_FALSE(media::parse_data_uri("data:image/png;base64"));   // no comma
  CHECK_FALSE(media::parse_data_uri("data:image/png;base64,"));  // empty
  CHECK_FALSE(media::parse_data_uri("data:text/plain,%4"));      // bad escape
  CHECK_FALSE(media::parse_data_uri("http://x/y"));
  CHECK(media::parse_data_uri(uri, png.size() - 1).error().code == mmllm::errc::resource_limit);

  // load_media: the declared type is informational; the bytes decide.
  media::media_source_options opt;
  const std::string lying = "data:audio/wav;base64," + media::encode_base64(png);
  auto as_image = media::load_media(lying, media::media_kind::image, opt);
  REQUIRE(as_image);
  CHECK(as_image->format == media::media_format::png);
  CHECK(as_image->declared_type == "audio/wav");
  auto as_audio = media::load_media(lying, media::media_kind::audio, opt);
  REQUIRE_FALSE(as_audio);
  CHECK(as_audio.error().message.find("png") != std::string::npos);
  opt.limits.max_image_bytes = 1000;
  CHECK(media::load_media(uri, media::media_kind::image, opt).error().code == mmllm::errc::resource_limit);
  auto b64 = media::load_media_base64(media::encode_base64(read_bytes(fixture_path("media/jfk.wav"))),
                                      media::media_kind::audio, {});
  REQUIRE(b64);
  CHECK(b64->format == media::media_format::wav);
  CHECK(media::load_media("ftp://x/y.png", media::media_kind::image, {}).error().code ==
        mmllm::errc::invalid_argument);
  CHECK(media::load_media("http://example.com/a.png", media::media_kind::image, {}).error().code ==
        mmllm::errc::unsupported);  // no fetcher configured
}

TEST_CASE("local files: only under the allowed root") {
  scratch_dir dir;
  const auto png = read_bytes(fixture_path("media/hopper.png"));
  dir.write("allowed/sub/cat.png", png);
  dir.write("outside/secret.png", png);
  const fs::path root = dir.root / "allowed";

  // No root configured: everything refused.
  auto none = media::read_local_file(root / "sub/cat.png", {}, 1 << 20);
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("disabled") != std::string::npos);

  auto ok = media::read_local_file(root / "sub/cat.png", root, 1 << 20);
  REQUIRE(ok);
  CHECK(*ok == png);
  CHECK(media::read_local_file("sub/cat.png", root, 1 << 20).has_value());  // relative to the root
  CHECK(media::read_local_file(root / "sub/cat.png", root, png.size() - 1).error().code ==
        mmllm::errc::resource_limit);

  // "..", even if it would come back inside; absolute paths outside; the root's sibling with a
  // common name prefix.
  CHECK_FALSE(media::read_local_file(root / "sub/../sub/cat.png", root, 1 << 20));
  CHECK_FALSE(media::read_local_file(root / "../outside/secret.png", root, 1 << 20));
  CHECK_FALSE(media::read_local_file(dir.root / "outside/secret.png", root, 1 << 20));
  fs::create_directories(dir.root / "allowed2");
  dir.write("allowed2/x.png", png);
  CHECK_FALSE(media::read_local_file(dir.root / "allowed2/x.png", root, 1 << 20));

  // Symlinks: out of the root refused (file and directory links); inside the root fine.
  std::error_code ec;
  fs::create_symlink(dir.root / "outside/secret.png", root / "link.png", ec);
  REQUIRE_FALSE(ec);
  fs::create_directory_symlink(dir.root / "outside", root / "linkdir", ec);
  REQUIRE_FALSE(ec);
  fs::create_symlink(root / "sub/cat.png", root / "inner.png", ec);
  REQUIRE_FALSE(ec);
  CHECK_FALSE(media::read_local_file(root / "link.png", root, 1 << 20));
  CHECK_FALSE(media::read_local_file(root / "linkdir/secret.png", root, 1 << 20));
  CHECK(media::read_local_file(root / "inner.png", root, 1 << 20).has_value());

  // Not regular files / missing.
  CHECK_FALSE(media::read_local_file(root / "sub", root, 1 << 20));
  CHECK_FALSE(media::read_local_file(root / "missing.png", root, 1 << 20));
  CHECK_FALSE(media::read_local_file(root, root, 1 << 20));

  // Through load_media with file:// URLs.
  media::media_source_options opt;
  CHECK_FALSE(media::load_media("file://" + (root / "sub/cat.png").string(), media::media_kind::image, opt));
  opt.allowed_local_root = root;
  auto item = media::load_media("file://" + (root / "sub/cat.png").string(), media::media_kind::image, opt);
  REQUIRE(item);
  CHECK(item->format == media::media_format::png);
  CHECK(
      media::load_media("file://localhost" + (root / "sub/cat.png").string(), media::media_kind::image, opt));
  std::string encoded = "file://" + (root / "sub").string() + "/%63at.png";  // %63 = 'c'
  CHECK(media::load_media(encoded, media::media_kind::image, opt).has_value());
  CHECK_FALSE(media::load_media("file://" + (root / "sub/%2e%2e/sub/cat.png").string(),
                                media::media_kind::image, opt));
  CHECK_FALSE(media::load_media("file://relative/cat.png", media::media_kind::image, opt));
  CHECK_FALSE(media::load_media("file://" + (root / "sub/cat.png").string(), media::media_kind::audio, opt));
}
