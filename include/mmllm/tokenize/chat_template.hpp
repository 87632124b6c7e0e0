// mmllm/tokenize/chat_template.hpp — chat templates: turn a list of chat messages into the
// prompt text a model expects, by rendering the model's Jinja chat template exactly as
// Hugging Face transformers does (see jinja_template.hpp for the engine).
//
//   auto tmpl = mmllm::chat_template::parse(gguf_chat_template_string);   // parse once
//   if (!tmpl) return tmpl.error();
//   mmllm::chat_template_options opt;
//   opt.bos_token = "<|begin_of_text|>";
//   auto prompt = tmpl->apply(messages, opt);   // messages: jinja::value list of dicts
//
// The template source comes from GGUF `tokenizer.chat_template` (or
// `tokenizer.chat_template.<name>`), from tokenizer_config.json (see
// chat_template_json.hpp), or from a file. Rendering variables: messages, tools (None when
// absent), documents (None when absent), add_generation_prompt, the special tokens that are
// set (bos_token, eos_token, unk_token, pad_token) and any extra variables (e.g.
// enable_thinking), later ones overriding earlier ones.
//
// Message content may be a string or a list of OpenAI-style parts: {"type":"text",...},
// {"type":"image_url",...}, {"type":"input_audio",...}, {"type":"image"}, ... With
// content_parts_mode::automatic (the default) the template is probed once at parse time:
// - if it renders typed content (iterates the parts), parts are passed as a list and each
//   media part becomes {"type":"text","text":<media marker>} (media_parts_mode::marker_text)
//   or an HF-style {"type":"image"|"audio"|"video", ...} part (media_parts_mode::typed);
// - otherwise the parts are flattened to one string as llama.cpp's server does: text parts
//   and markers joined with "\n".
// content_parts_mode::flatten always flattens; content_parts_mode::as_is passes messages
// unchanged (transformers' behaviour: most templates then fail on list content).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/tokenize/jinja_template.hpp"
#include "mmllm/tokenize/jinja_value.hpp"

namespace mmllm {

/// How message content given as a list of parts reaches the template.
enum class content_parts_mode : std::uint8_t {
  automatic,  ///< a list for templates that render typed content, else flattened (default)
  flatten,    ///< always one string: text parts and media markers joined with "\n" (llama.cpp)
  as_is,      ///< messages unchanged (transformers)
};

/// How media parts look inside a part list passed to the template.
enum class media_parts_mode : std::uint8_t {
  marker_text,  ///< {"type":"text","text":<media marker>}: the marker lands where the template puts text
  typed,        ///< {"type":"image"|"audio"|"video", ...original fields}: the template's own media tokens
};

/// Kind of a media part of a message.
enum class chat_media_kind : std::uint8_t { image, audio, video };

/// A media part found in the messages, in message order.
struct chat_media_part {
  std::size_t message_index = 0;
  std::size_t part_index = 0;
  chat_media_kind kind = chat_media_kind::image;
  jinja::value part;  ///< the original part (e.g. {"type":"image_url","image_url":{"url":...}})
};

struct chat_template_options {
  bool add_generation_prompt = true;
  std::optional<jinja::value> tools;      ///< list of tool definitions; None when absent
  std::optional<jinja::value> documents;  ///< None when absent
  std::optional<std::string> bos_token;   ///< special tokens: passed only when set
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
  jinja::variables extra_variables;  ///< e.g. {"enable_thinking", false}; override the above
  std::string media_marker = "<__media__>";
  content_parts_mode content_parts = content_parts_mode::automatic;
  media_parts_mode media_parts = media_parts_mode::marker_text;
  std::optional<jinja::date_time> now;  ///< strftime_now(); local time when empty
  jinja::limits limits;
};

/// What the parse-time probes found out about a template.
struct chat_template_caps {
  bool renders_string_content = false;  ///< a user message with string content shows up
  bool renders_typed_content = false;   ///< a user message with [{"type":"text",...}] shows up as text
};

/// The rendered prompt and the media parts it refers to.
struct chat_prompt {
  std::string text;
  std::vector<chat_media_part> media;  ///< in message order (= marker order unless the template reorders)
  std::size_t marker_count = 0;        ///< occurrences of the media marker in `text`
};

namespace detail {

inline std::optional<chat_media_kind> media_kind_of(std::string_view type) {
  if (type == "image_url" || type == "image" || type == "input_image" || type == "image_embeds")
    return chat_media_kind::image;
  if (type == "input_audio" || type == "audio" || type == "audio_url") return chat_media_kind::audio;
  if (type == "video_url" || type == "video") return chat_media_kind::video;
  return std::nullopt;
}

inline std::string_view media_kind_name(chat_media_kind k) {
  switch (k) {
    case chat_media_kind::image: return "image";
    case chat_media_kind::audio: return "audio";
    case chat_media_kind::video: return "video";
  }
  return "image";
}

inline std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t n = 0;
  for (std::size_t p = text.find(needle); p != std::string_view::npos;
       p = text.find(needle, p + needle.size()))
    ++n;
  return n;
}

}  // namespace detail

