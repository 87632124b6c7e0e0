// mmllm/tokenize/unicode.hpp — UTF-8, general categories, case and normalization.
//
// Everything the tokenizers need from Unicode, for all of Unicode (15.0 data plus the 15.1
// categories, see unicode_data.hpp): UTF-8 decoding/encoding, the general category of a
// code point (`unicode_category`, with the \p{L}/\p{N}/… groups as `unicode_class` bits),
// White_Space, simple and full lowercase, and the normalization forms NFC/NFD/NFKC/NFKD.
//
//   mmllm::unicode_class c = mmllm::unicode_class_of(U'é');   // c & unicode_class::letter
//   std::string nfc = mmllm::unicode_normalize("e\u0301", mmllm::normalization_form::nfc);
//
// Lookup tables are built from the compact generated runs once, on first use (an immutable
// function-local static), and are shared by all threads.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "unicode_data.hpp"

namespace mmllm {

/// Unicode general categories (Cn = unassigned).
enum class unicode_category : std::uint8_t {
  Cn,
  Lu,
  Ll,
  Lt,
  Lm,
  Lo,
  Mn,
  Mc,
  Me,
  Nd,
  Nl,
  No,
  Pc,
  Pd,
  Ps,
  Pe,
  Pi,
  Pf,
  Po,
  Sm,
  Sc,
  Sk,
  So,
  Zs,
  Zl,
  Zp,
  Cc,
  Cf,
  Cs,
  Co,
};

/// Bit set of the one-letter category groups plus White_Space, as regexes use them.
namespace unicode_class {
inline constexpr std::uint16_t letter = 1u << 0;       ///< \p{L}
inline constexpr std::uint16_t mark = 1u << 1;         ///< \p{M}
inline constexpr std::uint16_t number = 1u << 2;       ///< \p{N}
inline constexpr std::uint16_t punctuation = 1u << 3;  ///< \p{P}
inline constexpr std::uint16_t symbol = 1u << 4;       ///< \p{S}
inline constexpr std::uint16_t separator = 1u << 5;    ///< \p{Z}
inline constexpr std::uint16_t other = 1u << 6;        ///< \p{C} except Cn (Cc, Cf, Cs, Co)
inline constexpr std::uint16_t unassigned = 1u << 7;   ///< Cn
inline constexpr std::uint16_t white_space = 1u << 8;  ///< White_Space property (\s)
}  // namespace unicode_class

/// Unicode normalization forms.
enum class normalization_form : std::uint8_t { nfc, nfd, nfkc, nfkd };

/// The replacement character U+FFFD.
inline constexpr char32_t replacement_character = 0xFFFD;

// --- UTF-8 ------------------------------------------------------------------------------------

/// Length of the UTF-8 sequence a lead byte announces, from its high nibble (1 for ASCII,
/// continuation and invalid bytes; 2, 3 or 4 otherwise). This is how the peer splits text
/// into "characters" for SentencePiece and BPE symbols; it does not validate.
constexpr std::size_t utf8_sequence_length(unsigned char lead) noexcept {
  constexpr std::array<std::uint8_t, 16> lengths{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lengths[lead >> 4];
}

/// One decoded code point: its value and how many bytes it took; `valid` is false for an
/// ill-formed sequence, which decodes to U+FFFD consuming `length` bytes (the maximal
/// subpart, as the WHATWG/Unicode "U+FFFD substitution of maximal subparts" practice).
struct utf8_decoded {
  char32_t code_point = 0;
  std::uint8_t length = 1;
  bool valid = true;
};

/// Decodes the code point starting at text[pos] (pos < text.size()), strictly: overlong
/// forms, surrogates and values above U+10FFFF are ill-formed.
constexpr utf8_decoded utf8_decode(std::string_view text, std::size_t pos) noexcept {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) return {b0, 1, true};
  const std::size_t left = text.size() - pos;
  auto cont = [&](std::size_t i) -> int {
    if (i >= left) return -1;
    const auto b = static_cast<unsigned char>(text[pos + i]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    const int c1 = cont(1);
    if (c1 < 0) return {replacement_character, 1, false};
    return {static_cast<char32_t>(((b0 & 0x1F) << 6) | c1), 2, true};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const int c1 = cont(1);
    // Second-byte ranges that keep the sequence well-formed (no overlongs, no surrogates).
    const int lo = b0 == 0xE0 ? 0x20 : 0x00;
    const int hi = b0 == 0xED ? 0x1F : 0x3F;
    if (c1 < lo || c1 > hi) return {replacement_character, 1, false};
    const int c2 = cont(2);
    if (c2 < 0) return {replacement_character, 2, false};
    return {static_cast<char32_t>(((b0 & 0x0F) << 12) | (c1 << 6) | c2), 3, true};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const int c1 = cont(1);
    const int lo = b0 == 0xF0 ? 0x10 : 0x00;
    const int hi = b0 == 0xF4 ? 0x0F : 0x3F;
    if (c1 < lo || c1 > hi) return {replacement_character, 1, false};
    const int c2 = cont(2);
    if (c2 < 0) return {replacement_character, 2, false};
    const int c3 = cont(3);
    if (c3 < 0) return {replacement_character, 3, false};
    return {static_cast<char32_t>(((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3), 4, true};
  }
  return {replacement_character, 1, false};
}

/// Appends the UTF-8 encoding of `cp` (values above U+10FFFF encode U+FFFD).
inline void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x110000) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    utf8_append(out, replacement_character);
  }
}

/// The UTF-8 encoding of `cp`.
inline std::string utf8_encode(char32_t cp) {
  std::string s;
  utf8_append(s, cp);
  return s;
}

/// Decodes a whole string (ill-formed sequences become U+FFFD).
inline std::u32string utf8_to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    out.push_back(d.code_point);
    pos += d.length;
  }
  return out;
}

