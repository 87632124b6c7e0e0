// mmllm-bench-tokenize: tokenization throughput (MB/s) for several vocabularies.
//
// Builds ~1 MB of mixed text deterministically from the shared fixtures (English prose and
// code from fixtures/README.md, the Jinja chat templates, and the multilingual test strings:
// CJK, Cyrillic, Arabic, emoji, digits, white-space runs), then times encode() on it for each
// vocabulary (best of N runs, loading excluded).
//
//   mmllm-bench-tokenize [--runs N] [--size BYTES] [--write-text FILE] [--only NAME]
//
// --write-text saves the text so the peer can be timed on exactly the same input:
//   llama-tokenize -m ggml-vocab-gpt-2.gguf -f FILE --ids --log-disable
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <mmllm/tokenize/gguf_tokenizer.hpp>
#include <mmllm/tokenize/tokenizer_json.hpp>

#ifndef MMLLM_FIXTURES_DIR
#define MMLLM_FIXTURES_DIR "../shared/fixtures"
#endif

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// Deterministic mixed text of about `size` bytes.
std::string mixed_text(std::size_t size) {
  const std::filesystem::path fx(MMLLM_FIXTURES_DIR);
  std::vector<std::string> parts;
  parts.push_back(read_file(fx / "README.md"));
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fx / "templates", ec))
    if (e.path().extension() == ".jinja") parts.push_back(read_file(e.path()));
  std::sort(parts.begin() + 1, parts.end());
  const std::string inp = read_file(fx / "vocab" / "ggml-vocab-llama-spm.gguf.inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::string cases;
  for (std::size_t pos = 0; pos < inp.size();) {
    const std::size_t next = inp.find(sep, pos);
    cases.append(inp, pos, next == std::string::npos ? std::string::npos : next - pos);
    cases += '\n';
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  parts.push_back(cases);
  parts.push_back(read_file(fx / "tokenizers" / "corpus_extra.json"));
  std::string text;
  for (std::size_t round = 0; text.size() < size; ++round)
    for (const std::string& s : parts) {
      text += s;
      text += "\n\n";
      if (round % 3 == 2)
        text += "Round " + std::to_string(round) + ": 3.14159 × 2 = 6.28318; ¿Qué tal? Привет! 你好世界 🚀\n";
    }
  // cut on a UTF-8 boundary
  std::size_t cut = std::min(size, text.size());
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

std::string gunzip_with_system(const std::filesystem::path& gz) {
  // The bench has no zlib dependency: use the gzip program for the fixture files.
  const std::string cmd = "gzip -dc '" + gz.string() + "'";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[1 << 16];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::size_t size = 1 << 20;
  std::string write_text, only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--size" && i + 1 < argc)
      size = static_cast<std::size_t>(std::atoll(argv[++i]));
    else if (a == "--write-text" && i + 1 < argc)
      write_text = argv[++i];
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--runs N] [--size BYTES] [--write-text FILE] [--only NAME]\n",
                   argv[0]);
      return 2;
    }
  }
  const std::string text = mixed_text(size);
  if (!write_text.empty()) {
    std::ofstream(write_text, std::ios::binary) << text;
    std::printf("wrote %zu bytes to %s\n", text.size(), write_text.c_str());
  }
  const std::filesystem::path fx(MMLLM_FIXTURES_DIR);
  struct entry {
    std::string name;
    bool gguf;
  };
  const entry entries[] = {
      {"llama-spm", true},    {"phi-3", true},          {"baichuan", true}, {"gpt-2", true},
      {"deepseek-llm", true}, {"deepseek-coder", true}, {"falcon", true},   {"mpt", true},
      {"starcoder", true},    {"refact", true},         {"gpt-neox", true}, {"bert-bge", true},
      {"llama3", false},      {"qwen3", false},         {"gemma3", false},  {"llama2", false}};
  std::printf("%-14s %-15s %10s %10s %9s\n", "vocabulary", "format", "tokens", "ms", "MB/s");
  for (const entry& e : entries) {
    if (!only.empty() && e.name != only) continue;
    mmllm::result<mmllm::tokenizer> tok = mmllm::make_error(mmllm::errc::internal, "not loaded");
    if (e.gguf) {
      tok = mmllm::load_gguf_tokenizer((fx / "vocab" / ("ggml-vocab-" + e.name + ".gguf")).string());
    } else {
      const auto dir = fx / "tokenizers" / e.name;
      tok = mmllm::load_tokenizer_json(gunzip_with_system(dir / "tokenizer.json.gz"),
                                       gunzip_with_system(dir / "tokenizer_config.json.gz"));
    }
    if (!tok) {
      std::printf("%-14s load failed: %s\n", e.name.c_str(), tok.error().what().c_str());
      continue;
    }
    double best = 1e30;
    std::size_t n_tokens = 0;
    for (int r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<mmllm::token_id> ids =
          tok->encode(text, {.add_special = false, .parse_special = false});
      const auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
      n_tokens = ids.size();
    }
    std::printf("%-14s %-15s %10zu %10.1f %9.2f\n", e.name.c_str(), e.gguf ? "gguf (peer)" : "tokenizer.json",
                n_tokens, best * 1e3, static_cast<double>(text.size()) / 1e6 / best);
  }
  return 0;
}