/// A parsed chat template; cheap to copy, safe to use from several threads.
class chat_template {
 public:
  /// Parses a template source (GGUF tokenizer.chat_template, tokenizer_config.json, file).
  /// `probe_limits` bound the two probe renders run here (see chat_template_caps).
  static result<chat_template> parse(std::string_view source, std::string name = "chat_template",
                                     const jinja::limits& probe_limits = default_probe_limits()) {
    jinja::parse_options po;
    po.name = std::move(name);
    po.max_nesting = probe_limits.max_nesting;
    po.max_stack_bytes = probe_limits.max_stack_bytes;
    auto t = jinja::jinja_template::parse(source, po);
    if (!t) return std::move(t).error();
    chat_template c;
    c.tmpl_ = std::move(*t);
    c.caps_ = c.probe(probe_limits);
    return c;
  }

  /// Limits of the parse-time probes: a real template renders one message in well under
  /// these.
  static jinja::limits default_probe_limits() {
    jinja::limits l;
    l.max_steps = 2'000'000;
    l.max_string_bytes = 4u << 20;
    l.max_total_bytes = 64u << 20;
    return l;
  }

  [[nodiscard]] const chat_template_caps& caps() const noexcept { return caps_; }
  [[nodiscard]] const jinja::jinja_template& engine() const noexcept { return tmpl_; }

  /// Renders the prompt for `messages` (a list of message dicts).
  [[nodiscard]] result<std::string> apply(const jinja::value& messages,
                                          const chat_template_options& opt = {}) const {
    auto p = render(messages, opt);
    if (!p) return std::move(p).error();
    return std::move(p->text);
  }

  /// Renders the prompt and reports the media parts of the messages.
  [[nodiscard]] result<chat_prompt> render(const jinja::value& messages,
                                           const chat_template_options& opt = {}) const {
    chat_prompt out;
    auto prepared = prepare_messages(messages, opt, out.media);
    if (!prepared) return std::move(prepared).error();
    jinja::variables vars;
    vars.reserve(8 + opt.extra_variables.size());
    vars.emplace_back("messages", std::move(*prepared));
    vars.emplace_back("tools", opt.tools ? *opt.tools : jinja::value());
    vars.emplace_back("documents", opt.documents ? *opt.documents : jinja::value());
    vars.emplace_back("add_generation_prompt", jinja::value(opt.add_generation_prompt));
    if (opt.bos_token) vars.emplace_back("bos_token", jinja::value(*opt.bos_token));
    if (opt.eos_token) vars.emplace_back("eos_token", jinja::value(*opt.eos_token));
    if (opt.unk_token) vars.emplace_back("unk_token", jinja::value(*opt.unk_token));
    if (opt.pad_token) vars.emplace_back("pad_token", jinja::value(*opt.pad_token));
    for (const auto& v : opt.extra_variables) vars.push_back(v);
    jinja::render_options ro;
    ro.limits = opt.limits;
    ro.now = opt.now;
    auto text = tmpl_.render(vars, ro);
    if (!text) return std::move(text).error();
    out.text = std::move(*text);
    out.marker_count = detail::count_occurrences(out.text, opt.media_marker);
    return out;
  }