/// Encodes code points as UTF-8.
inline std::string code_points_to_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (const char32_t c : cps) utf8_append(out, c);
  return out;
}

/// True when `text` is well-formed UTF-8.
constexpr bool utf8_is_valid(std::string_view text) noexcept {
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    if (!d.valid) return false;
    pos += d.length;
  }
  return true;
}

/// Replaces every ill-formed subsequence with U+FFFD (maximal subparts, as TextDecoder and
/// Python's "replace" error handler do).
inline std::string utf8_sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    if (d.valid)
      out.append(text.substr(pos, d.length));
    else
      utf8_append(out, replacement_character);
    pos += d.length;
  }
  return out;
}

/// Number of bytes at the end of `text` that form the beginning of a UTF-8 sequence that
/// could still be completed by more bytes (0 when the text ends on a complete character or
/// with bytes that can never become valid).
constexpr std::size_t utf8_incomplete_tail(std::string_view text) noexcept {
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<unsigned char>(text[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation: keep looking for the lead
    std::size_t need = 0;
    if (b >= 0xC2 && b <= 0xDF)
      need = 2;
    else if (b >= 0xE0 && b <= 0xEF)
      need = 3;
    else if (b >= 0xF0 && b <= 0xF4)
      need = 4;
    if (need <= back) return 0;
    // The bytes present must be a valid prefix of a sequence.
    const utf8_decoded d = utf8_decode(text, n - back);
    return (!d.valid && d.length == back) ? back : 0;
  }
  return 0;
}

namespace detail {

/// Lookup tables built from the generated runs (immutable after construction).
struct unicode_tables {
  static constexpr std::uint32_t block_bits = 8;
  static constexpr std::uint32_t n_blocks = 0x110000 >> block_bits;
  // Entry bits: 0-4 category, 5 White_Space, 6 NFC-unsafe, 7 NFD-unsafe, 8 NFK-unsafe.
  std::vector<std::uint16_t> stage1;
  std::vector<std::uint16_t> stage2;
  std::unordered_map<std::uint64_t, char32_t> compositions;

  unicode_tables() {
    std::vector<std::uint16_t> flat(0x110000, 0);
    fill_runs(flat, ucd::category_runs, 5,
              [](std::uint32_t v) { return static_cast<std::uint16_t>(v & 31); });
    fill_runs(flat, ucd::normalization_unsafe_runs, 3,
              [](std::uint32_t v) { return static_cast<std::uint16_t>((v & 7) << 6); });
    for (const auto& r : ucd::white_space_ranges)
      for (std::uint32_t c = r.first; c <= r.second; ++c) flat[c] |= 1u << 5;
    stage1.resize(n_blocks);
    std::unordered_map<std::string, std::uint16_t> seen;
    for (std::uint32_t b = 0; b < n_blocks; ++b) {
      const std::uint16_t* p = flat.data() + (static_cast<std::size_t>(b) << block_bits);
      std::string key(reinterpret_cast<const char*>(p), sizeof(std::uint16_t) << block_bits);
      auto [it, inserted] = seen.emplace(std::move(key), static_cast<std::uint16_t>(seen.size()));
      if (inserted) stage2.insert(stage2.end(), p, p + (1u << block_bits));
      stage1[b] = it->second;
    }
    for (const ucd::decomposition_entry& e : ucd::decompositions) {
      const bool compat = ((e.key >> 21) & 1) != 0;
      const bool excluded = ((e.key >> 22) & 1) != 0;
      if (compat || excluded || (e.where & 31) != 2) continue;
      const std::uint32_t off = e.where >> 5;
      const std::uint64_t k =
          (static_cast<std::uint64_t>(ucd::decomposition_pool[off]) << 32) | ucd::decomposition_pool[off + 1];
      compositions.emplace(k, static_cast<char32_t>(e.key & 0x1FFFFF));
    }
  }

  template <std::size_t N, class F>
  static void fill_runs(std::vector<std::uint16_t>& flat, const std::uint32_t (&runs)[N], unsigned shift,
                        F value) {
    for (std::size_t i = 0; i < N; ++i) {
      const std::uint32_t start = runs[i] >> shift;
      const std::uint32_t end = i + 1 < N ? (runs[i + 1] >> shift) : 0x110000;
      const std::uint16_t v = value(runs[i]);
      for (std::uint32_t c = start; c < end; ++c) flat[c] |= v;
    }
  }

  [[nodiscard]] std::uint16_t entry(char32_t cp) const noexcept {
    if (cp >= 0x110000) return 0;
    return stage2[(static_cast<std::size_t>(stage1[cp >> block_bits]) << block_bits) | (cp & 0xFF)];
  }
};

inline const unicode_tables& unicode_tables_instance() {
  static const unicode_tables tables;
  return tables;
}

/// unicode_class bits of each category.
inline constexpr std::array<std::uint16_t, 30> category_class_bits = {
    unicode_class::unassigned,                                                      // Cn
    unicode_class::letter,      unicode_class::letter,      unicode_class::letter,  // Lu Ll Lt
    unicode_class::letter,      unicode_class::letter,                              // Lm Lo
    unicode_class::mark,        unicode_class::mark,        unicode_class::mark,    // Mn Mc Me
    unicode_class::number,      unicode_class::number,      unicode_class::number,  // Nd Nl No
    unicode_class::punctuation, unicode_class::punctuation, unicode_class::punctuation,
    unicode_class::punctuation, unicode_class::punctuation, unicode_class::punctuation,
    unicode_class::punctuation,  // Pc..Po
    unicode_class::symbol,      unicode_class::symbol,      unicode_class::symbol,
    unicode_class::symbol,                                                             // Sm Sc Sk So
    unicode_class::separator,   unicode_class::separator,   unicode_class::separator,  // Zs Zl Zp
    unicode_class::other,       unicode_class::other,       unicode_class::other,
    unicode_class::other,  // Cc Cf Cs Co
};

/// Class bits of the ASCII range, precomputed for the hot paths.
struct ascii_class_table {
  std::array<std::uint16_t, 128> bits{};
  constexpr ascii_class_table() {
    for (int c = 0; c < 128; ++c) {
      std::uint16_t b = 0;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        b = unicode_class::letter;
      else if (c >= '0' && c <= '9')
        b = unicode_class::number;
      else if (c < 0x20 || c == 0x7F)
        b = unicode_class::other;
      else if (c == ' ')
        b = unicode_class::separator;
      else if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' || c == '|' ||
               c == '~')
        b = unicode_class::symbol;
      else
        b = unicode_class::punctuation;
      if (c == ' ' || (c >= 0x09 && c <= 0x0D)) b |= unicode_class::white_space;
      bits[static_cast<std::size_t>(c)] = b;
    }
  }
};
inline constexpr ascii_class_table ascii_classes{};

}  // namespace detail

