// mmllm-bench — language-model throughput in llama-bench's terms: prompt processing (ppN: one
// batch of N tokens into an empty cache, logits for the last one) and generation (tgN: N
// single-token steps from an empty cache), in tokens per second, for a GGUF model.
//
//   mmllm-bench -m /tmp/tinyllama-q4_0.gguf -t 2            # pp512 and tg128, 5 repetitions
//   mmllm-bench -m model.gguf -t 1,2 -p 128,512 -n 64 -r 3
//   mmllm-make-model --params 1B --type q4_0 -o /tmp/tinyllama-q4_0.gguf   # a model to measure
//
// The table has llama-bench's columns (model, size, params, backend, threads, test, t/s as
// mean ± standard deviation over the repetitions, after one warm-up run). Below it, per
// test, the best and the median repetition (on a shared machine the best is the closest to
// an undisturbed run), and for every tgN the bandwidth limit on generation:
//  - read bandwidth: a streaming sum, on the same threads, over a 1 GiB buffer (far larger
//    than the last-level cache), measured right after every tg repetition so that both see
//    the same load on the machine (best pass of each sample);
//  - bytes per token: every weight a generated token reads (the token-embedding table only
//    when it is also the output matrix: otherwise one row of it) plus the average KV cache
//    read over the N steps;
//  - limit = bandwidth / bytes per token; the ratio measured t/s / limit is given for the
//    best repetition against the best bandwidth sample, and as the median of the
//    per-repetition ratios (each repetition against the bandwidth measured after it).
// The load average of the machine (/proc/loadavg) is printed before and after the run.
#include <mmllm/compute/isa.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/models/batch.hpp>
#include <mmllm/models/decoder.hpp>
#include <mmllm/models/kv_cache.hpp>
#include <mmllm/models/text_model.hpp>

#include "read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::size_t p = 0;
  while (p < s.size()) {
    const std::size_t e = std::min(s.find(',', p), s.size());
    v.push_back(std::atoi(s.substr(p, e - p).c_str()));
    p = e + 1;
  }
  return v;
}

struct stats {
  double mean = 0, sd = 0, best = 0, median = 0;
};
stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty()) return s;
  for (const double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (const double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0.0;
  std::sort(v.begin(), v.end());
  s.best = v.back();
  const std::size_t h = v.size() / 2;
  s.median = v.size() % 2 != 0 ? v[h] : (v[h - 1] + v[h]) / 2.0;
  return s;
}

/// The first three fields of /proc/loadavg ("?" where it cannot be read).
std::string load_average() {
  std::string s = "?";
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f) != nullptr) {
      s = buf;
      std::size_t cut = 0;
      for (int field = 0; field < 3 && cut != std::string::npos; ++field) cut = s.find(' ', cut + 1);
      s = s.substr(0, std::min(cut, s.size()));
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    }
    std::fclose(f);
  }
  return s;
}

