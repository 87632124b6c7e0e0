// mmllm/tokenize/jinja_parser.hpp — recursive-descent parser from jinja_lexer tokens to the
// jinja_ast tree, following Jinja2's grammar and operator precedence:
//   cond (a if b else c) < or < and < not < comparisons (==, !=, <, <=, >, >=, in, not in;
//   chained) < + - < ~ < * / // % < ** (left-associative, as in Jinja) < unary - +
//   < postfix (.attr, [item], [a:b:c], call) and filters / tests (| f, is t).
// Statements: if/elif/else, for (tuple targets, `if` filter, recursive, else), set (also
// `ns.attr` and block set with filters), macro, call blocks, filter blocks, with,
// break/continue, raw (in the lexer), block (rendered in place) and the transformers
// `{% generation %}` no-op. Nesting depth is capped (`max_nesting`) so hostile input cannot
// exhaust the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_ast.hpp"
#include "mmllm/tokenize/jinja_lexer.hpp"

namespace mmllm::jinja::detail {

class parser {
 public:
  parser(const std::vector<token>& toks, std::size_t max_nesting, std::size_t max_stack_bytes = 2u << 20)
      : t_(toks), max_nesting_(max_nesting), max_stack_(max_stack_bytes) {}

  /// Parses the whole token stream into `out`; false with `err` on a syntax error.
  bool parse(stmt_list& out, syntax_error& err) {
    stack_base_ = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    std::string_view end;
    const bool ok = subparse(out, {}, end);
    if (!ok || failed_) {
      err = err_;
      return false;
    }
    return true;
  }

 private:
  const std::vector<token>& t_;
  std::size_t i_ = 0;
  std::size_t max_nesting_;
  std::size_t max_stack_;
  std::uintptr_t stack_base_ = 0;
  std::size_t depth_ = 0;
  int loop_depth_ = 0;
  bool failed_ = false;
  syntax_error err_;
  std::vector<std::pair<std::string, std::uint32_t>> tag_stack_;  // open block tags

