// mmllm-run — generate text with a GGUF language model from the command line (the offline
// engine), with llama.cpp-style flags.
//
//   mmllm-run -m model.gguf -p "Once upon a time" -n 64 -t 4 --temp 0
//   mmllm-run -p "Once upon a time" --output-format json       # stories260K fixture by default
//   mmllm-run -m model.gguf -f prompt.txt --logits-out logits.f32   # prompt logits, raw f32 rows
//   mmllm-run -p "Once" --samplers "penalties;top_k;min_p;temperature" --min-p 0.1 --repeat-penalty 1.1
//   mmllm-run -p "Data:" -j '{"type":"object"}' --n-probs 3 --output-format json
//   mmllm-run -m lm.gguf --mmproj mmproj.gguf --image cat.jpg -p "Look: <__media__> What is it?"
//   mmllm-run -m lm.gguf --mmproj mmproj.gguf --image cat.jpg -p "Describe" --embd-out cat.f32
//   mmllm-run -m lm.gguf --mmproj mmproj.gguf --image-embeds cat.f32 -p "Describe"
//
// Media (--mmproj): --image / --audio / --image-embeds items take the prompt's media markers
// in command-line order; a prompt without markers gets one marker per item appended (the
// peer's mtmd-cli appends them to the user message). --chat-template / --chat-template-file
// render -p as the user message through a Jinja template first (the synthetic/mm fixtures
// were recorded with "{% for message in messages %}{{ message['content'] }}{% endfor %}");
// the text is then tokenized with special tokens parsed, as mtmd_tokenize does.
//
// Text mode streams the prompt and the generated text to stdout and prints timings to
// stderr. JSON mode prints one object: {"prompt_tokens":[…], "tokens":[…], "text":"…",
// "finish_reason":"…", "timings":{…}} plus, with media, "chunks" (per text chunk its token
// ids, per media chunk its type and token count), "encode_ms", "n_media_encoded",
// "n_media_cache_hits"; with --n-probs N, "completion_probabilities"
// shaped as llama-server's (id, token, bytes, logprob, top_logprobs; prob / top_probs with
// --post-sampling-probs). Sampling flags are llama.cpp's (see -h); the sampler is the
// sampling layer's full chain (mmllm::full_sampler).

// g++ 12 at -O3 reports a false -Wrestrict inside tokenize/hf_pipeline.hpp's inlined string
// copies (unreachable sizes); it is not an error in this program.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/engine/engine.hpp>
#include <mmllm/engine/full_sampler.hpp>
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/media/image_decode.hpp>
#include <mmllm/tokenize/chat_template.hpp>
#include <mmllm/tokenize/chat_template_json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

#ifndef MMLLM_DEFAULT_MODEL
#define MMLLM_DEFAULT_MODEL "../shared/fixtures/models/stories260K.gguf"
#endif

// llama.cpp falls back to ChatML when a model has no chat template.
constexpr std::string_view chatml_template =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif "
    "%}";

