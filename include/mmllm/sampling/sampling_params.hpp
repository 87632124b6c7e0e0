// mmllm/sampling/sampling_params.hpp — every sampling parameter, with llama.cpp's names and
// defaults, and the sampler order by name.
//
// Field names are the llama.cpp server's request fields (temperature, top_k, typical_p,
// repeat_last_n, repeat_penalty, …); defaults are llama.cpp's (common_params_sampling).
// The chain order comes from names as in llama.cpp's `samplers` field / --samplers flag:
//
//   mmllm::sampling_params p;                       // defaults
//   p.temperature = 0.7f;
//   auto order = mmllm::parse_sampler_names("top_k;top_p;temperature");   // result<...>
//   if (order) p.samplers = *order;
//   auto order2 = mmllm::parse_sampler_chars("kpt");                        // --sampling-seq
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/result.hpp"
#include "logit_bias_sampler.hpp"
#include "sampling_rng.hpp"

namespace mmllm {

/// The samplers a chain can be ordered from (llama.cpp's common_sampler_type).
enum class sampler_type : std::uint8_t {
  penalties,
  dry,
  top_n_sigma,
  top_k,
  typical_p,
  top_p,
  min_p,
  xtc,
  temperature,
};

/// Canonical name of a sampler type ("penalties", "dry", "top_n_sigma", "top_k", "typ_p",
/// "top_p", "min_p", "xtc", "temperature").
constexpr std::string_view to_string(sampler_type t) noexcept {
  switch (t) {
    case sampler_type::penalties: return "penalties";
    case sampler_type::dry: return "dry";
    case sampler_type::top_n_sigma: return "top_n_sigma";
    case sampler_type::top_k: return "top_k";
    case sampler_type::typical_p: return "typ_p";
    case sampler_type::top_p: return "top_p";
    case sampler_type::min_p: return "min_p";
    case sampler_type::xtc: return "xtc";
    case sampler_type::temperature: return "temperature";
  }
  return "";
}

/// One-letter code of a sampler type (--sampling-seq): e d s k y p m x t.
constexpr char to_char(sampler_type t) noexcept {
  switch (t) {
    case sampler_type::penalties: return 'e';
    case sampler_type::dry: return 'd';
    case sampler_type::top_n_sigma: return 's';
    case sampler_type::top_k: return 'k';
    case sampler_type::typical_p: return 'y';
    case sampler_type::top_p: return 'p';
    case sampler_type::min_p: return 'm';
    case sampler_type::xtc: return 'x';
    case sampler_type::temperature: return 't';
  }
  return '?';
}

/// llama.cpp's default order: penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature.
inline std::vector<sampler_type> default_sampler_order() {
  return {sampler_type::penalties, sampler_type::dry,       sampler_type::top_n_sigma,
          sampler_type::top_k,     sampler_type::typical_p, sampler_type::top_p,
          sampler_type::min_p,     sampler_type::xtc,       sampler_type::temperature};
}

/// The type a name denotes: canonical names, plus (with `allow_alt_names`, as the command
/// line does) top-k, top-p, nucleus, top-n-sigma, typical-p, typical, typ-p, typ, min-p, temp.
inline std::optional<sampler_type> sampler_type_from_name(std::string_view name,
                                                          bool allow_alt_names = true) {
  struct entry {
    std::string_view name;
    sampler_type type;
    bool alt;
  };
  static constexpr std::array<entry, 19> names = {{
      {"penalties", sampler_type::penalties, false},
      {"dry", sampler_type::dry, false},
      {"top_n_sigma", sampler_type::top_n_sigma, false},
      {"top_k", sampler_type::top_k, false},
      {"typ_p", sampler_type::typical_p, false},
      {"top_p", sampler_type::top_p, false},
      {"min_p", sampler_type::min_p, false},
      {"xtc", sampler_type::xtc, false},
      {"temperature", sampler_type::temperature, false},
      {"top-k", sampler_type::top_k, true},
      {"top-p", sampler_type::top_p, true},
      {"nucleus", sampler_type::top_p, true},
      {"top-n-sigma", sampler_type::top_n_sigma, true},
      {"typical-p", sampler_type::typical_p, true},
      {"typical", sampler_type::typical_p, true},
      {"typ-p", sampler_type::typical_p, true},
      {"typ", sampler_type::typical_p, true},
      {"min-p", sampler_type::min_p, true},
      {"temp", sampler_type::temperature, true},
  }};
  for (const entry& e : names)
    if (e.name == name && (allow_alt_names || !e.alt)) return e.type;
  return std::nullopt;
}

/// Parses "penalties;dry;top_k" (separator ';', also ',' and spaces); an unknown name is an
/// error naming it. An empty string gives an empty chain (only the final draw).
inline result<std::vector<sampler_type>> parse_sampler_names(std::string_view list,
                                                             bool allow_alt_names = true) {
  std::vector<sampler_type> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t end = list.find_first_of(";, ", pos);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view name = list.substr(pos, end - pos);
    if (!name.empty()) {
      const auto t = sampler_type_from_name(name, allow_alt_names);
      if (!t) return make_error(errc::invalid_argument, "samplers: unknown sampler '", name, "'");
      out.push_back(*t);
    }
    pos = end + 1;
  }
  return out;
}