/// General category of a code point (Cn for unassigned and out-of-range values).
inline unicode_category unicode_category_of(char32_t cp) noexcept {
  return static_cast<unicode_category>(detail::unicode_tables_instance().entry(cp) & 31);
}

/// unicode_class bits of a code point (category group plus white_space).
inline std::uint16_t unicode_class_of(char32_t cp) noexcept {
  if (cp < 128) return detail::ascii_classes.bits[cp];
  const std::uint16_t e = detail::unicode_tables_instance().entry(cp);
  return static_cast<std::uint16_t>(detail::category_class_bits[e & 31] |
                                    ((e & (1u << 5)) != 0 ? unicode_class::white_space : 0));
}

/// White_Space property (what \s matches in Rust, Python and Oniguruma regexes).
inline bool unicode_is_white_space(char32_t cp) noexcept {
  return (unicode_class_of(cp) & unicode_class::white_space) != 0;
}

/// Simple (one-to-one) lowercase mapping from UnicodeData.txt.
inline char32_t unicode_to_lower_simple(char32_t cp) noexcept {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const auto& t = detail::ucd::simple_lowercase;
  const auto* it =
      std::lower_bound(std::begin(t), std::end(t), static_cast<std::uint32_t>(cp),
                       [](const detail::ucd::code_point_pair& p, std::uint32_t v) { return p.first < v; });
  if (it != std::end(t) && it->first == cp) return it->second;
  return cp;
}

