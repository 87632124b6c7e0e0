// mmllm/tokenize/jinja_template.hpp — a parsed Jinja template (`mmllm::jinja::jinja_template`):
// parse once, render many times, from any number of threads.
//
//   auto t = mmllm::jinja::jinja_template::parse("Hello {{ name | upper }}!");
//   if (!t) return t.error();
//   auto text = t->render({{"name", "world"}});   // "Hello WORLD!"
//
// Rendering follows Python Jinja2 3.1 as Hugging Face transformers configures it for chat
// templates: trim_blocks, lstrip_blocks, no trailing newline, loopcontrols, a sandbox that
// blocks list/dict mutation, transformers' tojson, raise_exception() and strftime_now().
// Errors are reported, never thrown, as "<name>:<line>:<column>: <Python exception>: <text>",
// e.g. "chat_template:12:34: TypeError: can only concatenate str (not \"list\") to str";
// syntax errors use errc::malformed, errors raised while rendering errc::invalid_argument,
// and exceeded limits errc::resource_limit.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/tokenize/jinja_ast.hpp"
#include "mmllm/tokenize/jinja_builtins.hpp"
#include "mmllm/tokenize/jinja_eval.hpp"
#include "mmllm/tokenize/jinja_lexer.hpp"
#include "mmllm/tokenize/jinja_parser.hpp"
#include "mmllm/tokenize/jinja_runtime.hpp"
#include "mmllm/tokenize/jinja_value.hpp"

namespace mmllm::jinja {

/// How a template is parsed (defaults: Hugging Face's settings).
struct parse_options {
  std::string name = "template";  ///< used in error messages
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
  std::size_t max_nesting = limits{}.max_nesting;
  std::size_t max_stack_bytes = limits{}.max_stack_bytes;  ///< see limits::max_stack_bytes
};

/// Per-render settings.
struct render_options {
  jinja::limits limits;
  /// What strftime_now() formats; the current local time when empty.
  std::optional<date_time> now;
};

/// Variables a template is rendered with, in order (later entries win).
using variables = std::vector<std::pair<std::string, value>>;

/// The current local time (for strftime_now).
inline date_time local_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
#if defined(_WIN32)
  localtime_s(&tm, &t);
#else
  localtime_r(&t, &tm);
#endif
  return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

namespace detail {

struct program {
  std::string name;
  source_map source;
  stmt_list body;
};

inline std::string located(const program& p, std::uint32_t pos, std::string_view msg) {
  const auto [line, col] = p.source.line_col(pos);
  std::string s = p.name;
  s += ':';
  s += std::to_string(line);
  s += ':';
  s += std::to_string(col);
  s += ": ";
  s += msg;
  return s;
}

/// Resolves filter and test names to builtin table indices; unknown names are errors (as
/// they are when Jinja2 compiles a template).
inline bool resolve_builtins(expr* e, syntax_error& err) {
  if (e == nullptr) return true;
  if (e->kind == expr_kind::filter) {
    e->builtin = find_filter(e->name);
    if (e->builtin < 0) {
      err = {e->pos, "no filter named '" + e->name + "'"};
      return false;
    }
  } else if (e->kind == expr_kind::test) {
    e->builtin = find_test(e->name);
    if (e->builtin < 0) {
      err = {e->pos, "no test named '" + e->name + "'"};
      return false;
    }
  }
  if (!resolve_builtins(e->a.get(), err) || !resolve_builtins(e->b.get(), err) ||
      !resolve_builtins(e->c.get(), err))
    return false;
  for (auto& x : e->items)
    if (!resolve_builtins(x.get(), err)) return false;
  for (auto& x : e->args.positional)
    if (!resolve_builtins(x.get(), err)) return false;
  for (auto& x : e->args.keyword)
    if (!resolve_builtins(x.second.get(), err)) return false;
  return resolve_builtins(e->args.star.get(), err) && resolve_builtins(e->args.star_star.get(), err);
}

inline bool resolve_builtins(stmt_list& body, syntax_error& err) {
  for (auto& s : body) {
    if (!resolve_builtins(s->e.get(), err) || !resolve_builtins(s->cond.get(), err)) return false;
    if (!resolve_builtins(s->body, err) || !resolve_builtins(s->else_body, err)) return false;
    for (auto& [c, b] : s->elifs)
      if (!resolve_builtins(c.get(), err) || !resolve_builtins(b, err)) return false;
    for (auto& w : s->with_vars)
      if (!resolve_builtins(w.second.get(), err)) return false;
    if (s->macro) {
      for (auto& d : s->macro->defaults)
        if (!resolve_builtins(d.get(), err)) return false;
      if (!resolve_builtins(s->macro->body, err)) return false;
    }
  }
  return true;
}

}  // namespace detail

/// A parsed template; cheap to copy (the tree is shared and immutable).
class jinja_template {
 public:
  /// Parses `source`; a syntax error names line and column.
  static result<jinja_template> parse(std::string_view source, const parse_options& opt = {}) {
    auto prog = std::make_shared<detail::program>();
    prog->name = opt.name;
    prog->source = detail::source_map(detail::normalize_source(source, opt.keep_trailing_newline));
    std::vector<detail::token> tokens;
    detail::syntax_error err;
    detail::lexer_options lo;
    lo.trim_blocks = opt.trim_blocks;
    lo.lstrip_blocks = opt.lstrip_blocks;
    lo.keep_trailing_newline = opt.keep_trailing_newline;
    detail::lexer lx(prog->source.source(), lo);
    if (!lx.run(tokens, err))
      return make_error(errc::malformed, detail::located(*prog, err.pos, "syntax error: " + err.message));
    detail::parser ps(tokens, opt.max_nesting, opt.max_stack_bytes);
    if (!ps.parse(prog->body, err))
      return make_error(errc::malformed, detail::located(*prog, err.pos, "syntax error: " + err.message));
    if (!detail::resolve_builtins(prog->body, err))
      return make_error(errc::malformed, detail::located(*prog, err.pos, "syntax error: " + err.message));
    jinja_template t;
    t.prog_ = std::move(prog);
    return t;
  }

