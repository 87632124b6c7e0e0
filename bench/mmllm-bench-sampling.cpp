// mmllm-bench-sampling: per-token cost of the sampling layer on real vocabularies (llama2,
// 32k; qwen3, 151k; from fixtures/tokenizers) with random logits (normal, sd 3; a fixed set
// of rows reused round-robin):
//  - the default chain (llama.cpp's defaults and order
//    penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature, then dist), as
//    ms/token and the ratio to the 1 ms/token target;
//  - every sampler of that chain active (repeat/frequency/presence penalties, DRY, top-n-sigma,
//    typical, XTC, dynamic temperature) — a heavier configuration for reference;
//  - constrained decoding: the same default chain with a JSON schema (check-then-resample as
//    llama.cpp's common sampler, and grammar_first masking), reported as overhead per token
//    (ms/token with the grammar minus without). A document that ends (end of generation
//    allowed by the grammar) restarts the grammar.
// Each measurement is sample + accept for --tokens tokens (best of --runs runs), as wall time
// and as the thread's CPU time (meaningful on a shared machine); the ratio to the 1 ms target
// uses the CPU time.
//
//   mmllm-bench-sampling [--tokens N] [--runs N] [--only llama2|qwen3]
// g++ 12 at -O3 reports a false -Wrestrict inside tokenize/hf_pipeline.hpp's inlined string
// copies (unreachable sizes), as in examples/mmllm-run.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <mmllm/sampling/grammar_vocabulary.hpp>
#include <mmllm/sampling/sequence_sampler.hpp>
#include <mmllm/tokenize/tokenizer_json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#ifndef MMLLM_FIXTURES_DIR
#define MMLLM_FIXTURES_DIR "../shared/fixtures"
#endif

namespace {

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

const char* const bench_schema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 40},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "email": {"type": "string", "pattern": "^[a-z0-9.]{1,20}@[a-z]{1,12}\\.(com|org|net)$"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
    "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string",
                "pattern": "^[0-9]{5}$"}}, "required": ["city"]},
    "score": {"type": "number"},
    "active": {"type": "boolean"}
  },
  "required": ["name", "age", "active"]
})";

/// CPU time of the calling thread (the machine may be shared: wall time includes waiting).
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

struct measurement {
  double ms_per_token = 0.0;      // wall
  double cpu_ms_per_token = 0.0;  // thread CPU time
  std::size_t documents = 0;      // grammar runs: documents completed
  bool ok = true;
};