/// Full lowercase of a string without context-dependent rules (what Rust's
/// char::to_lowercase does): the simple mappings plus U+0130 → "i\u0307".
inline std::string unicode_to_lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    if (!d.valid) {
      out.append(text.substr(pos, d.length));
    } else if (d.code_point == 0x130) {
      out += "i\xCC\x87";
    } else {
      utf8_append(out, unicode_to_lower_simple(d.code_point));
    }
    pos += d.length;
  }
  return out;
}

/// Canonical combining class.
inline std::uint8_t unicode_combining_class(char32_t cp) noexcept {
  if (cp < 0x300) return 0;
  const auto& runs = detail::ucd::combining_class_runs;
  const auto* it = std::upper_bound(std::begin(runs), std::end(runs), static_cast<std::uint32_t>(cp),
                                    [](std::uint32_t v, std::uint32_t run) { return v < (run >> 8); });
  return static_cast<std::uint8_t>(*(it - 1) & 0xFF);
}

namespace detail {

inline constexpr char32_t hangul_s_base = 0xAC00, hangul_l_base = 0x1100, hangul_v_base = 0x1161,
                          hangul_t_base = 0x11A7;
inline constexpr std::uint32_t hangul_l_count = 19, hangul_v_count = 21, hangul_t_count = 28,
                               hangul_n_count = hangul_v_count * hangul_t_count,
                               hangul_s_count = hangul_l_count * hangul_n_count;

/// The single-level decomposition of cp (compat ones only when `compat`), or an empty span.
inline std::pair<const std::uint32_t*, std::size_t> decomposition_of(char32_t cp, bool compat) noexcept {
  const auto& t = ucd::decompositions;
  const auto* it = std::lower_bound(
      std::begin(t), std::end(t), static_cast<std::uint32_t>(cp),
      [](const ucd::decomposition_entry& e, std::uint32_t v) { return (e.key & 0x1FFFFF) < v; });
  if (it == std::end(t) || (it->key & 0x1FFFFF) != cp) return {nullptr, 0};
  if (((it->key >> 21) & 1) != 0 && !compat) return {nullptr, 0};
  return {ucd::decomposition_pool + (it->where >> 5), it->where & 31};
}

/// Appends the full (recursive) decomposition of cp.
inline void decompose_into(char32_t cp, bool compat, std::u32string& out) {
  if (cp >= hangul_s_base && cp < hangul_s_base + hangul_s_count) {
    const std::uint32_t s = cp - hangul_s_base;
    out.push_back(hangul_l_base + s / hangul_n_count);
    out.push_back(hangul_v_base + (s % hangul_n_count) / hangul_t_count);
    if (s % hangul_t_count != 0) out.push_back(hangul_t_base + s % hangul_t_count);
    return;
  }
  const auto [seq, n] = decomposition_of(cp, compat);
  if (n == 0) {
    out.push_back(cp);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) decompose_into(seq[i], compat, out);
}

/// Canonical ordering: stable sort of each run of non-starters by combining class.
inline void canonical_order(std::u32string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (unicode_combining_class(s[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && unicode_combining_class(s[j]) != 0) ++j;
    std::stable_sort(
        s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(j),
        [](char32_t a, char32_t b) { return unicode_combining_class(a) < unicode_combining_class(b); });
    i = j;
  }
}

/// Primary composite of (a, b), or 0.
inline char32_t compose_pair(char32_t a, char32_t b) noexcept {
  if (a >= hangul_l_base && a < hangul_l_base + hangul_l_count && b >= hangul_v_base &&
      b < hangul_v_base + hangul_v_count)
    return hangul_s_base + ((a - hangul_l_base) * hangul_v_count + (b - hangul_v_base)) * hangul_t_count;
  if (a >= hangul_s_base && a < hangul_s_base + hangul_s_count && (a - hangul_s_base) % hangul_t_count == 0 &&
      b > hangul_t_base && b < hangul_t_base + hangul_t_count)
    return a + (b - hangul_t_base);
  const auto& m = unicode_tables_instance().compositions;
  const auto it = m.find((static_cast<std::uint64_t>(a) << 32) | b);
  return it == m.end() ? 0 : it->second;
}

/// Canonical composition of a decomposed, canonically ordered string (UAX #15).
inline void compose(std::u32string& s) {
  if (s.empty()) return;
  std::size_t starter = 0;
  int last_class = unicode_combining_class(s[0]) == 0 ? 0 : 256;
  std::size_t out = 1;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char32_t c = s[i];
    const int cls = unicode_combining_class(c);
    const char32_t composite = (last_class < cls || last_class == 0) ? compose_pair(s[starter], c) : 0;
    if (composite != 0 && (last_class < cls || last_class == 0)) {
      s[starter] = composite;
      continue;
    }
    if (cls == 0) starter = out;
    last_class = cls;
    s[out++] = c;
  }
  s.resize(out);
}

}  // namespace detail