  // --- token helpers ----------------------------------------------------------------------
  [[nodiscard]] const token& cur() const { return t_[i_]; }
  [[nodiscard]] const token& look(std::size_t k = 1) const {
    return i_ + k < t_.size() ? t_[i_ + k] : t_.back();
  }
  void next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  [[nodiscard]] bool is_op(op_type o) const { return cur().type == token_type::op && cur().op == o; }
  [[nodiscard]] bool is_name(std::string_view n) const {
    return cur().type == token_type::name && cur().text == n;
  }
  bool skip_op(op_type o) {
    if (!is_op(o)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }

  static std::string describe(const token& t) {
    switch (t.type) {
      case token_type::data: return "template data";
      case token_type::block_begin: return "begin of statement block";
      case token_type::block_end: return "end of statement block";
      case token_type::variable_begin: return "begin of print statement";
      case token_type::variable_end: return "end of print statement";
      case token_type::name: return "'" + t.text + "'";
      case token_type::string: return "string";
      case token_type::integer: return "integer";
      case token_type::floating: return "float";
      case token_type::op: return std::string("'").append(op_text(t.op)) + "'";
      case token_type::eof: return "end of template";
    }
    return "token";
  }

  std::nullptr_t fail(std::uint32_t pos, std::string msg) {
    if (!failed_) {
      failed_ = true;
      err_.pos = pos;
      err_.message = std::move(msg);
    }
    return nullptr;
  }
  std::nullptr_t fail_here(std::string msg) { return fail(cur().pos, std::move(msg)); }

  bool expect_op(op_type o) {
    if (skip_op(o)) return true;
    fail_here(std::string("expected '").append(op_text(o)) + std::string("', got ").append(describe(cur())));
    return false;
  }
  bool expect_type(token_type ty, std::string_view what) {
    if (cur().type == ty) {
      next();
      return true;
    }
    if (cur().type == token_type::eof)
      fail_here(std::string("unexpected end of template, expected ").append(what));
    else
      fail_here(std::string("expected ").append(what) + std::string(", got ").append(describe(cur())));
    return false;
  }
  bool expect_block_end() { return expect_type(token_type::block_end, "end of statement block '%}'"); }
  bool expect_name_token(std::string& out) {
    if (cur().type != token_type::name) {
      fail_here(std::string("expected a name, got ").append(describe(cur())));
      return false;
    }
    out = cur().text;
    next();
    return true;
  }

  struct depth_guard {
    parser& p;
    bool ok;
    explicit depth_guard(parser& pp) : p(pp), ok(++pp.depth_ <= pp.max_nesting_) {
      if (!ok) {
        p.fail_here(
            std::string("template nesting exceeds the limit of ").append(std::to_string(p.max_nesting_)) +
            " levels");
      } else {
        const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        const std::uintptr_t used = p.stack_base_ > here ? p.stack_base_ - here : here - p.stack_base_;
        if (used > p.max_stack_) {
          ok = false;
          p.fail_here(std::string("template nesting needs more than ").append(std::to_string(p.max_stack_)) +
                      " bytes of stack");
        }
      }
    }
    ~depth_guard() { --p.depth_; }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
  };

  static expr_ptr make(expr_kind k, std::uint32_t pos) {
    auto e = std::make_unique<expr>();
    e->kind = k;
    e->pos = pos;
    return e;
  }

  /// Sets the height of a finished node; chains like a+b+c+... or x|f|f|... grow the tree
  /// without nesting in the source, so height is limited separately (null when too deep).
  expr_ptr finish(expr_ptr e) {
    if (!e) return e;
    std::uint32_t h = 0;
    auto upd = [&](const expr_ptr& c) {
      if (c && c->height > h) h = c->height;
    };
    upd(e->a);
    upd(e->b);
    upd(e->c);
    for (const auto& x : e->items) upd(x);
    for (const auto& x : e->args.positional) upd(x);
    for (const auto& x : e->args.keyword) upd(x.second);
    upd(e->args.star);
    upd(e->args.star_star);
    e->height = h + 1;
    if (e->height > max_nesting_)
      return fail(e->pos, std::string("expression nested deeper than ").append(std::to_string(max_nesting_)) +
                              " levels");
    return e;
  }

  // --- template structure ------------------------------------------------------------------
  std::string eof_message(std::initializer_list<std::string_view> end_tags) const {
    std::string m = "unexpected end of template.";
    if (end_tags.size() != 0) {
      m += " Jinja was looking for the following tags: ";
      bool first = true;
      for (auto e : end_tags) {
        if (!first) m += " or ";
        first = false;
        m += std::string("'").append(e) + "'";
      }
      m += ".";
    }
    if (!tag_stack_.empty())
      m += " The innermost block that needs to be closed is '" + tag_stack_.back().first + "'.";
    return m;
  }

  /// Parses statements until one of `end_tags` (left as the current token) or eof.
  bool subparse(stmt_list& out, std::initializer_list<std::string_view> end_tags, std::string_view& found) {
    depth_guard g(*this);
    if (!g.ok) return false;
    while (!failed_) {
      const token& tk = cur();
      if (tk.type == token_type::eof) {
        if (end_tags.size() != 0) {
          fail_here(eof_message(end_tags));
          return false;
        }
        return true;
      }
      if (tk.type == token_type::data) {
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::text;
        s->pos = tk.pos;
        s->text = tk.text;
        out.push_back(std::move(s));
        next();
        continue;
      }
      if (tk.type == token_type::variable_begin) {
        const std::uint32_t pos = tk.pos;
        next();
        auto e = parse_tuple(true, {}, false, false);
        if (!e) return false;
        if (!expect_type(token_type::variable_end, "end of print statement '}}'")) return false;
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::print;
        s->pos = pos;
        s->e = std::move(e);
        out.push_back(std::move(s));
        continue;
      }
      if (tk.type == token_type::block_begin) {
        next();
        if (cur().type == token_type::name) {
          for (auto e : end_tags)
            if (cur().text == e) {
              found = e;
              return true;
            }
        }
        auto s = parse_statement();
        if (!s) return false;
        out.push_back(std::move(s));
        if (!expect_block_end()) return false;
        continue;
      }
      fail_here(std::string("unexpected ").append(describe(tk)));
      return false;
    }
    return false;
  }

  /// `%}` then statements up to an end tag; the found end tag name is consumed.
  bool parse_body(stmt_list& out, std::initializer_list<std::string_view> end_tags, std::string_view& found) {
    skip_op(op_type::colon);
    if (!expect_block_end()) return false;
    if (!subparse(out, end_tags, found)) return false;
    next();  // the end tag name
    return !failed_;
  }

  stmt_ptr new_stmt(stmt_kind k, std::uint32_t pos) {
    auto s = std::make_unique<stmt>();
    s->kind = k;
    s->pos = pos;
    return s;
  }

  stmt_ptr parse_statement() {
    const token& tk = cur();
    if (tk.type != token_type::name) return fail_here("tag name expected");
    const std::string tag = tk.text;
    const std::uint32_t pos = tk.pos;
    tag_stack_.emplace_back(tag, pos);
    stmt_ptr r;
    if (tag == "if")
      r = parse_if();
    else if (tag == "for")
      r = parse_for();
    else if (tag == "set")
      r = parse_set();
    else if (tag == "macro")
      r = parse_macro();
    else if (tag == "call")
      r = parse_call_block();
    else if (tag == "filter")
      r = parse_filter_block();
    else if (tag == "with")
      r = parse_with();
    else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) {
        tag_stack_.pop_back();
        return fail_here("'" + tag + "' outside of a loop");
      }
      next();
      r = new_stmt(tag == "break" ? stmt_kind::break_ : stmt_kind::continue_, pos);
    } else if (tag == "block")
      r = parse_block();
    else if (tag == "generation")
      r = parse_simple_scope("endgeneration");
    else if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" ||
             tag == "autoescape") {
      tag_stack_.pop_back();
      return fail_here("the '" + tag + "' tag is not supported (templates are self-contained)");
    } else {
      tag_stack_.pop_back();
      std::string m = "encountered unknown tag '" + tag + "'.";
      if (!tag_stack_.empty())
        m += " The innermost block that needs to be closed is '" + tag_stack_.back().first + "'.";
      return fail(pos, m);
    }
    tag_stack_.pop_back();
    return r;
  }

  stmt_ptr parse_if() {
    auto root = new_stmt(stmt_kind::if_, cur().pos);
    next();
    root->e = parse_tuple(false, {}, false, false);
    if (!root->e) return nullptr;
    std::string_view found;
    if (!parse_body(root->body, {"elif", "else", "endif"}, found)) return nullptr;
    // elif branches are kept flat (a long elif chain must not nest the tree)
    while (found == "elif") {
      expr_ptr cond = parse_tuple(false, {}, false, false);
      if (!cond) return nullptr;
      stmt_list body;
      if (!parse_body(body, {"elif", "else", "endif"}, found)) return nullptr;
      root->elifs.emplace_back(std::move(cond), std::move(body));
    }
    if (found == "else") {
      std::string_view f2;
      if (!parse_body(root->else_body, {"endif"}, f2)) return nullptr;
    }
    return root;
  }

  stmt_ptr parse_for() {
    auto s = new_stmt(stmt_kind::for_, cur().pos);
    next();
    if (!parse_assign_target(s->target, true, false, {"in"})) return nullptr;
    if (!skip_name("in")) return fail_here(std::string("expected 'in', got ").append(describe(cur())));
    s->e = parse_tuple(false, {"recursive"}, false, false);
    if (!s->e) return nullptr;
    if (skip_name("if")) {
      s->cond = parse_expression(true);
      if (!s->cond) return nullptr;
    }
    s->recursive = skip_name("recursive");
    std::string_view found;
    ++loop_depth_;
    const bool ok = parse_body(s->body, {"endfor", "else"}, found);
    --loop_depth_;
    if (!ok) return nullptr;
    if (found == "else") {
      std::string_view f2;
      if (!parse_body(s->else_body, {"endfor"}, f2)) return nullptr;
    }
    return s;
  }

  stmt_ptr parse_set() {
    const std::uint32_t pos = cur().pos;
    next();
    assign_target target;
    if (!parse_assign_target(target, true, true, {})) return nullptr;
    if (skip_op(op_type::assign)) {
      auto s = new_stmt(stmt_kind::set, pos);
      s->target = std::move(target);
      s->e = parse_tuple(true, {}, false, false);
      if (!s->e) return nullptr;
      return s;
    }
    auto s = new_stmt(stmt_kind::set_block, pos);
    s->target = std::move(target);
    if (is_op(op_type::pipe)) {
      s->e = parse_filter(nullptr, false);
      if (!s->e) return nullptr;
    }
    std::string_view found;
    if (!parse_body(s->body, {"endset"}, found)) return nullptr;
    return s;
  }

  bool parse_signature(macro_def& m) {
    if (!expect_op(op_type::lparen)) return false;
    while (!is_op(op_type::rparen)) {
      if (!m.params.empty() && !expect_op(op_type::comma)) return false;
      std::string name;
      if (!expect_name_token(name)) return false;
      if (skip_op(op_type::assign)) {
        auto d = parse_expression(true);
        if (!d) return false;
        m.defaults.push_back(std::move(d));
      } else if (!m.defaults.empty()) {
        fail_here("non-default argument follows default argument");
        return false;
      }
      m.params.push_back(std::move(name));
    }
    return expect_op(op_type::rparen);
  }

  static void collect_names(const expr* e, std::vector<std::string>& out) {
    if (e == nullptr) return;
    if (e->kind == expr_kind::name) out.push_back(e->name);
    collect_names(e->a.get(), out);
    collect_names(e->b.get(), out);
    collect_names(e->c.get(), out);
    for (const auto& x : e->items) collect_names(x.get(), out);
    for (const auto& x : e->args.positional) collect_names(x.get(), out);
    for (const auto& x : e->args.keyword) collect_names(x.second.get(), out);
    collect_names(e->args.star.get(), out);
    collect_names(e->args.star_star.get(), out);
  }
  static void collect_names(const stmt_list& body, std::vector<std::string>& out) {
    for (const auto& s : body) {
      collect_names(s->e.get(), out);
      collect_names(s->cond.get(), out);
      collect_names(s->body, out);
      collect_names(s->else_body, out);
      for (const auto& [c, b] : s->elifs) {
        collect_names(c.get(), out);
        collect_names(b, out);
      }
      for (const auto& w : s->with_vars) collect_names(w.second.get(), out);
      if (s->macro) {
        for (const auto& d : s->macro->defaults) collect_names(d.get(), out);
        if (s->kind == stmt_kind::call_block) collect_names(s->macro->body, out);
      }
    }
  }
  static void mark_special_names(macro_def& m) {
    std::vector<std::string> names;
    collect_names(m.body, names);
    for (const auto& n : names) {
      if (n == "varargs") m.catch_varargs = true;
      if (n == "kwargs") m.catch_kwargs = true;
      if (n == "caller") m.uses_caller = true;
    }
  }

  stmt_ptr parse_macro() {
    auto s = new_stmt(stmt_kind::macro, cur().pos);
    next();
    s->macro = std::make_unique<macro_def>();
    if (!expect_name_token(s->macro->name)) return nullptr;
    if (!parse_signature(*s->macro)) return nullptr;
    const int saved = loop_depth_;
    loop_depth_ = 0;
    std::string_view found;
    const bool ok = parse_body(s->macro->body, {"endmacro"}, found);
    loop_depth_ = saved;
    if (!ok) return nullptr;
    mark_special_names(*s->macro);
    return s;
  }

  stmt_ptr parse_call_block() {
    auto s = new_stmt(stmt_kind::call_block, cur().pos);
    next();
    s->macro = std::make_unique<macro_def>();
    s->macro->name = "caller";
    if (is_op(op_type::lparen) && !parse_signature(*s->macro)) return nullptr;
    s->e = parse_expression(true);
    if (!s->e) return nullptr;
    if (s->e->kind != expr_kind::call) return fail(s->e->pos, "expected call");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    std::string_view found;
    const bool ok = parse_body(s->macro->body, {"endcall"}, found);
    loop_depth_ = saved;
    if (!ok) return nullptr;
    mark_special_names(*s->macro);
    return s;
  }

  stmt_ptr parse_filter_block() {
    auto s = new_stmt(stmt_kind::filter_block, cur().pos);
    next();
    s->e = parse_filter(nullptr, true);
    if (!s->e) return nullptr;
    std::string_view found;
    if (!parse_body(s->body, {"endfilter"}, found)) return nullptr;
    return s;
  }

  stmt_ptr parse_with() {
    auto s = new_stmt(stmt_kind::with, cur().pos);
    next();
    while (cur().type != token_type::block_end) {
      if (!s->with_vars.empty() && !expect_op(op_type::comma)) return nullptr;
      assign_target t;
      if (!parse_assign_target(t, true, false, {})) return nullptr;
      if (!expect_op(op_type::assign)) return nullptr;
      auto v = parse_expression(true);
      if (!v) return nullptr;
      s->with_vars.emplace_back(std::move(t), std::move(v));
    }
    std::string_view found;
    if (!parse_body(s->body, {"endwith"}, found)) return nullptr;
    return s;
  }

  stmt_ptr parse_block() {
    auto s = new_stmt(stmt_kind::scope, cur().pos);
    next();
    std::string name;
    if (!expect_name_token(name)) return nullptr;
    skip_name("scoped");
    skip_name("required");
    std::string_view found;
    if (!parse_body(s->body, {"endblock"}, found)) return nullptr;
    skip_name(name);
    return s;
  }

  stmt_ptr parse_simple_scope(std::string_view end) {
    auto s = new_stmt(stmt_kind::scope, cur().pos);
    next();
    std::string_view found;
    if (!parse_body(s->body, {end}, found)) return nullptr;
    return s;
  }

  // --- assignment targets ------------------------------------------------------------------
  bool is_tuple_end(std::initializer_list<std::string_view> extra) const {
    const token& tk = cur();
    if (tk.type == token_type::variable_end || tk.type == token_type::block_end || tk.type == token_type::eof)
      return true;
    if (tk.type == token_type::op && tk.op == op_type::rparen) return true;
    if (tk.type == token_type::name)
      for (auto e : extra)
        if (tk.text == e) return true;
    return false;
  }

  bool to_target(const expr& e, assign_target& t) {
    t.pos = e.pos;
    if (e.kind == expr_kind::name) {
      if (e.name == "true" || e.name == "false" || e.name == "none" || e.name == "True" ||
          e.name == "False" || e.name == "None") {
        fail(e.pos, "cannot assign to '" + e.name + "'");
        return false;
      }
      t.kind = assign_target::type::name;
      t.name = e.name;
      return true;
    }
    if (e.kind == expr_kind::tuple) {
      t.kind = assign_target::type::tuple;
      for (const auto& it : e.items) {
        assign_target sub;
        if (!to_target(*it, sub)) return false;
        t.items.push_back(std::move(sub));
      }
      return true;
    }
    fail(e.pos, "cannot assign to this expression");
    return false;
  }

  bool parse_assign_target(assign_target& t, bool with_tuple, bool with_namespace,
                           std::initializer_list<std::string_view> extra_end) {
    if (with_namespace && cur().type == token_type::name && look().type == token_type::op &&
        look().op == op_type::dot && look(2).type == token_type::name) {
      t.kind = assign_target::type::attr;
      t.pos = cur().pos;
      t.name = cur().text;
      next();
      next();
      t.attr = cur().text;
      next();
      return true;
    }
    expr_ptr e;
    if (with_tuple) {
      e = parse_tuple(true, extra_end, false, true);
    } else {
      e = parse_primary();
    }
    if (!e) return false;
    return to_target(*e, t);
  }

  // --- expressions ---------------------------------------------------------------------------
  /// Comma-separated expressions; a tuple when there is a comma (or explicit parentheses
  /// around nothing). `simplified` parses primaries only (assignment targets).
  expr_ptr parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                       bool explicit_parens, bool simplified) {
    const std::uint32_t pos = cur().pos;
    std::vector<expr_ptr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty() && !expect_op(op_type::comma)) return nullptr;
      if (is_tuple_end(extra_end)) break;
      expr_ptr e = simplified ? parse_primary() : parse_expression(with_condexpr);
      if (!e) return nullptr;
      args.push_back(std::move(e));
      if (is_op(op_type::comma)) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parens)
        return fail_here(std::string("expected an expression, got ").append(describe(cur())));
    }
    auto t = make(expr_kind::tuple, pos);
    t->items = std::move(args);
    return finish(std::move(t));
  }

  expr_ptr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  expr_ptr parse_condexpr() {
    depth_guard g(*this);
    if (!g.ok) return nullptr;
    const std::uint32_t pos = cur().pos;
    expr_ptr e1 = parse_or();
    if (!e1) return nullptr;
    while (skip_name("if")) {
      expr_ptr e2 = parse_or();
      if (!e2) return nullptr;
      expr_ptr e3;
      if (skip_name("else")) {
        e3 = parse_condexpr();
        if (!e3) return nullptr;
      }
      auto c = make(expr_kind::cond, pos);
      c->a = std::move(e1);
      c->b = std::move(e2);
      c->c = std::move(e3);
      e1 = finish(std::move(c));
      if (!e1) return nullptr;
    }
    return e1;
  }

  expr_ptr parse_or() {
    expr_ptr left = parse_and();
    if (!left) return nullptr;
    while (is_name("or")) {
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr right = parse_and();
      if (!right) return nullptr;
      auto n = make(expr_kind::or_, pos);
      n->a = std::move(left);
      n->b = std::move(right);
      left = finish(std::move(n));
      if (!left) return nullptr;
    }
    return left;
  }

  expr_ptr parse_and() {
    expr_ptr left = parse_not();
    if (!left) return nullptr;
    while (is_name("and")) {
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr right = parse_not();
      if (!right) return nullptr;
      auto n = make(expr_kind::and_, pos);
      n->a = std::move(left);
      n->b = std::move(right);
      left = finish(std::move(n));
      if (!left) return nullptr;
    }
    return left;
  }

  expr_ptr parse_not() {
    if (is_name("not")) {
      depth_guard g(*this);
      if (!g.ok) return nullptr;
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr inner = parse_not();
      if (!inner) return nullptr;
      auto n = make(expr_kind::not_, pos);
      n->a = std::move(inner);
      return finish(std::move(n));
    }
    return parse_compare();
  }

  expr_ptr parse_compare() {
    const std::uint32_t pos = cur().pos;
    expr_ptr first = parse_math1();
    if (!first) return nullptr;
    expr_ptr node;
    while (true) {
      compare_op op{};
      if (is_op(op_type::eq))
        op = compare_op::eq;
      else if (is_op(op_type::ne))
        op = compare_op::ne;
      else if (is_op(op_type::lt))
        op = compare_op::lt;
      else if (is_op(op_type::le))
        op = compare_op::le;
      else if (is_op(op_type::gt))
        op = compare_op::gt;
      else if (is_op(op_type::ge))
        op = compare_op::ge;
      else if (is_name("in"))
        op = compare_op::in;
      else if (is_name("not") && look().type == token_type::name && look().text == "in") {
        op = compare_op::not_in;
        next();
      } else {
        break;
      }
      next();
      expr_ptr rhs = parse_math1();
      if (!rhs) return nullptr;
      if (!node) {
        node = make(expr_kind::compare, pos);
        node->a = std::move(first);
      }
      node->cmp.push_back(op);
      node->items.push_back(std::move(rhs));
    }
    return node ? finish(std::move(node)) : std::move(first);
  }

  expr_ptr binary(binary_op op, std::uint32_t pos, expr_ptr l, expr_ptr r) {
    auto n = make(expr_kind::binary, pos);
    n->bop = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return finish(std::move(n));
  }

  expr_ptr parse_math1() {
    expr_ptr left = parse_concat();
    if (!left) return nullptr;
    while (is_op(op_type::add) || is_op(op_type::sub)) {
      const auto op = cur().op == op_type::add ? binary_op::add : binary_op::sub;
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr right = parse_concat();
      if (!right) return nullptr;
      left = binary(op, pos, std::move(left), std::move(right));
      if (!left) return nullptr;
    }
    return left;
  }

  expr_ptr parse_concat() {
    const std::uint32_t pos = cur().pos;
    expr_ptr first = parse_math2();
    if (!first) return nullptr;
    if (!is_op(op_type::tilde)) return first;
    auto n = make(expr_kind::concat, pos);
    n->items.push_back(std::move(first));
    while (skip_op(op_type::tilde)) {
      expr_ptr e = parse_math2();
      if (!e) return nullptr;
      n->items.push_back(std::move(e));
    }
    return finish(std::move(n));
  }

  expr_ptr parse_math2() {
    expr_ptr left = parse_pow();
    if (!left) return nullptr;
    while (is_op(op_type::mul) || is_op(op_type::div) || is_op(op_type::floordiv) || is_op(op_type::mod)) {
      binary_op op = binary_op::mul;
      if (cur().op == op_type::div) op = binary_op::div;
      if (cur().op == op_type::floordiv) op = binary_op::floordiv;
      if (cur().op == op_type::mod) op = binary_op::mod;
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr right = parse_pow();
      if (!right) return nullptr;
      left = binary(op, pos, std::move(left), std::move(right));
      if (!left) return nullptr;
    }
    return left;
  }

  expr_ptr parse_pow() {
    expr_ptr left = parse_unary(true);
    if (!left) return nullptr;
    while (is_op(op_type::pow)) {
      const std::uint32_t pos = cur().pos;
      next();
      expr_ptr right = parse_unary(true);
      if (!right) return nullptr;
      left = binary(binary_op::pow, pos, std::move(left), std::move(right));
      if (!left) return nullptr;
    }
    return left;
  }

  expr_ptr parse_unary(bool with_filter) {
    depth_guard g(*this);
    if (!g.ok) return nullptr;
    const std::uint32_t pos = cur().pos;
    expr_ptr node;
    if (is_op(op_type::sub) || is_op(op_type::add)) {
      const bool neg = cur().op == op_type::sub;
      next();
      expr_ptr inner = parse_unary(false);
      if (!inner) return nullptr;
      node = make(neg ? expr_kind::neg : expr_kind::pos, pos);
      node->a = std::move(inner);
      node = finish(std::move(node));
      if (!node) return nullptr;
    } else {
      node = parse_primary();
      if (!node) return nullptr;
    }
    node = parse_postfix(std::move(node));
    if (node && with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  expr_ptr parse_primary() {
    depth_guard g(*this);
    if (!g.ok) return nullptr;
    const token& tk = cur();
    const std::uint32_t pos = tk.pos;
    switch (tk.type) {
      case token_type::name: {
        auto e = make(expr_kind::literal, pos);
        if (tk.text == "true" || tk.text == "True")
          e->lit = value(true);
        else if (tk.text == "false" || tk.text == "False")
          e->lit = value(false);
        else if (tk.text == "none" || tk.text == "None")
          e->lit = value();
        else {
          e->kind = expr_kind::name;
          e->name = tk.text;
        }
        next();
        return e;
      }
      case token_type::string: {
        std::string s = tk.text;
        next();
        while (cur().type == token_type::string) {
          s += cur().text;
          next();
        }
        auto e = make(expr_kind::literal, pos);
        e->lit = value(std::move(s));
        return e;
      }
      case token_type::integer: {
        auto e = make(expr_kind::literal, pos);
        e->lit = value(tk.ival);
        next();
        return e;
      }
      case token_type::floating: {
        auto e = make(expr_kind::literal, pos);
        e->lit = value(tk.fval);
        next();
        return e;
      }
      case token_type::op:
        if (tk.op == op_type::lparen) {
          next();
          expr_ptr e = parse_tuple(true, {}, true, false);
          if (!e) return nullptr;
          if (!expect_op(op_type::rparen)) return nullptr;
          return e;
        }
        if (tk.op == op_type::lbracket) return parse_list();
        if (tk.op == op_type::lbrace) return parse_dict();
        break;
      default: break;
    }
    if (tk.type == token_type::eof) return fail_here("unexpected end of template");
    return fail_here(std::string("unexpected ").append(describe(tk)));
  }

  expr_ptr parse_list() {
    auto e = make(expr_kind::list, cur().pos);
    next();
    while (!is_op(op_type::rbracket)) {
      if (!e->items.empty() && !expect_op(op_type::comma)) return nullptr;
      if (is_op(op_type::rbracket)) break;
      expr_ptr it = parse_expression(true);
      if (!it) return nullptr;
      e->items.push_back(std::move(it));
    }
    if (!expect_op(op_type::rbracket)) return nullptr;
    return finish(std::move(e));
  }

  expr_ptr parse_dict() {
    auto e = make(expr_kind::dict, cur().pos);
    next();
    while (!is_op(op_type::rbrace)) {
      if (!e->items.empty() && !expect_op(op_type::comma)) return nullptr;
      if (is_op(op_type::rbrace)) break;
      expr_ptr k = parse_expression(true);
      if (!k) return nullptr;
      if (!expect_op(op_type::colon)) return nullptr;
      expr_ptr v = parse_expression(true);
      if (!v) return nullptr;
      e->items.push_back(std::move(k));
      e->items.push_back(std::move(v));
    }
    if (!expect_op(op_type::rbrace)) return nullptr;
    return finish(std::move(e));
  }

  expr_ptr parse_postfix(expr_ptr node) {
    while (node) {
      if (is_op(op_type::dot) || is_op(op_type::lbracket)) {
        node = parse_subscript(std::move(node));
      } else if (is_op(op_type::lparen)) {
        node = parse_call(std::move(node));
      } else {
        break;
      }
    }
    return node;
  }

  expr_ptr parse_filter_expr(expr_ptr node) {
    while (node) {
      if (is_op(op_type::pipe)) {
        node = parse_filter(std::move(node), false);
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op(op_type::lparen)) {
        node = parse_call(std::move(node));
      } else {
        break;
      }
    }
    return node;
  }

  expr_ptr parse_subscript(expr_ptr node) {
    const std::uint32_t pos = cur().pos;
    if (skip_op(op_type::dot)) {
      const token& at = cur();
      if (at.type == token_type::name) {
        auto e = make(expr_kind::getattr, pos);
        e->a = std::move(node);
        e->name = at.text;
        next();
        return finish(std::move(e));
      }
      if (at.type == token_type::integer) {
        auto e = make(expr_kind::getitem, pos);
        e->a = std::move(node);
        e->b = make(expr_kind::literal, at.pos);
        e->b->lit = value(at.ival);
        next();
        return finish(std::move(e));
      }
      return fail_here("expected name or number after '.'");
    }
    next();  // '['
    std::vector<expr_ptr> args;
    while (!is_op(op_type::rbracket)) {
      if (!args.empty() && !expect_op(op_type::comma)) return nullptr;
      expr_ptr a = parse_subscribed();
      if (!a) return nullptr;
      args.push_back(std::move(a));
    }
    if (!expect_op(op_type::rbracket)) return nullptr;
    if (args.empty()) return fail(pos, "expected a subscript");
    if (args.size() == 1 && args[0]->kind == expr_kind::slice) {
      args[0]->a = std::move(node);
      args[0]->pos = pos;
      return finish(std::move(args[0]));
    }
    auto e = make(expr_kind::getitem, pos);
    e->a = std::move(node);
    if (args.size() == 1) {
      e->b = std::move(args[0]);
    } else {
      for (const auto& a : args)
        if (a->kind == expr_kind::slice)
          return fail(a->pos, "slices inside tuple subscripts are not supported");
      e->b = make(expr_kind::tuple, pos);
      e->b->items = std::move(args);
      e->b = finish(std::move(e->b));
      if (!e->b) return nullptr;
    }
    return finish(std::move(e));
  }

  expr_ptr parse_subscribed() {
    const std::uint32_t pos = cur().pos;
    std::vector<expr_ptr> parts;
    if (is_op(op_type::colon)) {
      next();
      parts.push_back(nullptr);
    } else {
      expr_ptr e = parse_expression(true);
      if (!e) return nullptr;
      if (!is_op(op_type::colon)) return e;
      next();
      parts.push_back(std::move(e));
    }
    if (!is_op(op_type::colon) && !is_op(op_type::rbracket) && !is_op(op_type::comma)) {
      expr_ptr e = parse_expression(true);
      if (!e) return nullptr;
      parts.push_back(std::move(e));
    } else {
      parts.push_back(nullptr);  // no stop
    }
    if (is_op(op_type::colon)) {
      next();
      if (!is_op(op_type::rbracket) && !is_op(op_type::comma)) {
        expr_ptr e = parse_expression(true);
        if (!e) return nullptr;
        parts.push_back(std::move(e));
      } else {
        parts.push_back(nullptr);
      }
    } else {
      parts.push_back(nullptr);
    }
    auto s = make(expr_kind::slice, pos);
    s->items = std::move(parts);
    return s;
  }

  bool parse_call_args(call_args& out) {
    const std::uint32_t pos = cur().pos;
    if (!expect_op(op_type::lparen)) return false;
    bool require_comma = false;
    auto bad = [&]() {
      fail(pos, "invalid syntax for function call expression");
      return false;
    };
    while (!is_op(op_type::rparen)) {
      if (require_comma) {
        if (!expect_op(op_type::comma)) return false;
        if (is_op(op_type::rparen)) break;
      }
      if (is_op(op_type::mul)) {
        if (out.star || out.star_star) return bad();
        next();
        out.star = parse_expression(true);
        if (!out.star) return false;
      } else if (is_op(op_type::pow)) {
        if (out.star_star) return bad();
        next();
        out.star_star = parse_expression(true);
        if (!out.star_star) return false;
      } else if (cur().type == token_type::name && look().type == token_type::op &&
                 look().op == op_type::assign) {
        if (out.star_star) return bad();
        std::string key = cur().text;
        next();
        next();
        expr_ptr v = parse_expression(true);
        if (!v) return false;
        out.keyword.emplace_back(std::move(key), std::move(v));
      } else {
        if (out.star || out.star_star || !out.keyword.empty()) return bad();
        expr_ptr v = parse_expression(true);
        if (!v) return false;
        out.positional.push_back(std::move(v));
      }
      require_comma = true;
    }
    return expect_op(op_type::rparen);
  }

  expr_ptr parse_call(expr_ptr node) {
    auto e = make(expr_kind::call, cur().pos);
    e->a = std::move(node);
    if (!parse_call_args(e->args)) return nullptr;
    return finish(std::move(e));
  }

  expr_ptr parse_filter(expr_ptr node, bool start_inline) {
    while (is_op(op_type::pipe) || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      auto e = make(expr_kind::filter, cur().pos);
      if (!expect_name_token(e->name)) return nullptr;
      while (is_op(op_type::dot)) {
        next();
        std::string part;
        if (!expect_name_token(part)) return nullptr;
        e->name += "." + part;
      }
      if (is_op(op_type::lparen) && !parse_call_args(e->args)) return nullptr;
      e->a = std::move(node);
      node = finish(std::move(e));
      if (!node) return nullptr;
    }
    return node;
  }

  expr_ptr parse_test(expr_ptr node) {
    const std::uint32_t pos = cur().pos;
    next();  // 'is'
    const bool negated = skip_name("not");
    auto e = make(expr_kind::test, pos);
    if (!expect_name_token(e->name)) return nullptr;
    while (is_op(op_type::dot)) {
      next();
      std::string part;
      if (!expect_name_token(part)) return nullptr;
      e->name += "." + part;
    }
    if (is_op(op_type::lparen)) {
      if (!parse_call_args(e->args)) return nullptr;
    } else {
      const token& tk = cur();
      const bool starts_arg =
          tk.type == token_type::name || tk.type == token_type::string || tk.type == token_type::integer ||
          tk.type == token_type::floating ||
          (tk.type == token_type::op && (tk.op == op_type::lbracket || tk.op == op_type::lbrace));
      if (starts_arg && !is_name("else") && !is_name("or") && !is_name("and")) {
        if (is_name("is")) return fail_here("you cannot chain multiple tests with is");
        expr_ptr arg = parse_primary();
        if (!arg) return nullptr;
        arg = parse_postfix(std::move(arg));
        if (!arg) return nullptr;
        e->args.positional.push_back(std::move(arg));
      }
    }
    e->a = std::move(node);
    e = finish(std::move(e));
    if (!e || !negated) return e;
    auto n = make(expr_kind::not_, pos);
    n->a = std::move(e);
    return finish(std::move(n));
  }
};

}  // namespace mmllm::jinja::detail
