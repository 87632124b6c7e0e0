// mmllm-tokenize: tokenize or detokenize text with a GGUF vocabulary or a tokenizer.json.
//
//   mmllm-tokenize -m model.gguf -p "Hello world"            id and piece per line
//   mmllm-tokenize -m model.gguf -f prompt.txt --ids         JSON array of ids
//   mmllm-tokenize --tokenizer-json DIR -p "<|im_start|>hi" --parse-special --ids
//   mmllm-tokenize -m model.gguf --detokenize -p "[1, 15043, 3186]"
//
// Options:
//   -m FILE                 GGUF model or vocabulary file (tokenizer.ggml.* metadata)
//   --tokenizer-json PATH   a directory with tokenizer.json (and tokenizer_config.json), or
//                           the tokenizer.json file itself
//   -p TEXT | -f FILE       the input (text, or ids with --detokenize)
//   --ids                   print the ids as a JSON array
//   --no-bos                do not add the model's special tokens (BOS/EOS/template)
//   --parse-special         recognize special-token text such as "<|im_start|>"
//   --detokenize            the input is ids ("[1, 2, 3]" or "1 2 3"); print the text
//   --skip-special          with --detokenize: leave out special tokens
//   --show-count            print the number of tokens
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <mmllm/tokenize/gguf_tokenizer.hpp>
#include <mmllm/tokenize/tokenizer_json.hpp>

namespace {

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s (-m MODEL.gguf | --tokenizer-json PATH) (-p TEXT | -f FILE) [--ids] [--no-bos]\n"
               "       [--parse-special] [--detokenize [--skip-special]] [--show-count]\n",
               argv0);
  return 2;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

/// The piece as printable text: control characters and invalid UTF-8 escaped.
std::string printable(std::string_view s) {
  std::string o;
  for (std::size_t pos = 0; pos < s.size();) {
    const mmllm::utf8_decoded d = mmllm::utf8_decode(s, pos);
    if (!d.valid || d.code_point < 0x20 || d.code_point == 0x7f) {
      for (std::size_t i = 0; i < d.length; ++i) {
        char buf[8];
        const auto c = static_cast<unsigned char>(s[pos + i]);
        if (c == '\n')
          std::snprintf(buf, sizeof buf, "\\n");
        else if (c == '\t')
          std::snprintf(buf, sizeof buf, "\\t");
        else if (c == '\r')
          std::snprintf(buf, sizeof buf, "\\r");
        else
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
        o += buf;
      }
    } else if (d.code_point == '\\' || d.code_point == '\'') {
      o += '\\';
      o += static_cast<char>(d.code_point);
    } else {
      o.append(s.substr(pos, d.length));
    }
    pos += d.length;
  }
  return o;
}

/// Ids from "[1, 2, 3]", "1 2 3" or "1,2,3".
bool parse_ids(std::string_view s, std::vector<mmllm::token_id>& ids) {
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '[' || c == ']' || c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c < '0' || c > '9') return false;
    long v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      if (v > 0x7fffffff) return false;
      ++i;
    }
    ids.push_back(static_cast<mmllm::token_id>(v));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, tokenizer_json, text, file;
  bool have_text = false, ids_only = false, no_bos = false, parse_special = false, detok = false,
       skip_special = false, show_count = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&](std::string& dst) {
      if (i + 1 >= argc) return false;
      dst = argv[++i];
      return true;
    };
    if (a == "-m") {
      if (!next(model)) return usage(argv[0]);
    } else if (a == "--tokenizer-json") {
      if (!next(tokenizer_json)) return usage(argv[0]);
    } else if (a == "-p") {
      if (!next(text)) return usage(argv[0]);
      have_text = true;
    } else if (a == "-f") {
      if (!next(file)) return usage(argv[0]);
    } else if (a == "--ids") {
      ids_only = true;
    } else if (a == "--no-bos") {
      no_bos = true;
    } else if (a == "--parse-special") {
      parse_special = true;
    } else if (a == "--detokenize") {
      detok = true;
    } else if (a == "--skip-special") {
      skip_special = true;
    } else if (a == "--show-count") {
      show_count = true;
    } else {
      std::fprintf(stderr, "unknown option '%s'\n", argv[i]);
      return usage(argv[0]);
    }
  }
  if (model.empty() == tokenizer_json.empty() || have_text == !file.empty()) return usage(argv[0]);
  if (!file.empty() && !read_file(file, text)) {
    std::fprintf(stderr, "error: cannot read '%s'\n", file.c_str());
    return 1;
  }

  mmllm::result<mmllm::tokenizer> tok = mmllm::make_error(mmllm::errc::internal, "no tokenizer");
  if (!model.empty()) {
    tok = mmllm::load_gguf_tokenizer(model);
  } else {
    std::string json, config;
    const bool is_file =
        tokenizer_json.size() >= 5 && tokenizer_json.compare(tokenizer_json.size() - 5, 5, ".json") == 0;
    const std::string dir = is_file ? tokenizer_json.substr(0, tokenizer_json.find_last_of('/') + 1)
                                    : (tokenizer_json.back() == '/' ? tokenizer_json : tokenizer_json + "/");
    const std::string json_path = is_file ? tokenizer_json : dir + "tokenizer.json";
    if (!read_file(json_path, json)) {
      std::fprintf(stderr, "error: cannot read '%s'\n", json_path.c_str());
      return 1;
    }
    (void)read_file(dir + "tokenizer_config.json", config);  // optional
    tok = mmllm::load_tokenizer_json(json, config);
  }
  if (!tok) {
    std::fprintf(stderr, "error: %s\n", tok.error().what().c_str());
    return 1;
  }

  if (detok) {
    std::vector<mmllm::token_id> ids;
    if (!parse_ids(text, ids)) {
      std::fprintf(stderr, "error: --detokenize expects token ids, e.g. \"[1, 2, 3]\"\n");
      return 1;
    }
    for (const mmllm::token_id id : ids) {
      if (id < 0 || static_cast<std::size_t>(id) >= tok->size()) {
        std::fprintf(stderr, "error: token id %d is outside the vocabulary (size %zu)\n", id, tok->size());
        return 1;
      }
    }
    mmllm::decode_options opt;
    opt.skip_special = skip_special;
    const std::string out = tok->decode(ids, opt);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }

  const std::vector<mmllm::token_id> ids =
      tok->encode(text, {.add_special = !no_bos, .parse_special = parse_special});
  if (ids_only) {
    std::string line = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line += ", ";
      line += std::to_string(ids[i]);
    }
    line += "]\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  } else {
    for (const mmllm::token_id id : ids)
      std::printf("%6d -> '%s'\n", id, printable(tok->token_to_piece(id)).c_str());
  }
  if (show_count) std::printf("Total number of tokens: %zu\n", ids.size());
  return 0;
}