/// Normalizes UTF-8 text (ill-formed input sequences are kept byte for byte). Only the
/// segments around code points that are not stable under the form are decomposed; the rest
/// is copied.
inline std::string unicode_normalize(std::string_view text, normalization_form form) {
  const bool compat = form == normalization_form::nfkc || form == normalization_form::nfkd;
  const bool composed = form == normalization_form::nfc || form == normalization_form::nfkc;
  const std::uint16_t unsafe_bit = form == normalization_form::nfc   ? (1u << 6)
                                   : form == normalization_form::nfd ? (1u << 7)
                                                                     : (1u << 8);
  const auto& tables = detail::unicode_tables_instance();
  constexpr std::size_t none = std::string_view::npos;
  std::string out;
  out.reserve(text.size());
  std::u32string seg;
  std::size_t done = 0;          // text[0, done) is in `out`
  std::size_t last_safe = none;  // start of the latest stable code point not yet copied
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      last_safe = pos++;
      continue;
    }
    const utf8_decoded d = utf8_decode(text, pos);
    if (!d.valid) {  // kept as is; a hard boundary
      pos += d.length;
      last_safe = none;
      out.append(text.substr(done, pos - done));
      done = pos;
      continue;
    }
    if ((tables.entry(d.code_point) & unsafe_bit) == 0) {
      last_safe = pos;
      pos += d.length;
      continue;
    }
    // A segment from the last stable code point through the run of unstable ones.
    const std::size_t start = (last_safe != none && last_safe >= done) ? last_safe : pos;
    out.append(text.substr(done, start - done));
    std::size_t end = pos + d.length;
    while (end < text.size()) {
      const utf8_decoded e = utf8_decode(text, end);
      if (!e.valid || (tables.entry(e.code_point) & unsafe_bit) == 0) break;
      end += e.length;
    }
    seg.clear();
    for (std::size_t p = start; p < end;) {
      const utf8_decoded e = utf8_decode(text, p);
      detail::decompose_into(e.code_point, compat, seg);
      p += e.length;
    }
    detail::canonical_order(seg);
    if (composed) detail::compose(seg);
    for (const char32_t c : seg) utf8_append(out, c);
    done = pos = end;
    last_safe = none;
  }
  out.append(text.substr(done));
  return out;
}

/// Strips characters of category Mn (after NFD, this removes accents: what HF's
/// StripAccents normalizer does on NFD input).
inline std::string unicode_strip_nonspacing_marks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    if (!d.valid || unicode_category_of(d.code_point) != unicode_category::Mn)
      out.append(text.substr(pos, d.length));
    pos += d.length;
  }
  return out;
}

/// Peer quirk (llama.cpp `unicode_cpts_normalize_nfd`, used by its WordPiece tokenizer):
/// every code point is replaced by the FIRST code point of its canonical decomposition
/// (so accents of precomposed letters vanish and Hangul syllables become their leading
/// consonant), and nothing else changes.
inline char32_t peer_quirk_nfd_first_code_point(char32_t cp) {
  if (cp < 0xC0) return cp;  // nothing below U+00C0 decomposes
  if (cp >= detail::hangul_s_base && cp < detail::hangul_s_base + detail::hangul_s_count)
    return detail::hangul_l_base + (cp - detail::hangul_s_base) / detail::hangul_n_count;
  for (;;) {
    const auto [seq, n] = detail::decomposition_of(cp, false);
    if (n == 0) return cp;
    cp = seq[0];
  }
}

}  // namespace mmllm