int fail(const std::string& m) {
  std::fprintf(stderr, "mmllm-bench: %s\n", m.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  std::vector<int> threads{static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  std::vector<int> n_prompt{512}, n_gen{128};
  int reps = 5;
  bool bandwidth = true;
  mmllm::models::kv_type type_k = mmllm::models::kv_type::f16, type_v = mmllm::models::kv_type::f16;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mmllm-bench: missing value for %s\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "-m" || a == "--model") {
      model_path = next();
    } else if (a == "-t" || a == "--threads") {
      threads = parse_list(next());
    } else if (a == "-p" || a == "--n-prompt") {
      n_prompt = parse_list(next());
    } else if (a == "-n" || a == "--n-gen") {
      n_gen = parse_list(next());
    } else if (a == "-r" || a == "--repetitions") {
      reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "-ctk" || a == "--cache-type-k" || a == "-ctv" || a == "--cache-type-v") {
      const auto t = mmllm::models::kv_type_from_name(next());
      if (!t) return fail("cache type must be f32, f16 or q8_0");
      (a == "-ctk" || a == "--cache-type-k" ? type_k : type_v) = *t;
    } else if (a == "--no-bandwidth") {
      bandwidth = false;
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: %s -m model.gguf [-t 1,2] [-p 512] [-n 128] [-r 5] [-ctk f16] [-ctv f16] [--no-bandwidth]\n"
          "  -p/-n 0 skips that test. KV cache f16 by default (llama-bench's default).\n",
          argv[0]);
      return 0;
    } else {
      return fail("unknown argument '" + a + "' (see -h)");
    }
  }
  if (model_path.empty()) return fail("no model (-m FILE); mmllm-make-model writes synthetic ones");
  auto model = mmllm::models::text_model::open(model_path);
  if (!model) return fail(model_path + ": " + model.error().what());
  const auto& d = model->desc();

  // model description as llama-bench prints it ("llama 1.1B Q4_0"), size, params
  std::string type_name(mmllm::name_of(model->layers()[0].ffn_down.type));
  for (char& c : type_name)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  char model_name[96];
  const double n_params = static_cast<double>(model->n_params());
  if (n_params >= 1e9)
    std::snprintf(model_name, sizeof model_name, "%s %.1fB %s", d.arch.c_str(), n_params / 1e9,
                  type_name.c_str());
  else
    std::snprintf(model_name, sizeof model_name, "%s %.0fM %s", d.arch.c_str(), n_params / 1e6,
                  type_name.c_str());
  const double size_mib = static_cast<double>(model->weight_bytes()) / (1 << 20);
  const double params_b = static_cast<double>(model->n_params()) / 1e9;
  // bytes one generated token reads from the weights: all of them but the token-embedding
  // table, of which one row (unless it is also the output matrix)
  const auto& te = model->token_embd();
  const std::uint64_t te_bytes = static_cast<std::uint64_t>(te.row_stride) * te.rows;
  const std::uint64_t weight_bytes_per_token =
      model->weight_bytes() - (model->tied_output() ? 0 : te_bytes - te.row_stride);

  std::printf("load average before: %s\n\n", load_average().c_str());
  std::printf("| %-22s | %11s | %7s | %-12s | %7s | %8s | %18s |\n", "model", "size", "params", "backend",
              "threads", "test", "t/s");
  std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", std::string(22, '-').c_str(),
              std::string(11, '-').c_str(), std::string(7, '-').c_str(), std::string(12, '-').c_str(),
              std::string(7, '-').c_str(), std::string(8, '-').c_str(), std::string(18, '-').c_str());

  struct test_result {
    int threads = 0;
    std::string test;
    stats tps;
    int n = 0;                   // tg: tokens generated
    stats bw;                    // tg: bandwidth samples (GB/s)
    std::vector<double> ratios;  // tg: per-repetition t/s / limit
  };
  std::vector<test_result> results;
  std::uint32_t max_ctx = 16;
  for (const int p : n_prompt) max_ctx = std::max<std::uint32_t>(max_ctx, static_cast<std::uint32_t>(p));
  for (const int n : n_gen) max_ctx = std::max<std::uint32_t>(max_ctx, static_cast<std::uint32_t>(n));
  // average KV cache bytes read per generated token over n steps (cells 1 … n)
  std::uint64_t kv_row = 0;
  for (const auto& l : d.layers) {
    kv_row += *mmllm::row_bytes(mmllm::models::to_dtype(type_k), std::uint64_t{l.n_head_kv} * d.head_dim_k);
    kv_row += *mmllm::row_bytes(mmllm::models::to_dtype(type_v), std::uint64_t{l.n_head_kv} * d.head_dim_v);
  }
  auto bytes_per_token = [&](int n) {
    return static_cast<double>(weight_bytes_per_token) + static_cast<double>(kv_row) * (n + 1) / 2.0;
  };
  auto print_row = [&](const char* backend, int nt, const std::string& test, const stats& st) {
    char ts[48];
    std::snprintf(ts, sizeof ts, "%.2f ± %.2f", st.mean, st.sd);
    std::printf("| %-22s | %7.2f MiB | %5.2f B | %-12s | %7d | %8s | %18s |\n", model_name, size_mib,
                params_b, backend, nt, test.c_str(), ts);
    std::fflush(stdout);
  };

  for (const int nt : threads) {
    mmllm::compute::thread_pool pool(static_cast<unsigned>(std::max(1, nt)));
    mmllm::models::decoder<mmllm::compute::simd> dec(*model, mmllm::compute::simd(pool));
    std::unique_ptr<mmllm::bench::bandwidth_probe> probe;
    if (bandwidth && !n_gen.empty())
      probe = std::make_unique<mmllm::bench::bandwidth_probe>(pool, std::size_t{1} << 30);
    char backend[32];
    std::snprintf(backend, sizeof backend, "CPU %s",
                  std::string(mmllm::compute::to_string(dec.policy().level())).c_str());
    mmllm::models::kv_cache_options ko;
    ko.n_ctx = max_ctx;
    ko.type_k = type_k;
    ko.type_v = type_v;
    auto kv = mmllm::models::kv_cache::create(d, ko);
    if (!kv) return fail(kv.error().what());
    std::uint64_t rng = 12345;
    auto random_token = [&] {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<mmllm::token_id>((rng >> 33) % d.n_vocab);
    };
    mmllm::models::batch b;

    for (const int p : n_prompt) {
      if (p <= 0) continue;
      std::vector<double> tps;
      for (int r = 0; r <= reps; ++r) {  // r = 0: warm-up
        kv->clear();
        b.clear();
        for (int i = 0; i < p; ++i) b.add_token(random_token(), 0, i, i + 1 == p);
        const auto t0 = clock_type::now();
        auto out = dec.forward(b, *kv);
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (!out) return fail(out.error().what());
        if (r > 0) tps.push_back(p / s);
      }
      test_result tr;
      tr.threads = nt;
      tr.test = "pp" + std::to_string(p);
      tr.tps = summarize(tps);
      print_row(backend, nt, tr.test, tr.tps);
      results.push_back(std::move(tr));
    }
    for (const int n : n_gen) {
      if (n <= 0) continue;
      std::vector<double> tps, bws;
      test_result tr;
      for (int r = 0; r <= reps; ++r) {
        kv->clear();
        const auto t0 = clock_type::now();
        for (int i = 0; i < n; ++i) {
          b.clear();
          b.add_token(random_token(), 0, i, true);
          auto out = dec.forward(b, *kv);
          if (!out) return fail(out.error().what());
        }
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (r == 0) continue;
        tps.push_back(n / s);
        if (probe) {
          const double bw = probe->measure(3);
          bws.push_back(bw);
          tr.ratios.push_back(tps.back() / (bw * 1e9 / bytes_per_token(n)));
        }
      }
      tr.threads = nt;
      tr.test = "tg" + std::to_string(n);
      tr.n = n;
      tr.tps = summarize(tps);
      tr.bw = summarize(bws);
      print_row(backend, nt, tr.test, tr.tps);
      results.push_back(std::move(tr));
    }
  }

  std::printf("\nload average after: %s\n\n", load_average().c_str());
  for (const auto& r : results) {
    std::printf("%s, %d threads: best %.2f t/s, median %.2f t/s (%d repetitions)\n", r.test.c_str(),
                r.threads, r.tps.best, r.tps.median, reps);
    if (r.n == 0 || r.ratios.empty()) continue;
    const double bytes = bytes_per_token(r.n);
    const double limit_best = r.bw.best * 1e9 / bytes;
    const stats ratio = summarize(r.ratios);
    std::printf(
        "  read bandwidth (streaming sum over 1 GiB, %d threads, after each repetition): best %.1f GB/s, "
        "median %.1f GB/s\n"
        "  bytes read per token: %.1f MB (weights %.1f MB + KV cache %.2f MB on average)\n"
        "  bandwidth limit: %.2f t/s (best bandwidth); best %s = %.0f%% of it; median of the "
        "per-repetition ratios %.0f%%\n",
        r.threads, r.bw.best, r.bw.median, bytes / 1e6, static_cast<double>(weight_bytes_per_token) / 1e6,
        static_cast<double>(kv_row) * (r.n + 1) / 2.0 / 1e6, limit_best, r.test.c_str(),
        100.0 * r.tps.best / limit_best, 100.0 * ratio.median);
  }
  return 0;
}