measurement run(const mmllm::sampling_params& p, const mmllm::sampler_context& ctx,
                const std::vector<std::vector<float>>& rows, int tokens, int runs) {
  measurement best;
  best.ms_per_token = 1e30;
  best.cpu_ms_per_token = 1e30;
  for (int r = 0; r < runs; ++r) {
    auto s = mmllm::sequence_sampler::create(p, ctx);
    if (!s) {
      std::fprintf(stderr, "sampler: %s\n", s.error().what().c_str());
      best.ok = false;
      return best;
    }
    std::size_t docs = 0;
    const double c0 = thread_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < tokens; ++i) {
      const std::vector<float>& row = rows[static_cast<std::size_t>(i) % rows.size()];
      auto t = s->sample(row);
      if (!t) {
        std::fprintf(stderr, "sample: %s\n", t.error().what().c_str());
        best.ok = false;
        return best;
      }
      if (s->has_grammar() && ctx.vocab->is_eog(t->id)) {  // a complete document: start again
        s->reset();
        ++docs;
        continue;
      }
      if (auto a = s->accept(t->id); !a) {
        std::fprintf(stderr, "accept: %s\n", a.error().what().c_str());
        best.ok = false;
        return best;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double cpu = (thread_cpu_ms() - c0) / tokens;
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / tokens;
    best.cpu_ms_per_token = std::min(best.cpu_ms_per_token, cpu);
    if (ms < best.ms_per_token) {
      best.ms_per_token = ms;
      best.documents = docs;
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int tokens = 2000, runs = 3;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tokens" && i + 1 < argc) {
      tokens = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--tokens N] [--runs N] [--only llama2|qwen3]\n", argv[0]);
      return 2;
    }
  }
  const std::filesystem::path fx(MMLLM_FIXTURES_DIR);
  int status = 0;
  std::printf("%-8s %7s  %-36s %9s %9s %8s  %s\n", "vocab", "tokens", "configuration", "ms/token", "cpu ms",
              "cpu/1ms", "notes");
  for (const char* name : {"llama2", "qwen3"}) {
    if (!only.empty() && only != name) continue;
    const auto dir = fx / "tokenizers" / name;
    auto tok = mmllm::load_tokenizer_json(gunzip_with_system(dir / "tokenizer.json.gz"),
                                          gunzip_with_system(dir / "tokenizer_config.json.gz"));
    if (!tok) {
      std::printf("%-8s load failed: %s\n", name, tok.error().what().c_str());
      status = 1;
      continue;
    }
    const std::size_t n_vocab = tok->size();
    std::mt19937 g(42);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::vector<std::vector<float>> rows(16, std::vector<float>(n_vocab));
    for (auto& row : rows)
      for (float& x : row) x = nd(g);

    const auto t_gv = std::chrono::steady_clock::now();
    auto gv = mmllm::grammar_vocabulary::build(*tok);
    const double gv_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_gv).count();
    mmllm::sampler_context ctx{.vocab = &*tok, .n_ctx = 4096, .grammar_vocab = gv};

    mmllm::sampling_params def;
    def.seed = 1;
    mmllm::sampling_params all = def;
    all.repeat_penalty = 1.1f;
    all.frequency_penalty = 0.1f;
    all.presence_penalty = 0.1f;
    all.dry_multiplier = 0.8f;
    all.top_n_sigma = 2.0f;
    all.typical_p = 0.9f;
    all.xtc_probability = 0.5f;
    all.dynatemp_range = 0.5f;
    mmllm::sampling_params json = def;
    json.json_schema = bench_schema;
    mmllm::sampling_params json_first = json;
    json_first.grammar_first = true;

    // DRY's breaker table decodes the vocabulary: an engine builds it once (not timed)
    ctx.dry_breakers = mmllm::make_dry_breakers(*tok, all.dry_sequence_breakers);
    const measurement m_def = run(def, ctx, rows, tokens, runs);
    const measurement m_all = run(all, ctx, rows, tokens, runs);
    const measurement m_json = run(json, ctx, rows, tokens, runs);
    const measurement m_first = run(json_first, ctx, rows, tokens, runs);
    if (!m_def.ok || !m_all.ok || !m_json.ok || !m_first.ok) status = 1;
    auto line = [&](const char* what, const measurement& m, const std::string& note) {
      std::printf("%-8s %7zu  %-36s %9.4f %9.4f %8.3f  %s\n", name, n_vocab, what, m.ms_per_token,
                  m.cpu_ms_per_token, m.cpu_ms_per_token / 1.0, note.c_str());
    };
    line("default chain", m_def, "llama.cpp defaults");
    line("every sampler of the chain active", m_all, "penalties, dry, top_n_sigma, typ_p, xtc, dynatemp");
    char note[200];
    std::snprintf(note, sizeof note,
                  "overhead %+.4f ms/token (cpu %+.4f); %zu documents; grammar vocabulary built in %.0f ms",
                  m_json.ms_per_token - m_def.ms_per_token, m_json.cpu_ms_per_token - m_def.cpu_ms_per_token,
                  m_json.documents, gv_ms);
    line("default chain + JSON schema", m_json, note);
    std::snprintf(note, sizeof note, "overhead %+.4f ms/token (cpu %+.4f); %zu documents",
                  m_first.ms_per_token - m_def.ms_per_token,
                  m_first.cpu_ms_per_token - m_def.cpu_ms_per_token, m_first.documents);
    line("default chain + JSON schema (grammar_first)", m_first, note);
  }
  return status;
}