  /// Renders with the given variables.
  [[nodiscard]] result<std::string> render(const variables& vars, const render_options& opt = {}) const {
    if (!prog_) return make_error(errc::invalid_argument, "jinja: render() on an empty template");
    detail::render_state st(opt.limits);
    st.stack_base = detail::stack_position();
    st.now = opt.now ? *opt.now : local_now();
    auto ctx = std::make_shared<detail::scope>();
    for (const auto& [k, v] : vars) {
      if (v.depth() > opt.limits.max_value_depth)
        return make_error(errc::resource_limit, prog_->name + ": variable '" + k +
                                                    "' is nested deeper than " +
                                                    std::to_string(opt.limits.max_value_depth) + " levels");
      ctx->set(k, v);
    }
    auto root = std::make_shared<detail::scope>(ctx);
    std::string out;
    detail::interpreter in(st);
    const auto f = in.exec_body(prog_->body, root, out);
    if (st.failed || f == detail::flow::error) {
      const errc code = st.err_is_limit ? errc::resource_limit : errc::invalid_argument;
      return make_error(code, detail::located(*prog_, st.err_pos, st.err_msg));
    }
    return out;
  }

  [[nodiscard]] const std::string& name() const {
    static const std::string empty;
    return prog_ ? prog_->name : empty;
  }
  /// The source after newline normalisation (what line/column numbers refer to).
  [[nodiscard]] const std::string& source() const {
    static const std::string empty;
    return prog_ ? prog_->source.source() : empty;
  }

 private:
  std::shared_ptr<const detail::program> prog_;
};

}  // namespace mmllm::jinja