struct options {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_file;
  int n_predict = -1;
  unsigned n_ctx = 4096;
  unsigned threads = 0;
  unsigned batch = 512;
  mmllm::sampling_params sampling;  // every sampling flag (llama.cpp's names and defaults)
  std::optional<std::string> grammar_file, json_schema_file;
  bool dry_breakers_given = false;
  bool no_bos = false;
  bool chat = false;
  bool json = false;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  std::string logits_out;
  mmllm::models::kv_type type_k = mmllm::models::kv_type::f32;
  mmllm::models::kv_type type_v = mmllm::models::kv_type::f32;
  // media
  struct media_arg {
    mmllm::mm_modality kind = mmllm::mm_modality::image;
    std::string path;
    mmllm::mm::size2 grid{}, tiles{};  // --image-embeds: M-RoPE token grid, tile grid
  };
  std::string mmproj;
  std::vector<media_arg> media;  // in marker order
  std::optional<std::string> chat_template, chat_template_file;
  std::string media_marker = std::string(mmllm::mm::default_media_marker);
  mmllm::media::rgb_conversion rgb{};
  std::string embd_out;
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [options]\n"
      "  -m, --model FILE          GGUF model (default: the stories260K fixture, " MMLLM_DEFAULT_MODEL
      ")\n"
      "  -p, --prompt TEXT         prompt (default: empty, i.e. BOS only)\n"
      "  -f, --file FILE           read the prompt from FILE\n"
      "  -n, --n-predict N         tokens to generate (-1: until end of generation or a full context; "
      "default -1)\n"
      "  -c, --ctx-size N          context size in tokens (default 4096; 0: the model's training context)\n"
      "  -t, --threads N           threads (default: all cores)\n"
      "  -b, --batch-size N        tokens per forward step (default 512)\n"
      "sampling (llama.cpp's flags and defaults):\n"
      "      --samplers LIST       sampler order, ';'-separated (default\n"
      "                            penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature)\n"
      "      --sampling-seq CHARS  sampler order as letters (default edskypmxt)\n"
      "      --temp T              temperature (default 0.8; <= 0: greedy)\n"
      "      --dynatemp-range R    dynamic temperature range (default 0: off)\n"
      "      --dynatemp-exp E      dynamic temperature exponent (default 1)\n"
      "  -s, --seed N              sampling seed (default -1: random)\n"
      "      --top-k N             top-k (default 40; 0: off)\n"
      "      --top-p P             top-p (default 0.95; 1: off)\n"
      "      --min-p P             min-p (default 0.05; 0: off)\n"
      "      --typical P           locally typical sampling (default 1: off)\n"
      "      --top-nsigma N        top-n-sigma (default -1: off)\n"
      "      --xtc-probability P   XTC probability (default 0: off)\n"
      "      --xtc-threshold T     XTC threshold (default 0.1; > 0.5: off)\n"
      "      --repeat-last-n N     tokens the penalties look at (default 64; 0: off, -1: context size)\n"
      "      --repeat-penalty P    repetition penalty (default 1: off)\n"
      "      --presence-penalty P  presence penalty (default 0: off)\n"
      "      --frequency-penalty P frequency penalty (default 0: off)\n"
      "      --dry-multiplier M    DRY multiplier (default 0: off)\n"
      "      --dry-base B          DRY base (default 1.75)\n"
      "      --dry-allowed-length N  DRY allowed length (default 2)\n"
      "      --dry-penalty-last-n N  DRY window (default -1: context size; 0: off)\n"
      "      --dry-sequence-breaker S  DRY sequence breaker (repeatable; replaces the defaults\n"
      "                            \\n : \" *; 'none' for no breakers)\n"
      "      --mirostat N          0 off, 1 Mirostat, 2 Mirostat 2.0 (replaces the sampler order)\n"
      "      --mirostat-lr ETA     Mirostat learning rate (default 0.1)\n"
      "      --mirostat-ent TAU    Mirostat target entropy (default 5)\n"
      "  -l, --logit-bias ID(+|-)B token id and bias, e.g. 15043+1 or 2-inf (repeatable)\n"
      "      --min-keep N          samplers keep at least N tokens (default 0)\n"
      "      --grammar GBNF        constrain the output to a GBNF grammar (root rule 'root')\n"
      "      --grammar-file FILE   read the grammar from FILE\n"
      "  -j, --json-schema JSON    constrain the output to a JSON schema ({} : any JSON value)\n"
      "  -jf, --json-schema-file FILE  read the JSON schema from FILE\n"
      "      --n-probs N           report the N most likely tokens per generated token (JSON output)\n"
      "      --post-sampling-probs report probabilities after the sampler chain instead of the raw softmax\n"
      "      --no-bos              do not add the BOS token the vocabulary asks for\n"
      "      --chat                apply the model's chat template to the prompt as a user message\n"
      "      --ignore-eos          never stop at an end-of-generation token\n"
      "  -r, --stop TEXT           stop string (repeatable)\n"
      "  -ctk, --cache-type-k T    KV cache type for K: f32, f16, q8_0 (default f32)\n"
      "  -ctv, --cache-type-v T    KV cache type for V: f32, f16, q8_0 (default f32)\n"
      "      --output-format F     text (default) or json\n"
      "      --logits-out FILE     write the logits of every prompt position (rows of n_vocab f32)\n"
      "media (llama.cpp mtmd-cli's flags):\n"
      "      --mmproj FILE         multimodal projector (mmproj GGUF) for --image / --audio\n"
      "      --image FILE          an image (repeatable; items take the media markers in order;\n"
      "                            a prompt without markers gets them appended)\n"
      "      --audio FILE          an audio file (repeatable, same order as --image)\n"
      "      --image-embeds FILE   precomputed projector output (raw f32, n_tokens x n_embd) in\n"
      "                            place of an image (repeatable), e.g. a file from --embd-out\n"
      "      --image-embeds-grid WxH   M-RoPE models: token columns x rows of the last --image-embeds\n"
      "      --image-embeds-tiles WxH  tiled models (idefics3): tile columns x rows of the last one\n"
      "      --embd-out FILE       write every media chunk's projector output (raw f32, n_tokens x\n"
      "                            n_embd, chunks in prompt order)\n"
      "      --chat-template TEXT  render the prompt as the user message through this Jinja template\n"
      "      --chat-template-file FILE  the same, the template read from FILE\n"
      "      --media-marker TEXT   the media marker (default <__media__>)\n"
      "      --image-alpha MODE    composite (default: blend over --rgba-background) or ignore\n"
      "                            (drop alpha as llama.cpp does)\n"
      "      --rgba-background R,G,B  background for --image-alpha composite (default 255,255,255)\n"
      "  -h, --help                this help\n",
      argv0);
}

