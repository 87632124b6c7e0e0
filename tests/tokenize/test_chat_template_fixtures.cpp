// Every chat template of the fixtures (templates/*.jinja and the chat_template of the
// llama3 / qwen3 / gemma3 tokenizer_config.json.gz) rendered for every recorded conversation,
// with add_generation_prompt true and false, compared byte for byte with the renderings
// transformers produced (templates/expected/). Cases recorded as errors must fail with a
// message that contains the recorded Python exception ("TypeError: ...").
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "fixtures.hpp"

#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/chat_template_json.hpp>
#include <mmllm/tokenize/jinja_json.hpp>

namespace {

using json = nlohmann::ordered_json;

// --- a small gzip reader for tokenizer_config.json.gz (RFC 1951 / 1952) ---------------------------
struct bits {
  const std::vector<std::uint8_t>& d;
  std::size_t pos;
  std::uint32_t buf = 0;
  int cnt = 0;
  std::uint32_t get(int n) {
    while (cnt < n) {
      if (pos >= d.size()) throw std::runtime_error("gzip: truncated");
      buf |= static_cast<std::uint32_t>(d[pos++]) << cnt;
      cnt += 8;
    }
    const std::uint32_t v = buf & ((1u << n) - 1u);
    buf >>= n;
    cnt -= n;
    return v;
  }
};

struct huffman {
  std::vector<int> count = std::vector<int>(16, 0), symbol;
  explicit huffman(const std::vector<int>& lengths) {
    for (int l : lengths) ++count[static_cast<std::size_t>(l)];
    count[0] = 0;
    std::vector<int> offs(16, 0);
    for (std::size_t i = 1; i < 16; ++i) offs[i] = offs[i - 1] + count[i - 1];
    symbol.resize(lengths.size());
    for (std::size_t s = 0; s < lengths.size(); ++s)
      if (lengths[s] != 0)
        symbol[static_cast<std::size_t>(offs[static_cast<std::size_t>(lengths[s])]++)] = static_cast<int>(s);
  }
  int decode(bits& b) const {
    int code = 0, first = 0, index = 0;
    for (std::size_t len = 1; len < 16; ++len) {
      code |= static_cast<int>(b.get(1));
      const int c = count[len];
      if (code - c < first) return symbol[static_cast<std::size_t>(index + (code - first))];
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    throw std::runtime_error("gzip: bad code");
  }
};

std::string gunzip(const std::vector<std::uint8_t>& gz) {
  static const int lbase[] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                              31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
  static const int lext[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                             2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
  static const int dbase[] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                              33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                              1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
  static const int dext[] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                             6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
  if (gz.size() < 18 || gz[0] != 0x1f || gz[1] != 0x8b || gz[2] != 8)
    throw std::runtime_error("gzip: bad header");
  const std::uint8_t flg = gz[3];
  std::size_t p = 10;
  if ((flg & 4) != 0) p += 2 + static_cast<std::size_t>(gz[p] | (gz[p + 1] << 8));
  if ((flg & 8) != 0)
    while (gz[p++] != 0) {
    }
  if ((flg & 16) != 0)
    while (gz[p++] != 0) {
    }
  if ((flg & 2) != 0) p += 2;
  bits b{gz, p};
  std::string out;
  bool last = false;
  while (!last) {
    last = b.get(1) != 0;
    const std::uint32_t type = b.get(2);
    if (type == 0) {
      b.buf = 0;
      b.cnt = 0;
      const std::size_t len = static_cast<std::size_t>(gz[b.pos] | (gz[b.pos + 1] << 8));
      b.pos += 4;
      out.append(reinterpret_cast<const char*>(gz.data() + b.pos), len);
      b.pos += len;
      continue;
    }
    std::vector<int> ll(288), dl(30);
    if (type == 1) {
      for (std::size_t i = 0; i < 288; ++i) ll[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
      for (auto& x : dl) x = 5;
    } else {
      const auto hlit = static_cast<std::size_t>(b.get(5)) + 257,
                 hdist = static_cast<std::size_t>(b.get(5)) + 1,
                 hclen = static_cast<std::size_t>(b.get(4)) + 4;
      static const int order[] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
      std::vector<int> cl(19, 0);
      for (std::size_t i = 0; i < hclen; ++i)
        cl[static_cast<std::size_t>(order[i])] = static_cast<int>(b.get(3));
      const huffman ch(cl);
      std::vector<int> lens;
      while (lens.size() < hlit + hdist) {
        const int sym = ch.decode(b);
        if (sym < 16) {
          lens.push_back(sym);
        } else {
          int rep = 0, val = 0;
          if (sym == 16) {
            val = lens.back();
            rep = 3 + static_cast<int>(b.get(2));
          } else if (sym == 17) {
            rep = 3 + static_cast<int>(b.get(3));
          } else {
            rep = 11 + static_cast<int>(b.get(7));
          }
          for (int k = 0; k < rep; ++k) lens.push_back(val);
        }
      }
      ll.assign(lens.begin(), lens.begin() + static_cast<std::ptrdiff_t>(hlit));
      dl.assign(lens.begin() + static_cast<std::ptrdiff_t>(hlit), lens.end());
    }
    const huffman lit(ll), dist(dl);
    while (true) {
      const int sym = lit.decode(b);
      if (sym < 256) {
        out += static_cast<char>(sym);
      } else if (sym == 256) {
        break;
      } else {
        const auto li = static_cast<std::size_t>(sym - 257);
        const std::size_t len = static_cast<std::size_t>(lbase[li]) + b.get(lext[li]);
        const auto di = static_cast<std::size_t>(dist.decode(b));
        const std::size_t d = static_cast<std::size_t>(dbase[di]) + b.get(dext[di]);
        if (d > out.size()) throw std::runtime_error("gzip: bad distance");
        for (std::size_t k = 0; k < len; ++k) out += out[out.size() - d];
      }
    }
  }
  return out;
}

// --- fixture access --------------------------------------------------------------------------------
const json& index_json() {
  static const json j =
      json::parse(mmllm::test::read_text(mmllm::test::fixture_path("templates/expected/index.json")));
  return j;
}
const json& conversations() {
  static const json j =
      json::parse(mmllm::test::read_text(mmllm::test::fixture_path("templates/expected/conversations.json")));
  return j;
}

/// Template source for an index.json entry: the .jinja file, or the tokenizer config's template.
std::string template_source(const std::string& name, const json& entry) {
  const std::string src = entry["source"].get<std::string>();
  if (src.rfind("templates/", 0) == 0) return mmllm::test::read_text(mmllm::test::fixture_path(src));
  const auto cfg = json::parse(gunzip(mmllm::test::read_bytes(
      mmllm::test::fixture_path("tokenizers/" + name + "/tokenizer_config.json.gz"))));
  auto s = mmllm::chat_template_from_tokenizer_config(cfg);
  if (!s) throw std::runtime_error(s.error().what());
  return s->source;
}

struct tally {
  int passed = 0, total = 0;
};

}  // namespace

TEST_CASE("every fixture chat template renders every conversation like transformers", "[chat_template]") {
  std::map<std::string, tally> per_template;
  int expected_files = 0, expected_errors = 0;
  for (const auto& [name, entry] : index_json()["templates"].items()) {
    if (entry["results"].empty()) continue;  // llama2: its tokenizer config has no template
    INFO("template " << name);
    const std::string source = template_source(name, entry);
    auto tmpl = mmllm::chat_template::parse(source, name);
    REQUIRE(tmpl.has_value());
    mmllm::chat_template_options base;
    base.content_parts = mmllm::content_parts_mode::as_is;  // transformers passes messages unchanged
    base.now = mmllm::jinja::date_time{2025, 11, 25, 12, 0, 0};
    for (const auto& [key, tok] : entry["special_tokens"].items()) {
      const auto v = tok.get<std::string>();
      if (key == "bos_token") base.bos_token = v;
      if (key == "eos_token") base.eos_token = v;
      if (key == "unk_token") base.unk_token = v;
      if (key == "pad_token") base.pad_token = v;
    }
    for (const auto& [case_name, expected] : entry["results"].items()) {
      INFO("case " << case_name);
      const auto dot = case_name.rfind('.');
      const std::string conv = case_name.substr(0, dot);
      const json& c = conversations().at(conv);
      mmllm::chat_template_options opt = base;
      opt.add_generation_prompt = case_name.substr(dot + 1) == "gen";
      const json tools = c.contains("tools") ? c["tools"] : json();
      auto out = mmllm::apply_chat_template(*tmpl, c["messages"], opt, tools);
      auto& t = per_template[name];
      ++t.total;
      if (expected.contains("file")) {
        ++expected_files;
        const std::string want = mmllm::test::read_text(
            mmllm::test::fixture_path("templates/expected/" + expected["file"].get<std::string>()));
        if (!out) FAIL_CHECK(out.error().what());
        CHECK(out.value_or("<error>") == want);
        if (out && *out == want) ++t.passed;
      } else {
        ++expected_errors;
        const std::string want = expected["error"].get<std::string>();
        REQUIRE_FALSE(out.has_value());
        INFO("message: " << out.error().message);
        // "<template>:<line>:<column>: <Python exception text>"
        CHECK(out.error().message.rfind(name + ":", 0) == 0);
        CHECK(out.error().message.find(want) != std::string::npos);
        if (out.error().message.find(want) != std::string::npos) ++t.passed;
      }
    }
  }
  for (const auto& [name, t] : per_template) {
    INFO(name << ": " << t.passed << "/" << t.total);
    CHECK(t.passed == t.total);
  }
  CHECK(per_template.size() == 20);
  CHECK(expected_files == 286);
  CHECK(expected_errors == 114);
}

TEST_CASE("tokenizer_config.json chat templates and special tokens", "[chat_template]") {
  for (const char* name : {"llama3", "qwen3", "gemma3"}) {
    INFO(name);
    const auto cfg = json::parse(gunzip(mmllm::test::read_bytes(
        mmllm::test::fixture_path(std::string("tokenizers/") + name + "/tokenizer_config.json.gz"))));
    auto src = mmllm::chat_template_from_tokenizer_config(cfg);
    REQUIRE(src.has_value());
    CHECK(src->name == "default");
    CHECK(src->source == mmllm::test::read_text(mmllm::test::fixture_path(std::string("templates/expected/") +
                                                                          name + "/template.jinja")));
    const json& tokens = index_json()["templates"][name]["special_tokens"];
    CHECK(src->bos_token.has_value() == tokens.contains("bos_token"));
    if (tokens.contains("bos_token")) CHECK(*src->bos_token == tokens["bos_token"].get<std::string>());
    CHECK(src->eos_token.value_or("") == tokens["eos_token"].get<std::string>());
    auto named = mmllm::chat_template_from_tokenizer_config(cfg, "tool_use");
    REQUIRE_FALSE(named.has_value());
    CHECK(named.error().code == mmllm::errc::not_found);
  }
  const auto cfg = json::parse(gunzip(
      mmllm::test::read_bytes(mmllm::test::fixture_path("tokenizers/llama2/tokenizer_config.json.gz"))));
  auto none = mmllm::chat_template_from_tokenizer_config(cfg);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == mmllm::errc::not_found);
}
