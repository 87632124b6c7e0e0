// Helpers for the tokenizer tests: a gzip (RFC 1951/1952) decoder for the compressed
// tokenizer.json fixtures, readers for llama.cpp's .inp/.out vocabulary tests and for the
// Hugging Face reference JSON, and tokenizer loaders that cache per process.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fixtures.hpp"

#include <mmllm/tokenize/detokenizer.hpp>
#include <mmllm/tokenize/gguf_tokenizer.hpp>
#include <mmllm/tokenize/json_reader.hpp>
#include <mmllm/tokenize/tokenizer_json.hpp>

namespace mmllm::test {

namespace inflate_detail {

struct bit_reader {
  const std::uint8_t* p;
  std::size_t n, pos = 0;
  std::uint32_t bitbuf = 0;
  int bitcnt = 0;
  int bit() {
    if (bitcnt == 0) {
      if (pos >= n) throw std::runtime_error("gzip: truncated");
      bitbuf = p[pos++];
      bitcnt = 8;
    }
    const int b = static_cast<int>(bitbuf & 1u);
    bitbuf >>= 1;
    --bitcnt;
    return b;
  }
  std::uint32_t bits(int k) {
    std::uint32_t v = 0;
    for (int i = 0; i < k; ++i) v |= static_cast<std::uint32_t>(bit()) << i;
    return v;
  }
};

// Canonical Huffman decoding table: counts per length and symbols in code order.
struct huffman {
  std::array<std::uint16_t, 16> count{};
  std::vector<std::uint16_t> symbol;
  void build(const std::uint8_t* lengths, int n) {
    count.fill(0);
    for (int i = 0; i < n; ++i) ++count[lengths[i]];
    count[0] = 0;
    std::array<std::uint16_t, 16> offs{};
    for (int len = 1; len < 16; ++len) offs[len] = static_cast<std::uint16_t>(offs[len - 1] + count[len - 1]);
    symbol.assign(static_cast<std::size_t>(n), 0);
    for (int i = 0; i < n; ++i)
      if (lengths[i] != 0) symbol[offs[lengths[i]]++] = static_cast<std::uint16_t>(i);
  }
  int decode(bit_reader& br) const {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= br.bit();
      const int c = count[len];
      if (code - c < first) return symbol[static_cast<std::size_t>(index + (code - first))];
      index += c;
      first += c;
      first <<= 1;
      code <<= 1;
    }
    throw std::runtime_error("gzip: bad Huffman code");
  }
};

inline void inflate_block(bit_reader& br, const huffman& lit, const huffman& dist, std::string& out) {
  static constexpr std::uint16_t len_base[] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                               15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                               67, 83, 99, 115, 131, 163, 195, 227, 258};
  static constexpr std::uint8_t len_extra[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  static constexpr std::uint16_t dist_base[] = {
      1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
      193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
  static constexpr std::uint8_t dist_extra[] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
  for (;;) {
    const int sym = lit.decode(br);
    if (sym < 256) {
      out.push_back(static_cast<char>(sym));
    } else if (sym == 256) {
      return;
    } else {
      const int li = sym - 257;
      if (li >= 29) throw std::runtime_error("gzip: bad length");
      const std::size_t len = len_base[li] + br.bits(len_extra[li]);
      const int di = dist.decode(br);
      if (di >= 30) throw std::runtime_error("gzip: bad distance");
      const std::size_t d = dist_base[di] + br.bits(dist_extra[di]);
      if (d > out.size()) throw std::runtime_error("gzip: distance too far");
      const std::size_t from = out.size() - d;
      for (std::size_t i = 0; i < len; ++i) out.push_back(out[from + i]);
    }
  }
}

}  // namespace inflate_detail

/// Decompresses a gzip file's bytes (all members).
inline std::string gunzip(const std::vector<std::uint8_t>& gz) {
  using namespace inflate_detail;
  std::string out;
  std::size_t at = 0;
  while (at + 18 <= gz.size()) {
    if (gz[at] != 0x1f || gz[at + 1] != 0x8b || gz[at + 2] != 8) throw std::runtime_error("gzip: bad header");
    const std::uint8_t flg = gz[at + 3];
    std::size_t p = at + 10;
    if ((flg & 4) != 0) p += 2 + (gz[p] | (gz[p + 1] << 8));
    if ((flg & 8) != 0)
      while (gz[p++] != 0) {
      }
    if ((flg & 16) != 0)
      while (gz[p++] != 0) {
      }
    if ((flg & 2) != 0) p += 2;
    bit_reader br{gz.data() + p, gz.size() - p};
    for (bool last = false; !last;) {
      last = br.bit() != 0;
      const std::uint32_t type = br.bits(2);
      if (type == 0) {
        br.bitcnt = 0;
        if (br.pos + 4 > br.n) throw std::runtime_error("gzip: truncated");
        const std::size_t len = br.p[br.pos] | (br.p[br.pos + 1] << 8);
        br.pos += 4;
        if (br.pos + len > br.n) throw std::runtime_error("gzip: truncated");
        out.append(reinterpret_cast<const char*>(br.p + br.pos), len);
        br.pos += len;
      } else if (type == 1) {
        static const auto fixed = [] {
          std::array<std::uint8_t, 288> l{};
          for (int i = 0; i < 144; ++i) l[i] = 8;
          for (int i = 144; i < 256; ++i) l[i] = 9;
          for (int i = 256; i < 280; ++i) l[i] = 7;
          for (int i = 280; i < 288; ++i) l[i] = 8;
          std::array<std::uint8_t, 30> d{};
          d.fill(5);
          std::pair<huffman, huffman> h;
          h.first.build(l.data(), 288);
          h.second.build(d.data(), 30);
          return h;
        }();
        inflate_block(br, fixed.first, fixed.second, out);
      } else if (type == 2) {
        const int hlit = static_cast<int>(br.bits(5)) + 257, hdist = static_cast<int>(br.bits(5)) + 1,
                  hclen = static_cast<int>(br.bits(4)) + 4;
        static constexpr int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        std::array<std::uint8_t, 19> cl{};
        for (int i = 0; i < hclen; ++i) cl[order[i]] = static_cast<std::uint8_t>(br.bits(3));
        huffman clh;
        clh.build(cl.data(), 19);
        std::vector<std::uint8_t> lens(static_cast<std::size_t>(hlit + hdist), 0);
        for (int i = 0; i < hlit + hdist;) {
          const int sym = clh.decode(br);
          if (sym < 16) {
            lens[static_cast<std::size_t>(i++)] = static_cast<std::uint8_t>(sym);
          } else {
            int rep = 0;
            std::uint8_t val = 0;
            if (sym == 16) {
              if (i == 0) throw std::runtime_error("gzip: bad repeat");
              val = lens[static_cast<std::size_t>(i - 1)];
              rep = 3 + static_cast<int>(br.bits(2));
            } else if (sym == 17) {
              rep = 3 + static_cast<int>(br.bits(3));
            } else {
              rep = 11 + static_cast<int>(br.bits(7));
            }
            if (i + rep > hlit + hdist) throw std::runtime_error("gzip: bad lengths");
            while (rep-- > 0) lens[static_cast<std::size_t>(i++)] = val;
          }
        }
        huffman lit, dist;
        lit.build(lens.data(), hlit);
        dist.build(lens.data() + hlit, hdist);
        inflate_block(br, lit, dist, out);
      } else {
        throw std::runtime_error("gzip: bad block type");
      }
    }
    at = p + br.pos + 8;  // CRC32 and ISIZE
  }
  return out;
}

/// One llama.cpp vocabulary test case: input text and expected ids.
struct vocab_case {
  std::string text;
  std::vector<mmllm::token_id> ids;
};

/// Reads X.gguf.inp / X.gguf.out as llama.cpp's tests/test-tokenizer-0 does: inputs split on
/// "\n__ggml_vocab_test__\n" (no trailing empty piece), one output line of ids per input.
inline std::vector<vocab_case> read_vocab_cases(const std::string& base) {
  const std::string inp = read_text(fixture_path("vocab/" + base + ".inp"));
  const std::string out = read_text(fixture_path("vocab/" + base + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (std::size_t pos = 0; pos < inp.size();) {
    const std::size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(inp.substr(pos));
      break;
    }
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < out.size();) {
    std::size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    lines.push_back(out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (inputs.size() != lines.size()) throw std::runtime_error("inp/out case counts differ for " + base);
  std::vector<vocab_case> cases;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    vocab_case c{inputs[i], {}};
    std::size_t pos = 0;
    const std::string& l = lines[i];
    while (pos < l.size()) {
      while (pos < l.size() && l[pos] == ' ') ++pos;
      if (pos >= l.size()) break;
      std::size_t e = l.find(' ', pos);
      if (e == std::string::npos) e = l.size();
      c.ids.push_back(static_cast<mmllm::token_id>(std::stol(l.substr(pos, e - pos))));
      pos = e;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

/// A tokenizer from ../shared/fixtures/vocab/ggml-vocab-<name>.gguf (loaded once).
inline const mmllm::tokenizer& gguf_vocab(const std::string& name) {
  static std::map<std::string, mmllm::tokenizer> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const auto path = fixture_path("vocab/ggml-vocab-" + name + ".gguf").string();
  auto t = mmllm::load_gguf_tokenizer(path);
  if (!t) throw std::runtime_error("cannot load " + path + ": " + t.error().what());
  return cache.emplace(name, std::move(*t)).first->second;
}

/// A tokenizer from ../shared/fixtures/tokenizers/<name>/tokenizer*.json.gz (loaded once).
inline const mmllm::tokenizer& hf_tokenizer(const std::string& name) {
  static std::map<std::string, mmllm::tokenizer> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const std::string json = gunzip(read_bytes(fixture_path("tokenizers/" + name + "/tokenizer.json.gz")));
  const std::string cfg =
      gunzip(read_bytes(fixture_path("tokenizers/" + name + "/tokenizer_config.json.gz")));
  auto t = mmllm::load_tokenizer_json(json, cfg);
  if (!t) throw std::runtime_error("cannot load tokenizer " + name + ": " + t.error().what());
  return cache.emplace(name, std::move(*t)).first->second;
}

/// One Hugging Face reference case (see fixtures/README.md, tokenizers/).
struct hf_case {
  std::string text;
  std::vector<mmllm::token_id> ids, ids_add_special;
  std::string decode, decode_no_cleanup, decode_add_special, decode_add_special_skip_special;
};

inline std::vector<hf_case> read_hf_cases(const std::string& name, const std::string& file) {
  auto doc = mmllm::json_parse(read_text(fixture_path("tokenizers/" + name + "/" + file)));
  if (!doc) throw std::runtime_error(doc.error().what());
  std::vector<hf_case> out;
  const mmllm::json_value* cases = doc->find("cases");
  if (cases == nullptr) throw std::runtime_error("no cases in " + file);
  auto ids = [](const mmllm::json_value* v) {
    std::vector<mmllm::token_id> r;
    if (v != nullptr)
      for (const auto& x : v->items()) r.push_back(static_cast<mmllm::token_id>(x.as_number()));
    return r;
  };
  for (const mmllm::json_value& c : cases->items()) {
    hf_case h;
    h.text = std::string(c.string_or("text", ""));
    h.ids = ids(c.find("ids"));
    h.ids_add_special = ids(c.find("ids_add_special"));
    h.decode = std::string(c.string_or("decode", ""));
    h.decode_no_cleanup = std::string(c.string_or("decode_no_cleanup", ""));
    h.decode_add_special = std::string(c.string_or("decode_add_special", ""));
    h.decode_add_special_skip_special = std::string(c.string_or("decode_add_special_skip_special", ""));
    out.push_back(std::move(h));
  }
  return out;
}

/// Readable rendering of bytes for failure messages.
inline std::string show(std::string_view s) {
  std::string o;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      o += "\\x";
      o += hex[c >> 4];
      o += hex[c & 15];
    } else {
      o += ch;
    }
  }
  return o;
}

/// Deterministic pseudo-random generator (xorshift64*), for property tests.
struct test_rng {
  std::uint64_t s;
  explicit test_rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

/// A random string of valid UTF-8 drawn from a mix of ASCII, white space, punctuation,
/// Latin/Greek/Cyrillic/CJK/Hangul/Arabic letters, digits of several scripts, combining
/// marks, emoji with ZWJ and variation selectors, and random code points of any plane.
inline std::string random_unicode_text(test_rng& r, std::size_t max_cps) {
  static constexpr char32_t pool[] = {
      'a',     'b',     'Z',    'e',    ' ',    ' ',    ' ',    '\n',   '\t',   '\r',   '\'',   's',
      'T',     '.',     ',',    '!',    '?',    '0',    '7',    '9',    '$',    '<',    '>',    '|',
      '~',     '_',     0xA0,   0xE9,   0xDF,   0x416,  0x436,  0x3B1,  0x4E2D, 0x6587, 0xAC00, 0x627,
      0x661,   0xB2,    0xBD,   0x216B, 0x301,  0x308,  0x2003, 0x3000, 0x85,   0xFEFF, 0x200B, 0x200D,
      0x1F600, 0x1F999, 0xFE0F, 0x2026, 0x201C, 0x2581, 0xFFFD, 0x1C5,  0x2B0,  0x1F00, 0x0};
  std::string s;
  const std::size_t n = r.below(max_cps + 1);
  for (std::size_t i = 0; i < n; ++i) {
    char32_t c = pool[r.below(sizeof(pool) / sizeof(pool[0]))];
    if (r.below(8) == 0) {
      c = static_cast<char32_t>(r.below(0x110000));
      if (c >= 0xD800 && c <= 0xDFFF) c = 0x20;
    }
    mmllm::utf8_append(s, c);
  }
  return s;
}

}  // namespace mmllm::test

namespace mmllm::test {

/// Checks every case of tokenizers/<name>/<file> (ids with and without special tokens and
/// the four recorded decodes); returns the number of fully passing cases.
inline std::size_t check_hf_cases(const std::string& name, const std::string& file) {
  const mmllm::tokenizer& tok = hf_tokenizer(name);
  const auto cases = read_hf_cases(name, file);
  std::size_t pass = 0;
  mmllm::decode_options no_cleanup;
  no_cleanup.clean_up_spaces = 0;
  mmllm::decode_options skip;
  skip.skip_special = true;
  for (const hf_case& c : cases) {
    INFO(name << "/" << file << " [" << show(c.text) << "]");
    // transformers parses special-token text in the input (parse_special).
    const auto ids = tok.encode(c.text, {.add_special = false, .parse_special = true});
    const auto ids2 = tok.encode(c.text, {.add_special = true, .parse_special = true});
    CHECK(ids == c.ids);
    CHECK(ids2 == c.ids_add_special);
    const std::string d1 = tok.decode(c.ids);
    const std::string d2 = tok.decode(c.ids, no_cleanup);
    const std::string d3 = tok.decode(c.ids_add_special);
    const std::string d4 = tok.decode(c.ids_add_special, skip);
    CHECK(d1 == c.decode);
    CHECK(d2 == c.decode_no_cleanup);
    CHECK(d3 == c.decode_add_special);
    CHECK(d4 == c.decode_add_special_skip_special);
    // Streaming one token at a time gives the same text.
    mmllm::detokenizer stream(tok);
    std::string streamed;
    for (const mmllm::token_id id : c.ids) streamed += stream.push(id);
    streamed += stream.finish();
    CHECK(streamed == c.decode);
    if (ids == c.ids && ids2 == c.ids_add_special && d1 == c.decode && d2 == c.decode_no_cleanup &&
        d3 == c.decode_add_special && d4 == c.decode_add_special_skip_special && streamed == c.decode)
      ++pass;
  }
  CHECK(pass == cases.size());
  return pass;
}

/// tokenizer.json ids against a llama.cpp .out file generated from the same tokenizer.
inline std::size_t check_hf_against_vocab_out(const std::string& name, const std::string& vocab) {
  const mmllm::tokenizer& tok = hf_tokenizer(name);
  const auto cases = read_vocab_cases("ggml-vocab-" + vocab + ".gguf");
  std::size_t pass = 0;
  for (const auto& c : cases) {
    INFO(name << " vs " << vocab << ".out [" << show(c.text) << "]");
    const auto got = tok.encode(c.text, {.add_special = false, .parse_special = false});
    CHECK(got == c.ids);
    pass += got == c.ids ? 1 : 0;
  }
  CHECK(pass == cases.size());
  return pass;
}

}  // namespace mmllm::test