  /// The messages as the template will see them (content parts converted per `opt`); media
  /// parts are appended to `media`.
  [[nodiscard]] result<jinja::value> prepare_messages(const jinja::value& messages,
                                                      const chat_template_options& opt,
                                                      std::vector<chat_media_part>& media) const {
    using jinja::value;
    if (!messages.is_sequence()) return make_error(errc::invalid_argument, "chat: messages must be a list");
    std::vector<value> out;
    out.reserve(messages.items().size());
    for (std::size_t mi = 0; mi < messages.items().size(); ++mi) {
      const value& msg = messages.items()[mi];
      if (!msg.is_dict())
        return make_error(errc::invalid_argument, "chat: message ", std::to_string(mi), " is not an object");
      const value* content = msg.find("content");
      if (content == nullptr || !content->is_sequence()) {
        out.push_back(msg);
        continue;
      }
      std::vector<value> parts;
      std::string flat;
      const bool keep_list =
          opt.content_parts == content_parts_mode::as_is ||
          (opt.content_parts == content_parts_mode::automatic && caps_.renders_typed_content);
      for (std::size_t pi = 0; pi < content->items().size(); ++pi) {
        const value& part = content->items()[pi];
        const value* type = part.is_dict() ? part.find("type") : nullptr;
        if (type == nullptr || !type->is_string())
          return make_error(errc::invalid_argument, "chat: message ", std::to_string(mi), " content part ",
                            std::to_string(pi), " has no \"type\"");
        const std::string_view t = type->as_string();
        std::string piece;
        if (t == "text") {
          const value* text = part.find("text");
          if (text == nullptr || !text->is_string())
            return make_error(errc::invalid_argument, "chat: message ", std::to_string(mi), " text part ",
                              std::to_string(pi), " has no string \"text\"");
          piece = std::string(text->as_string());
          if (keep_list) parts.push_back(part);
        } else if (auto kind = detail::media_kind_of(t)) {
          media.push_back({mi, pi, *kind, part});
          piece = opt.media_marker;
          if (keep_list) {
            if (opt.content_parts == content_parts_mode::as_is) {
              parts.push_back(part);
            } else if (opt.media_parts == media_parts_mode::marker_text) {
              parts.push_back(value::make_dict({{"type", "text"}, {"text", opt.media_marker}}));
            } else {
              std::vector<std::pair<std::string, value>> e;
              e.emplace_back("type", value(detail::media_kind_name(*kind)));
              for (const auto& [k, v] : part.entries())
                if (!(k.is_string() && k.as_string() == "type"))
                  e.emplace_back(std::string(k.as_string()), v);
              parts.push_back(value::make_dict(std::move(e)));
            }
          }
        } else if (opt.content_parts == content_parts_mode::as_is) {
          parts.push_back(part);
          continue;
        } else {
          return make_error(errc::invalid_argument, "chat: unsupported content part type '", t,
                            "' in message ", std::to_string(mi));
        }
        // llama.cpp joins parts with "\n" once some text has been collected.
        if (!flat.empty()) flat += '\n';
        flat += piece;
      }
      value new_content = keep_list ? value::make_list(std::move(parts)) : value(std::move(flat));
      std::vector<std::pair<value, value>> entries;
      for (const auto& [k, v] : msg.entries())
        entries.emplace_back(k, (k.is_string() && k.as_string() == "content") ? new_content : v);
      out.push_back(value::make_dict_any(std::move(entries)));
    }
    return value::make_list(std::move(out));
  }

 private:
  jinja::jinja_template tmpl_;
  chat_template_caps caps_;

  /// Renders one probe user message; true when `needle` shows up as plain text.
  [[nodiscard]] bool probe_renders(const jinja::value& content, std::string_view needle,
                                   const jinja::limits& lim) const {
    using jinja::value;
    jinja::variables vars;
    vars.reserve(6);
    vars.emplace_back("messages",
                      value::make_list({value::make_dict({{"role", "user"}, {"content", content}})}));
    vars.emplace_back("tools", value());
    vars.emplace_back("documents", value());
    vars.emplace_back("add_generation_prompt", value(false));
    // Special tokens as empty strings: many templates concatenate them unconditionally.
    vars.emplace_back("bos_token", value(""));
    vars.emplace_back("eos_token", value(""));
    jinja::render_options ro;
    ro.now = jinja::date_time{2025, 1, 1, 0, 0, 0};
    ro.limits = lim;
    auto out = tmpl_.render(vars, ro);
    if (!out) return false;
    if (out->find(needle) == std::string::npos) return false;
    // A Python repr or JSON dump of the part list is not "rendering typed content".
    return out->find("'type': 'text'") == std::string::npos &&
           out->find("\"type\": \"text\"") == std::string::npos;
  }

  [[nodiscard]] chat_template_caps probe(const jinja::limits& lim) const {
    using jinja::value;
    static constexpr std::string_view needle = "<mmllm probe 7f3a>";
    chat_template_caps c;
    c.renders_string_content = probe_renders(value(needle), needle, lim);
    c.renders_typed_content = probe_renders(
        value::make_list({value::make_dict({{"type", "text"}, {"text", needle}})}), needle, lim);
    return c;
  }
};

}  // namespace mmllm