/// The sampling flags (llama.cpp's names); false when `a` is not one. Errors go to `err`.
template <class Value, class Number>
bool parse_sampling_flag(const std::string& a, options& o, Value& value, Number& number, std::string& err) {
  mmllm::sampling_params& p = o.sampling;
  auto flag = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (a == n) return true;
    return false;
  };
  auto text = [&](auto&& set) {
    const auto v = value();
    if (v) set(*v);
    return true;
  };
  if (flag({"--samplers"})) {
    return text([&](const std::string& v) {
      auto order = mmllm::parse_sampler_names(v, true);
      if (!order) err = order.error().message;
      if (order) p.samplers = *order;
    });
  }
  if (flag({"--sampling-seq", "--sampler-seq"})) {
    return text([&](const std::string& v) {
      auto order = mmllm::parse_sampler_chars(v);
      if (!order) err = order.error().message;
      if (order) p.samplers = *order;
    });
  }
  if (flag({"--temp"})) {
    (void)number(p.temperature);
    p.temperature = std::max(p.temperature, 0.0f);
    return true;
  }
  struct float_flag {
    const char* name;
    float mmllm::sampling_params::*field;
  };
  static constexpr float_flag floats[] = {
      {"--dynatemp-range", &mmllm::sampling_params::dynatemp_range},
      {"--dynatemp-exp", &mmllm::sampling_params::dynatemp_exponent},
      {"--top-p", &mmllm::sampling_params::top_p},
      {"--min-p", &mmllm::sampling_params::min_p},
      {"--typical", &mmllm::sampling_params::typical_p},
      {"--top-nsigma", &mmllm::sampling_params::top_n_sigma},
      {"--xtc-probability", &mmllm::sampling_params::xtc_probability},
      {"--xtc-threshold", &mmllm::sampling_params::xtc_threshold},
      {"--repeat-penalty", &mmllm::sampling_params::repeat_penalty},
      {"--presence-penalty", &mmllm::sampling_params::presence_penalty},
      {"--frequency-penalty", &mmllm::sampling_params::frequency_penalty},
      {"--dry-multiplier", &mmllm::sampling_params::dry_multiplier},
      {"--mirostat-lr", &mmllm::sampling_params::mirostat_eta},
      {"--mirostat-ent", &mmllm::sampling_params::mirostat_tau},
  };
  for (const float_flag& f : floats)
    if (a == f.name) {
      (void)number(p.*(f.field));
      return true;
    }
  struct int_flag {
    const char* name;
    std::int32_t mmllm::sampling_params::*field;
  };
  static constexpr int_flag ints[] = {
      {"--top-k", &mmllm::sampling_params::top_k},
      {"--repeat-last-n", &mmllm::sampling_params::repeat_last_n},
      {"--dry-allowed-length", &mmllm::sampling_params::dry_allowed_length},
      {"--dry-penalty-last-n", &mmllm::sampling_params::dry_penalty_last_n},
      {"--mirostat", &mmllm::sampling_params::mirostat},
      {"--min-keep", &mmllm::sampling_params::min_keep},
      {"--n-probs", &mmllm::sampling_params::n_probs},
  };
  for (const int_flag& f : ints)
    if (a == f.name) {
      (void)number(p.*(f.field));
      return true;
    }
  if (flag({"--dry-base"})) {  // llama.cpp ignores values below 1
    float b = 0.0f;
    if (number(b) && b >= 1.0f) p.dry_base = b;
    return true;
  }
  if (flag({"--dry-sequence-breaker"})) {
    return text([&](const std::string& v) {
      if (!o.dry_breakers_given) p.dry_sequence_breakers.clear();
      o.dry_breakers_given = true;
      if (v == "none") {
        p.dry_sequence_breakers.clear();
      } else {
        p.dry_sequence_breakers.push_back(v);
      }
    });
  }
  if (flag({"-l", "--logit-bias"})) {
    return text([&](const std::string& v) {
      const std::size_t sign = v.find_first_of("+-", 1);
      char* end = nullptr;
      const long id = std::strtol(v.c_str(), &end, 10);
      if (sign == std::string::npos || end != v.c_str() + sign) {
        err = "--logit-bias: expected TOKEN_ID+BIAS or TOKEN_ID-BIAS, got '" + v + "'";
        return;
      }
      const std::string rest = v.substr(sign + 1);
      float bias = 0.0f;
      if (rest == "inf" || rest == "INF") {
        bias = INFINITY;
      } else {
        char* e2 = nullptr;
        bias = std::strtof(rest.c_str(), &e2);
        if (rest.empty() || *e2 != '\0') {
          err = "--logit-bias: bad bias in '" + v + "'";
          return;
        }
      }
      p.logit_bias.push_back({static_cast<mmllm::token_id>(id), v[sign] == '-' ? -bias : bias});
    });
  }
  if (flag({"--grammar"})) return text([&](const std::string& v) { p.grammar = v; });
  if (flag({"--grammar-file"})) return text([&](const std::string& v) { o.grammar_file = v; });
  if (flag({"-j", "--json-schema"})) return text([&](const std::string& v) { p.json_schema = v; });
  if (flag({"-jf", "--json-schema-file"})) return text([&](const std::string& v) { o.json_schema_file = v; });
  if (flag({"--post-sampling-probs"})) {
    p.post_sampling_probs = true;
    return true;
  }
  return false;
}