/// Parses a list of names (the server's JSON array form; canonical names only by default).
inline result<std::vector<sampler_type>> parse_sampler_names(const std::vector<std::string>& names,
                                                             bool allow_alt_names = false) {
  std::vector<sampler_type> out;
  for (const std::string& n : names) {
    const auto t = sampler_type_from_name(n, allow_alt_names);
    if (!t) return make_error(errc::invalid_argument, "samplers: unknown sampler '", n, "'");
    out.push_back(*t);
  }
  return out;
}

/// Parses one-letter codes ("edskypmxt", --sampling-seq / the server's string form).
inline result<std::vector<sampler_type>> parse_sampler_chars(std::string_view chars) {
  std::vector<sampler_type> out;
  for (const char c : chars) {
    bool found = false;
    for (const sampler_type t : default_sampler_order()) {
      if (to_char(t) == c) {
        out.push_back(t);
        found = true;
        break;
      }
    }
    if (!found)
      return make_error(errc::invalid_argument, "samplers: unknown sampler code '", std::string(1, c), "'");
  }
  return out;
}

/// Joins a chain order as "penalties;dry;…".
inline std::string sampler_names(const std::vector<sampler_type>& order) {
  std::string s;
  for (const sampler_type t : order) {
    if (!s.empty()) s += ';';
    s += to_string(t);
  }
  return s;
}

/// A logit bias given by text: every token of its tokenization gets `bias`.
struct logit_bias_text {
  std::string text;
  float bias = 0.0f;
};

/// All sampling parameters of one request.
struct sampling_params {
  std::uint32_t seed = default_seed;  ///< default_seed (0xFFFFFFFF) = random
  std::int32_t n_probs = 0;           ///< > 0: report the top n_probs token probabilities
  bool post_sampling_probs = false;   ///< n_probs after the chain instead of the raw softmax
  std::int32_t min_keep = 0;          ///< 0 = off; else samplers keep at least this many tokens

  float temperature = 0.80f;  ///< <= 0: greedy (probabilities still reported)
  float dynatemp_range = 0.00f;
  float dynatemp_exponent = 1.00f;
  std::int32_t top_k = 40;  ///< <= 0: off
  float top_p = 0.95f;      ///< 1: off
  float min_p = 0.05f;      ///< 0: off
  float typical_p = 1.00f;  ///< 1: off
  float xtc_probability = 0.00f;
  float xtc_threshold = 0.10f;  ///< > 0.5: off
  float top_n_sigma = -1.00f;   ///< <= 0: off

  std::int32_t repeat_last_n = 64;  ///< 0: off, -1: context size
  float repeat_penalty = 1.00f;     ///< 1: off
  float frequency_penalty = 0.00f;
  float presence_penalty = 0.00f;

  float dry_multiplier = 0.0f;  ///< 0: off
  float dry_base = 1.75f;
  std::int32_t dry_allowed_length = 2;
  std::int32_t dry_penalty_last_n = -1;  ///< 0: off, -1: context size
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};

  std::int32_t mirostat = 0;  ///< 0 off, 1 Mirostat, 2 Mirostat 2.0 (replaces the chain)
  float mirostat_tau = 5.00f;
  float mirostat_eta = 0.10f;

  std::vector<logit_bias_entry> logit_bias;       ///< by token id (-inf bans)
  std::vector<logit_bias_text> logit_bias_texts;  ///< by text (tokenized without specials)
  bool ignore_eos = false;                        ///< ban every end-of-generation token

  std::vector<sampler_type> samplers = default_sampler_order();

  std::string grammar;         ///< GBNF text (root rule "root"); empty = none
  std::string json_schema;     ///< JSON Schema text; used when grammar is empty
  bool grammar_first = false;  ///< mask before the chain instead of checking the sampled token

  /// Checks ranges llama.cpp rejects (repeat_last_n, dry_penalty_last_n >= -1; mirostat 0..2;
  /// n_probs, min_keep, dry_allowed_length >= 0).
  [[nodiscard]] result<void> validate() const {
    if (repeat_last_n < -1)
      return make_error(errc::invalid_argument, "sampling: repeat_last_n must be >= -1");
    if (dry_penalty_last_n < -1)
      return make_error(errc::invalid_argument, "sampling: dry_penalty_last_n must be >= -1");
    if (mirostat < 0 || mirostat > 2)
      return make_error(errc::invalid_argument, "sampling: mirostat must be 0, 1 or 2");
    if (n_probs < 0) return make_error(errc::invalid_argument, "sampling: n_probs must be >= 0");
    if (min_keep < 0) return make_error(errc::invalid_argument, "sampling: min_keep must be >= 0");
    if (dry_allowed_length < 0)
      return make_error(errc::invalid_argument, "sampling: dry_allowed_length must be >= 0");
    return ok();
  }
};

}  // namespace mmllm