/// "WxH" → size2.
std::optional<mmllm::mm::size2> parse_size(const std::string& v) {
  const std::size_t x = v.find('x');
  if (x == std::string::npos) return std::nullopt;
  char* e1 = nullptr;
  char* e2 = nullptr;
  const long w = std::strtol(v.c_str(), &e1, 10);
  const long h = std::strtol(v.c_str() + x + 1, &e2, 10);
  if (e1 != v.c_str() + x || *e2 != '\0' || w <= 0 || h <= 0 || w > 1 << 20 || h > 1 << 20)
    return std::nullopt;
  return mmllm::mm::size2{static_cast<int>(w), static_cast<int>(h)};
}

/// The media flags; false when `a` is not one. Errors go to `err`.
template <class Value>
bool parse_media_flag(const std::string& a, options& o, Value& value, std::string& err) {
  auto item = [&](mmllm::mm_modality k) {
    const auto v = value();
    if (v) o.media.push_back({k, *v, {}, {}});
    return true;
  };
  auto text = [&](std::string& out) {
    const auto v = value();
    if (v) out = *v;
    return true;
  };
  if (a == "--mmproj") return text(o.mmproj);
  if (a == "--image") return item(mmllm::mm_modality::image);
  if (a == "--audio") return item(mmllm::mm_modality::audio);
  if (a == "--image-embeds") return item(mmllm::mm_modality::image_embeds);
  if (a == "--image-embeds-grid" || a == "--image-embeds-tiles") {
    const auto v = value();
    if (!v) return true;
    const auto sz = parse_size(*v);
    if (!sz) {
      err = a + ": expected COLUMNSxROWS, got '" + *v + "'";
    } else if (o.media.empty() || o.media.back().kind != mmllm::mm_modality::image_embeds) {
      err = a + " must follow an --image-embeds FILE";
    } else {
      (a == "--image-embeds-grid" ? o.media.back().grid : o.media.back().tiles) = *sz;
    }
    return true;
  }
  if (a == "--embd-out") return text(o.embd_out);
  if (a == "--chat-template") {
    std::string t;
    text(t);
    o.chat_template = t;
    return true;
  }
  if (a == "--chat-template-file") {
    std::string t;
    text(t);
    o.chat_template_file = t;
    return true;
  }
  if (a == "--media-marker") {
    text(o.media_marker);
    if (o.media_marker.empty()) err = "--media-marker must not be empty";
    return true;
  }
  if (a == "--image-alpha") {
    const auto v = value();
    if (!v) return true;
    auto m = mmllm::media::parse_alpha_mode(*v);
    if (!m) err = m.error().message;
    if (m) o.rgb.alpha = *m;
    return true;
  }
  if (a == "--rgba-background") {
    const auto v = value();
    if (!v) return true;
    auto c = mmllm::media::parse_rgb8(*v);
    if (!c) err = "--rgba-background: " + c.error().message;
    if (c) o.rgb.background = *c;
    return true;
  }
  return false;
}

bool parse_args(int argc, char** argv, options& o, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (const auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 >= argc) {
        err = "missing value for " + a;
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    auto number = [&](auto& out) -> bool {
      const auto v = value();
      if (!v) return false;
      char* end = nullptr;
      using T = std::remove_reference_t<decltype(out)>;
      if constexpr (std::is_floating_point_v<T>) {
        out = static_cast<T>(std::strtod(v->c_str(), &end));
      } else {
        out = static_cast<T>(std::strtoll(v->c_str(), &end, 10));
      }
      if (end == v->c_str() || *end != '\0') {
        err = "bad number for " + a + ": '" + *v + "'";
        return false;
      }
      return true;
    };
    auto cache_type = [&](mmllm::models::kv_type& out) -> bool {
      const auto v = value();
      if (!v) return false;
      const auto t = mmllm::models::kv_type_from_name(*v);
      if (!t) {
        err = "unknown cache type '" + *v + "' (f32, f16, q8_0)";
        return false;
      }
      out = *t;
      return true;
    };
    if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else if (a == "-m" || a == "--model") {
      const auto v = value();
      if (!v) return false;
      o.model = *v;
    } else if (a == "-p" || a == "--prompt") {
      const auto v = value();
      if (!v) return false;
      o.prompt = *v;
    } else if (a == "-f" || a == "--file") {
      const auto v = value();
      if (!v) return false;
      o.prompt_file = *v;
    } else if (a == "-n" || a == "--n-predict") {
      if (!number(o.n_predict)) return false;
    } else if (a == "-c" || a == "--ctx-size") {
      if (!number(o.n_ctx)) return false;
    } else if (a == "-t" || a == "--threads") {
      if (!number(o.threads)) return false;
    } else if (a == "-b" || a == "--batch-size") {
      if (!number(o.batch)) return false;
    } else if (a == "-s" || a == "--seed") {
      long long s = 0;
      if (!number(s)) return false;
      o.sampling.seed = s < 0 ? mmllm::default_seed : static_cast<std::uint32_t>(s);
    } else if (parse_sampling_flag(a, o, value, number, err)) {
      if (!err.empty()) return false;
    } else if (a == "--no-bos") {
      o.no_bos = true;
    } else if (a == "--chat") {
      o.chat = true;
    } else if (a == "--ignore-eos") {
      o.ignore_eos = true;
      o.sampling.ignore_eos = true;
    } else if (a == "-r" || a == "--stop" || a == "--reverse-prompt") {
      const auto v = value();
      if (!v) return false;
      o.stop.push_back(*v);
    } else if (a == "-ctk" || a == "--cache-type-k") {
      if (!cache_type(o.type_k)) return false;
    } else if (a == "-ctv" || a == "--cache-type-v") {
      if (!cache_type(o.type_v)) return false;
    } else if (a == "--output-format") {
      const auto v = value();
      if (!v) return false;
      if (*v != "text" && *v != "json") {
        err = "--output-format must be text or json";
        return false;
      }
      o.json = *v == "json";
    } else if (a == "--logits-out") {
      const auto v = value();
      if (!v) return false;
      o.logits_out = *v;
    } else if (parse_media_flag(a, o, value, err)) {
      if (!err.empty()) return false;
    } else {
      err = "unknown argument '" + a + "' (see -h)";
      return false;
    }
  }
  return true;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "mmllm-run: %s\n", msg.c_str());
  return 1;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

/// llama-server's completion_probabilities entry for one token ("token": the piece without
/// an incomplete trailing UTF-8 character; "bytes": all of it).
nlohmann::ordered_json probability_json(const mmllm::tokenizer& tok, mmllm::token_id id, float prob,
                                        bool post) {
  const std::string piece = tok.token_to_piece(id, false);
  nlohmann::ordered_json j;
  j["id"] = id;
  j["token"] = piece.substr(0, piece.size() - mmllm::utf8_incomplete_tail(piece));
  std::vector<unsigned> bytes;
  for (const char c : piece) bytes.push_back(static_cast<unsigned char>(c));
  j["bytes"] = bytes;
  if (post) {
    j["prob"] = prob;
  } else {
    j["logprob"] = mmllm::completion_logprob(prob);
  }
  return j;
}

/// The model's chat template (ChatML when it has none, as llama.cpp does) applied to one
/// user message.
mmllm::result<std::string> chat_prompt(const mmllm::tokenizer& tok, const std::string& user,
                                       bool& template_has_bos, std::string src) {
  if (src.empty()) {
    std::fprintf(stderr, "mmllm-run: the model has no chat template; using ChatML\n");
    src = std::string(chatml_template);
  }
  MMLLM_TRY_ASSIGN(const mmllm::chat_template tmpl, mmllm::chat_template::parse(src));
  mmllm::chat_template_options opt;
  if (tok.bos() != mmllm::no_token) opt.bos_token = tok.token_to_piece(tok.bos(), true);
  if (tok.eos() != mmllm::no_token) opt.eos_token = tok.token_to_piece(tok.eos(), true);
  const nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", user}}});
  MMLLM_TRY_ASSIGN(std::string text, mmllm::apply_chat_template(tmpl, messages, opt));
  template_has_bos = opt.bos_token && !opt.bos_token->empty() && text.rfind(*opt.bos_token, 0) == 0;
  return text;
}

/// The --image / --audio / --image-embeds items as multi_modal_data in command-line order; an
/// error message or "".
std::string media_data(const options& o, std::size_t n_embd, mmllm::multi_modal_data& d) {
  mmllm::media::image_decode_options io;
  io.rgb = o.rgb;
  for (const options::media_arg& m : o.media) {
    std::string bytes;
    if (!read_file(m.path, bytes)) return "cannot read '" + m.path + "'";
    const auto* b = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const std::span<const std::uint8_t> span(b, bytes.size());
    switch (m.kind) {
      case mmllm::mm_modality::image: {
        auto img = mmllm::media::decode_image(span, io);
        if (!img) return m.path + ": " + img.error().what();
        d.order.push_back({m.kind, d.image.size()});
        d.image.push_back(std::move(*img));
        break;
      }
      case mmllm::mm_modality::audio: {
        auto pcm = mmllm::media::decode_audio(span);
        if (!pcm) return m.path + ": " + pcm.error().what();
        d.order.push_back({m.kind, d.audio.size()});
        d.audio.push_back(std::move(*pcm));
        break;
      }
      case mmllm::mm_modality::image_embeds: {
        if (n_embd == 0 || bytes.empty() || bytes.size() % (n_embd * sizeof(float)) != 0)
          return m.path + ": expected raw f32 rows of n_embd = " + std::to_string(n_embd) + " floats";
        mmllm::mm::precomputed_embeddings e;
        e.n_embd = n_embd;
        e.data.resize(bytes.size() / sizeof(float));
        std::memcpy(e.data.data(), bytes.data(), bytes.size());
        e.token_grid = m.grid;
        e.tiles = m.tiles;
        d.order.push_back({m.kind, d.image_embeds.size()});
        d.image_embeds.push_back(std::move(e));
        break;
      }
      case mmllm::mm_modality::video: break;
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string err;
  if (!parse_args(argc, argv, o, err)) return fail(err);
  if (o.model.empty()) {
    if (!std::filesystem::exists(MMLLM_DEFAULT_MODEL))
      return fail("no model given and the default model " MMLLM_DEFAULT_MODEL
                  " does not exist; pass a GGUF model with -m FILE");
    o.model = MMLLM_DEFAULT_MODEL;
  }
  std::string prompt = o.prompt.value_or("");
  if (o.prompt_file) {
    std::ifstream f(*o.prompt_file, std::ios::binary);
    if (!f) return fail("cannot read prompt file '" + *o.prompt_file + "'");
    prompt.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  const unsigned n_threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());

  mmllm::compute::thread_pool pool(n_threads);
  mmllm::engine_options eo;
  eo.n_ctx = o.n_ctx;
  eo.n_seq_max = 1;
  eo.max_batch_tokens = std::max(1u, o.batch);
  eo.type_k = o.type_k;
  eo.type_v = o.type_v;
  if (o.grammar_file && !read_file(*o.grammar_file, o.sampling.grammar))
    return fail("cannot read grammar file '" + *o.grammar_file + "'");
  if (o.json_schema_file && !read_file(*o.json_schema_file, o.sampling.json_schema))
    return fail("cannot read JSON schema file '" + *o.json_schema_file + "'");
  using engine_t = mmllm::engine<mmllm::compute::simd, mmllm::full_sampler>;
  if (!o.media.empty() && o.mmproj.empty())
    return fail("--image / --audio / --image-embeds need --mmproj FILE");
  eo.mmproj = o.mmproj;
  eo.media_marker = o.media_marker;
  auto eng = engine_t::load(o.model, mmllm::compute::simd(pool), eo);
  if (!eng) return fail(o.model + ": " + eng.error().what());

  engine_t::request_type req;
  bool add_special = !o.no_bos;
  bool parse_special = false;
  if (!o.mmproj.empty()) {
    auto err_media = media_data(o, eng->model().desc().n_embd, req.multi_modal_data);
    if (!err_media.empty()) return fail(err_media);
    // the peer's mtmd-cli: a prompt without markers gets one per item appended
    if (prompt.find(o.media_marker) == std::string::npos)
      for (std::size_t i = 0; i < o.media.size(); ++i) prompt += o.media_marker;
    parse_special = true;  // mtmd_tokenize(parse_special = true)
  }
  if (o.chat_template_file) {
    std::string t;
    if (!read_file(*o.chat_template_file, t))
      return fail("cannot read chat template '" + *o.chat_template_file + "'");
    o.chat_template = std::move(t);
  }
  if (o.chat_template) {
    bool has_bos = false;
    auto p = chat_prompt(eng->tok(), prompt, has_bos, *o.chat_template);
    if (!p) return fail("chat template: " + p.error().what());
    prompt = std::move(*p);
    parse_special = true;
    if (has_bos) add_special = false;
  } else if (o.chat) {
    bool has_bos = false;
    auto p = chat_prompt(eng->tok(), prompt, has_bos, eng->tok().config().chat_template);
    if (!p) return fail("chat template: " + p.error().what());
    prompt = std::move(*p);
    parse_special = true;
    if (has_bos) add_special = false;
  }
  req.prompt = prompt;
  req.add_special = add_special;
  req.parse_special = parse_special;
  req.return_media_embeddings = !o.embd_out.empty();
  engine_t::params_type params;
  params.sampling = o.sampling;
  params.max_tokens = o.n_predict;
  params.stop = o.stop;
  params.ignore_eos = o.ignore_eos;
  params.prompt_logits = !o.logits_out.empty();
  if (!o.json) {
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
    req.on_token = [](const mmllm::token_event& e) {
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
      std::fflush(stdout);
    };
  }
  auto out = eng->generate(std::move(req), params);
  if (!out) return fail(out.error().what());
  if (out->finish == mmllm::finish_reason::error) return fail(out->error);

  if (!o.embd_out.empty()) {
    std::ofstream f(o.embd_out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out->media_embeddings.data()),
            static_cast<std::streamsize>(out->media_embeddings.size() * sizeof(float)));
    if (!f) return fail("cannot write '" + o.embd_out + "'");
  }
  if (!o.logits_out.empty()) {
    std::ofstream f(o.logits_out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out->prompt_logits.data()),
            static_cast<std::streamsize>(out->prompt_logits.size() * sizeof(float)));
    if (!f) return fail("cannot write '" + o.logits_out + "'");
  }

  const auto& t = out->timings;
  if (o.json) {
    nlohmann::ordered_json j;
    j["prompt_tokens"] = out->prompt_tokens;
    j["tokens"] = out->tokens;
    j["text"] = out->text;
    j["finish_reason"] = std::string(mmllm::to_string(out->finish));
    j["seed"] = out->seed;
    if (!o.mmproj.empty()) {
      nlohmann::ordered_json chunks = nlohmann::ordered_json::array();
      for (const mmllm::mm::prompt_chunk& c : out->prompt_chunks) {
        nlohmann::ordered_json e;
        if (c.type == mmllm::mm::chunk_type::text) {
          e["type"] = "text";
          e["tokens"] = c.tokens;
        } else {
          e["type"] = c.type == mmllm::mm::chunk_type::image ? "image" : "audio";
          e["media_index"] = c.item;
          e["n_tokens"] = c.n_media_tokens;
          e["n_pos"] = c.n_pos();
          if (c.mrope) {
            e["nx"] = c.grid.width;
            e["ny"] = c.grid.height;
          }
        }
        chunks.push_back(std::move(e));
      }
      j["chunks"] = std::move(chunks);
      j["encode_ms"] = out->encode_ms;
      j["n_media_encoded"] = out->n_media_encoded;
      j["n_media_cache_hits"] = out->n_media_cache_hits;
    }
    if (o.sampling.n_probs > 0) {
      const bool post = o.sampling.post_sampling_probs;
      nlohmann::ordered_json probs = nlohmann::ordered_json::array();
      for (const mmllm::sampled_token& st : out->probabilities) {
        nlohmann::ordered_json e = probability_json(eng->tok(), st.id, st.prob, post);
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (const mmllm::token_probability& tp : st.top)
          top.push_back(probability_json(eng->tok(), tp.id, tp.prob, post));
        e[post ? "top_probs" : "top_logprobs"] = std::move(top);
        probs.push_back(std::move(e));
      }
      j["completion_probabilities"] = std::move(probs);
    }
    j["timings"] = {{"prompt_n", t.prompt_n},
                    {"prompt_ms", t.prompt_ms},
                    {"prompt_per_token_ms", t.prompt_per_token_ms()},
                    {"prompt_per_second", t.prompt_per_second()},
                    {"predicted_n", t.predicted_n},
                    {"predicted_ms", t.predicted_ms},
                    {"predicted_per_token_ms", t.predicted_per_token_ms()},
                    {"predicted_per_second", t.predicted_per_second()},
                    {"threads", n_threads}};
    // generated bytes need not be valid UTF-8 (byte tokens): invalid ones become U+FFFD
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fprintf(
        stderr,
        "\nmmllm-run: %s, %u threads, finish: %s, seed %u\n"
        "mmllm-run: prompt eval: %8.2f ms / %4zu tokens (%8.2f ms per token, %9.2f tokens per second)\n"
        "mmllm-run: generation:  %8.2f ms / %4zu tokens (%8.2f ms per token, %9.2f tokens per second)\n",
        o.model.c_str(), n_threads, std::string(mmllm::to_string(out->finish)).c_str(), out->seed,
        t.prompt_ms, t.prompt_n, t.prompt_per_token_ms(), t.prompt_per_second(), t.predicted_ms,
        t.predicted_n, t.predicted_per_token_ms(), t.predicted_per_second());
  }
  return 0;
}
