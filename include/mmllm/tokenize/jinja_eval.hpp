// mmllm/tokenize/jinja_eval.hpp — the tree-walking interpreter of the Jinja engine.
//
// Semantics follow Jinja2 3.1: `{% set %}` inside a for loop or macro is local to that
// iteration / call (use namespace() to carry state out), `if` opens no scope, macros see the
// scope they were defined in (late binding, like Python closures), missing macro arguments are
// undefined, `caller()` works in call blocks, loops expose `loop.*` (index, index0,
// revindex, revindex0, first, last, length, previtem, nextitem, depth, cycle(), changed())
// and support `{% for ... if cond %}`, `else`, `recursive` and break/continue.
// Every node counts as a step against limits::max_steps; recursion is bounded by
// limits::max_eval_depth and limits::max_call_depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_ast.hpp"
#include "mmllm/tokenize/jinja_builtins.hpp"
#include "mmllm/tokenize/jinja_runtime.hpp"

namespace mmllm::jinja::detail {

enum class flow : std::uint8_t { normal, break_, continue_, error };

class interpreter {
 public:
  explicit interpreter(render_state& st) : st_(st) {}

  using scope_ptr = std::shared_ptr<scope>;

  flow exec_body(const stmt_list& body, const scope_ptr& sc, std::string& out) {
    for (const auto& s : body) {
      const flow f = exec(*s, sc, out);
      if (f != flow::normal) return f;
    }
    return flow::normal;
  }

  value eval(const expr& e, const scope_ptr& sc) {
    depth_guard g(st_, e.pos);
    if (!g.ok || !st_.step()) return {};
    return eval_inner(e, sc);
  }

 private:
  render_state& st_;

  struct depth_guard {
    render_state& st;
    bool ok;
    depth_guard(render_state& s, std::uint32_t pos) : st(s), ok(true) {
      if (++st.depth > st.lim.max_eval_depth) {
        st.cur_pos = pos;
        st.fail_limit(
            std::string("evaluation nested deeper than ").append(std::to_string(st.lim.max_eval_depth)) +
            " levels");
        ok = false;
      } else if (st.stack_base != 0 && stack_used(st.stack_base) > st.lim.max_stack_bytes) {
        st.cur_pos = pos;
        st.fail_limit(
            std::string("evaluation needs more than ").append(std::to_string(st.lim.max_stack_bytes)) +
            " bytes of stack");
        ok = false;
      }
    }
    ~depth_guard() { --st.depth; }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
  };

  // --- output ------------------------------------------------------------------------------------
  bool emit(std::string& out, std::string_view s) {
    if (!st_.charge_bytes(s.size())) return false;
    if (out.size() + s.size() > st_.lim.max_string_bytes) {
      st_.fail_limit(std::string("rendered text exceeds ").append(std::to_string(st_.lim.max_string_bytes)) +
                     " bytes");
      return false;
    }
    out.append(s);
    return true;
  }
  bool emit_value(std::string& out, const value& v) {
    if (v.is_string()) return emit(out, v.as_string());
    std::string s;
    if (!to_text(st_, v, s)) return false;
    return emit(out, s);
  }

  // --- names -----------------------------------------------------------------------------------------
  static value lookup(const scope_ptr& sc, std::string_view name) {
    if (const value* v = sc->find(name)) return *v;
    if (const builtin_function* f = find_global(name)) return value::from_object(f);
    return undefined_name(name);
  }

  // --- expressions ---------------------------------------------------------------------------------
  value eval_inner(const expr& e, const scope_ptr& sc) {
    switch (e.kind) {
      case expr_kind::literal: return e.lit;
      case expr_kind::name: return lookup(sc, e.name);
      case expr_kind::list:
      case expr_kind::tuple: {
        std::vector<value> items;
        items.reserve(e.items.size());
        for (const auto& it : e.items) {
          items.push_back(eval(*it, sc));
          if (st_.failed) return {};
        }
        st_.cur_pos = e.pos;
        return st_.list(std::move(items),
                        e.kind == expr_kind::list ? sequence_kind::list : sequence_kind::tuple);
      }
      case expr_kind::dict: {
        std::vector<std::pair<value, value>> entries;
        for (std::size_t i = 0; i + 1 < e.items.size(); i += 2) {
          value k = eval(*e.items[i], sc);
          if (st_.failed) return {};
          if (k.is_dict() || (k.is_sequence() && k.seq_kind() != sequence_kind::tuple)) {
            st_.cur_pos = e.items[i]->pos;
            return st_.type_error(std::string("unhashable type: '").append(type_name(k)) + "'");
          }
          value v = eval(*e.items[i + 1], sc);
          if (st_.failed) return {};
          entries.emplace_back(std::move(k), std::move(v));
        }
        st_.cur_pos = e.pos;
        return st_.dict(std::move(entries));
      }
      case expr_kind::getattr: {
        value obj = eval(*e.a, sc);
        if (st_.failed) return {};
        st_.cur_pos = e.pos;
        return get_attr(st_, obj, e.name);
      }
      case expr_kind::getitem: {
        value obj = eval(*e.a, sc);
        if (st_.failed) return {};
        value key = eval(*e.b, sc);
        if (st_.failed) return {};
        st_.cur_pos = e.pos;
        return get_item(st_, obj, key);
      }
      case expr_kind::slice: {
        value obj = eval(*e.a, sc);
        if (st_.failed) return {};
        std::array<value, 3> parts;
        for (std::size_t i = 0; i < 3; ++i) {
          if (e.items[i]) parts[i] = eval(*e.items[i], sc);
          if (st_.failed) return {};
        }
        st_.cur_pos = e.pos;
        return get_slice(st_, obj, parts[0], parts[1], parts[2]);
      }
      case expr_kind::call: return eval_call(e, sc, nullptr);
      case expr_kind::filter: {
        value subject;
        if (e.a) {
          subject = eval(*e.a, sc);
          if (st_.failed) return {};
        }
        return apply_filter(e, subject, sc);
      }
      case expr_kind::test: {
        value subject = eval(*e.a, sc);
        if (st_.failed) return {};
        arg_pack args;
        if (!eval_args(e.args, sc, args)) return {};
        st_.cur_pos = e.pos;
        return test_table()[static_cast<std::size_t>(e.builtin)].fn(st_, subject, args);
      }
      case expr_kind::neg:
      case expr_kind::pos: {
        value a = eval(*e.a, sc);
        if (st_.failed) return {};
        st_.cur_pos = e.pos;
        return e.kind == expr_kind::neg ? op_neg(st_, a) : op_pos(st_, a);
      }
      case expr_kind::not_: {
        value a = eval(*e.a, sc);
        if (st_.failed) return {};
        return value(!a.truthy());
      }
      case expr_kind::binary: {
        value a = eval(*e.a, sc);
        if (st_.failed) return {};
        value b = eval(*e.b, sc);
        if (st_.failed) return {};
        st_.cur_pos = e.pos;
        switch (e.bop) {
          case binary_op::add: return op_add(st_, a, b);
          case binary_op::sub: return op_sub(st_, a, b);
          case binary_op::mul: return op_mul(st_, a, b);
          case binary_op::div: return op_div(st_, a, b);
          case binary_op::floordiv: return op_floordiv(st_, a, b);
          case binary_op::mod:
            if (a.is_string()) return percent_format(st_, a, b);
            return op_mod(st_, a, b);
          case binary_op::pow: return op_pow(st_, a, b);
        }
        return {};
      }
      case expr_kind::and_: {
        value a = eval(*e.a, sc);
        if (st_.failed || !a.truthy()) return a;
        return eval(*e.b, sc);
      }
      case expr_kind::or_: {
        value a = eval(*e.a, sc);
        if (st_.failed || a.truthy()) return a;
        return eval(*e.b, sc);
      }
      case expr_kind::compare: {
        value left = eval(*e.a, sc);
        if (st_.failed) return {};
        for (std::size_t i = 0; i < e.cmp.size(); ++i) {
          value right = eval(*e.items[i], sc);
          if (st_.failed) return {};
          st_.cur_pos = e.items[i]->pos;
          bool r = false;
          if (!compare(e.cmp[i], left, right, r)) return {};
          if (!r) return value(false);
          left = std::move(right);
        }
        return value(true);
      }
      case expr_kind::concat: {
        std::string s;
        for (const auto& it : e.items) {
          value v = eval(*it, sc);
          if (st_.failed) return {};
          if (!to_text(st_, v, s)) return {};
          if (s.size() > st_.lim.max_string_bytes) return st_.fail_limit("concatenated string too long");
        }
        st_.cur_pos = e.pos;
        return st_.str(std::move(s));
      }
      case expr_kind::cond: {
        value c = eval(*e.b, sc);
        if (st_.failed) return {};
        if (c.truthy()) return eval(*e.a, sc);
        if (e.c) return eval(*e.c, sc);
        return value::undefined(
            "UndefinedError: the inline if-expression evaluated to false and no else section was defined.");
      }
    }
    return {};
  }

  bool compare(compare_op op, const value& a, const value& b, bool& r) {
    switch (op) {
      case compare_op::eq: r = values_equal(st_, a, b); return !st_.failed;
      case compare_op::ne: r = !values_equal(st_, a, b); return !st_.failed;
      case compare_op::in:
      case compare_op::not_in: {
        if (!contains(st_, b, a, r)) return false;
        if (op == compare_op::not_in) r = !r;
        return true;
      }
      default: break;
    }
    static constexpr std::array<std::string_view, 4> names = {"<", "<=", ">", ">="};
    const auto k = static_cast<std::size_t>(op) - static_cast<std::size_t>(compare_op::lt);
    int c = 0;
    if (!compare_order(st_, a, b, c, names[k])) return false;
    switch (op) {
      case compare_op::lt: r = c < 0; break;
      case compare_op::le: r = c <= 0; break;
      case compare_op::gt: r = c > 0; break;
      default: r = c >= 0; break;
    }
    return true;
  }

  bool eval_args(const call_args& ca, const scope_ptr& sc, arg_pack& out) {
    for (const auto& p : ca.positional) {
      out.positional.push_back(eval(*p, sc));
      if (st_.failed) return false;
    }
    if (ca.star) {
      value v = eval(*ca.star, sc);
      if (st_.failed) return false;
      value items;
      st_.cur_pos = ca.star->pos;
      if (!iterate(st_, v, items)) return false;
      out.positional.insert(out.positional.end(), items.items().begin(), items.items().end());
    }
    for (const auto& [k, p] : ca.keyword) {
      out.keyword.emplace_back(k, eval(*p, sc));
      if (st_.failed) return false;
    }
    if (ca.star_star) {
      value v = eval(*ca.star_star, sc);
      if (st_.failed) return false;
      if (!v.is_dict()) {
        st_.cur_pos = ca.star_star->pos;
        st_.type_error(std::string("argument after ** must be a mapping, not ").append(type_name(v)));
        return false;
      }
      for (const auto& [k, val] : v.entries()) {
        if (!k.is_string()) {
          st_.type_error("keywords must be strings");
          return false;
        }
        out.keyword.emplace_back(std::string(k.as_string()), val);
      }
    }
    return true;
  }

  value apply_filter(const expr& e, const value& subject, const scope_ptr& sc) {
    arg_pack args;
    if (!eval_args(e.args, sc, args)) return {};
    st_.cur_pos = e.pos;
    return filter_table()[static_cast<std::size_t>(e.builtin)].fn(st_, subject, args);
  }

  /// Applies a filter chain whose innermost subject is null (filter blocks, block sets).
  value apply_filter_chain(const expr& e, const value& subject, const scope_ptr& sc) {
    value inner = subject;
    if (e.a) {
      inner = apply_filter_chain(*e.a, subject, sc);
      if (st_.failed) return {};
    }
    return apply_filter(e, inner, sc);
  }

  value eval_call(const expr& e, const scope_ptr& sc, const value* caller) {
    const expr& callee_expr = *e.a;
    value callee;
    if (callee_expr.kind == expr_kind::getattr) {
      value obj = eval(*callee_expr.a, sc);
      if (st_.failed) return {};
      // Fast path: methods of str / dict / list without allocating a bound method.
      const std::string_view name = callee_expr.name;
      const bool str_m = obj.is_string() && is_str_method(name);
      const bool dict_m = obj.is_dict() && is_dict_method(name);
      const bool list_m = obj.is_sequence() &&
                          (obj.seq_kind() == sequence_kind::list || obj.seq_kind() == sequence_kind::tuple) &&
                          is_list_method(name) && (obj.seq_kind() == sequence_kind::list || name != "copy");
      if ((str_m || dict_m || list_m) && caller == nullptr) {
        arg_pack args;
        if (!eval_args(e.args, sc, args)) return {};
        st_.cur_pos = e.pos;
        if (str_m) return str_method(st_, obj, name, args);
        if (dict_m) return dict_method(st_, obj, name, args);
        return list_method(st_, obj, name, args);
      }
      st_.cur_pos = callee_expr.pos;
      callee = get_attr(st_, obj, name);
    } else {
      callee = eval(callee_expr, sc);
    }
    if (st_.failed) return {};
    arg_pack args;
    if (!eval_args(e.args, sc, args)) return {};
    if (caller != nullptr) args.keyword.emplace_back("caller", *caller);
    st_.cur_pos = e.pos;
    return call_value(callee, args);
  }

  value call_value(const value& callee, arg_pack& args) {
    if (callee.is_undefined()) return st_.raise_undefined(callee);
    if (!callee.is_object())
      return st_.type_error(std::string("'").append(type_name(callee)) + "' object is not callable");
    const object* o = callee.as_object();
    if (o->kind == object::type::macro) return call_macro(*static_cast<const macro_object*>(o), args);
    if (o->kind == object::type::loop) {
      const auto* l = static_cast<const loop_object*>(o);
      if (l->for_stmt == nullptr || !l->for_stmt->recursive)
        return st_.type_error("The loop must have the 'recursive' marker to be called recursively.");
      if (args.positional.size() != 1 || !args.keyword.empty())
        return st_.type_error("loop() takes exactly one argument");
      if (st_.call_depth >= st_.lim.max_call_depth)
        return st_.fail_limit(std::string("recursive loop calls nested deeper than ")
                                  .append(std::to_string(st_.lim.max_call_depth)) +
                              " levels");
      ++st_.call_depth;
      std::string out;
      const std::uint32_t pos = st_.cur_pos;
      const flow f = exec_for(*l->for_stmt, l->outer, out, &args.positional[0], l->depth0 + 1);
      --st_.call_depth;
      if (f == flow::error) return {};
      st_.cur_pos = pos;
      return st_.str(std::move(out));
    }
    return call_builtin_object(st_, callee, args);
  }

  value call_macro(const macro_object& m, arg_pack& args) {
    const macro_def& d = *m.def;
    if (st_.call_depth >= st_.lim.max_call_depth)
      return st_.fail_limit(
          std::string("macro calls nested deeper than ").append(std::to_string(st_.lim.max_call_depth)) +
          " levels");
    struct call_guard {
      render_state& st;
      explicit call_guard(render_state& s) : st(s) { ++st.call_depth; }
      ~call_guard() { --st.call_depth; }
      call_guard(const call_guard&) = delete;
      call_guard& operator=(const call_guard&) = delete;
    } cg(st_);
    auto sc = std::make_shared<scope>(m.closure);
    const std::size_t np = d.params.size();
    std::vector<const value*> bound(np, nullptr);
    std::vector<value> varargs;
    for (std::size_t i = 0; i < args.positional.size(); ++i) {
      if (i < np) {
        bound[i] = &args.positional[i];
      } else if (d.catch_varargs) {
        varargs.push_back(args.positional[i]);
      } else {
        return st_.type_error("macro '" + m.name +
                              std::string("' takes not more than ").append(std::to_string(np)) +
                              " argument(s)");
      }
    }
    std::vector<std::pair<value, value>> kwargs;
    const value* caller = nullptr;
    for (const auto& [k, v] : args.keyword) {
      std::size_t idx = np;
      for (std::size_t i = 0; i < np; ++i)
        if (d.params[i] == k) idx = i;
      if (idx < np) {
        if (bound[idx] != nullptr)
          return st_.type_error("macro '" + m.name + "' got multiple values for argument '" + k + "'");
        bound[idx] = &v;
      } else if (k == "caller" && d.uses_caller) {
        caller = &v;
      } else if (d.catch_kwargs) {
        kwargs.emplace_back(value(k), v);
      } else {
        return st_.type_error("macro '" + m.name + "' takes no keyword argument '" + k + "'");
      }
    }
    const std::size_t first_default = np - d.defaults.size();
    for (std::size_t i = 0; i < np; ++i) {
      if (bound[i] != nullptr) {
        sc->set(d.params[i], *bound[i]);
      } else if (i >= first_default) {
        value dv = eval(*d.defaults[i - first_default], sc);
        if (st_.failed) return {};
        sc->set(d.params[i], std::move(dv));
      } else {
        std::string msg = "UndefinedError: parameter ";
        append_py_repr(msg, d.params[i]);
        msg += " was not provided";
        sc->set(d.params[i], value::undefined(std::move(msg)));
      }
    }
    if (d.catch_varargs) sc->set("varargs", value::make_tuple(std::move(varargs)));
    if (d.catch_kwargs) sc->set("kwargs", value::make_dict_any(std::move(kwargs)));
    if (d.uses_caller)
      sc->set("caller", caller != nullptr ? *caller : value::undefined("UndefinedError: No caller defined"));
    std::string out;
    if (exec_body(d.body, sc, out) == flow::error) return {};
    return st_.str(std::move(out));
  }

  // --- statements ------------------------------------------------------------------------------------
  bool assign(const assign_target& t, const value& v, const scope_ptr& sc) {
    switch (t.kind) {
      case assign_target::type::name: sc->set(t.name, v); return true;
      case assign_target::type::attr: {
        const value* target = sc->find(t.name);
        st_.cur_pos = t.pos;
        if (target == nullptr || !target->is_object() ||
            target->as_object()->kind != object::type::namespace_) {
          st_.fail("TemplateRuntimeError: cannot assign attribute on non-namespace object");
          return false;
        }
        // Namespaces are arena-owned and mutable by design ({% set ns.x = ... %}).
        auto* ns = const_cast<namespace_object*>(static_cast<const namespace_object*>(target->as_object()));
        ns->set(t.attr, v);
        return true;
      }
      case assign_target::type::tuple: {
        value items;
        st_.cur_pos = t.pos;
        if (!iterate(st_, v, items)) return false;
        const std::size_t n = items.items().size(), want = t.items.size();
        if (n < want) {
          st_.fail(
              std::string("ValueError: not enough values to unpack (expected ").append(std::to_string(want)) +
              ", got " + std::to_string(n) + ")");
          return false;
        }
        if (n > want) {
          st_.fail(
              std::string("ValueError: too many values to unpack (expected ").append(std::to_string(want)) +
              ")");
          return false;
        }
        for (std::size_t i = 0; i < n; ++i)
          if (!assign(t.items[i], items.items()[i], sc)) return false;
        return true;
      }
    }
    return false;
  }

  flow exec(const stmt& s, const scope_ptr& sc, std::string& out) {
    depth_guard g(st_, s.pos);
    if (!g.ok || !st_.step()) return flow::error;
    st_.cur_pos = s.pos;
    switch (s.kind) {
      case stmt_kind::text: return emit(out, s.text) ? flow::normal : flow::error;
      case stmt_kind::print: {
        value v = eval(*s.e, sc);
        if (st_.failed) return flow::error;
        return emit_value(out, v) ? flow::normal : flow::error;
      }
      case stmt_kind::if_: {
        value c = eval(*s.e, sc);
        if (st_.failed) return flow::error;
        if (c.truthy()) return exec_body(s.body, sc, out);
        for (const auto& [cond, body] : s.elifs) {
          c = eval(*cond, sc);
          if (st_.failed) return flow::error;
          if (c.truthy()) return exec_body(body, sc, out);
        }
        return exec_body(s.else_body, sc, out);
      }
      case stmt_kind::for_: return exec_for(s, sc, out, nullptr, 0);
      case stmt_kind::set: {
        value v = eval(*s.e, sc);
        if (st_.failed) return flow::error;
        return assign(s.target, v, sc) ? flow::normal : flow::error;
      }
      case stmt_kind::set_block: {
        std::string body;
        auto inner = std::make_shared<scope>(sc);
        if (exec_body(s.body, inner, body) == flow::error) return flow::error;
        value v = st_.str(std::move(body));
        if (st_.failed) return flow::error;
        if (s.e) {
          v = apply_filter_chain(*s.e, v, sc);
          if (st_.failed) return flow::error;
        }
        return assign(s.target, v, sc) ? flow::normal : flow::error;
      }
      case stmt_kind::macro: {
        auto* m = st_.make_object<macro_object>(s.macro.get(), s.macro->name, sc);
        sc->set(s.macro->name, value::from_object(m));
        return flow::normal;
      }
      case stmt_kind::call_block: {
        auto* caller = st_.make_object<macro_object>(s.macro.get(), "caller", sc);
        const value cv = value::from_object(caller);
        value r = eval_call(*s.e, sc, &cv);
        if (st_.failed) return flow::error;
        return emit_value(out, r) ? flow::normal : flow::error;
      }
      case stmt_kind::filter_block: {
        std::string body;
        auto inner = std::make_shared<scope>(sc);
        if (exec_body(s.body, inner, body) == flow::error) return flow::error;
        value v = st_.str(std::move(body));
        if (st_.failed) return flow::error;
        v = apply_filter_chain(*s.e, v, sc);
        if (st_.failed) return flow::error;
        return emit_value(out, v) ? flow::normal : flow::error;
      }
      case stmt_kind::with: {
        auto inner = std::make_shared<scope>(sc);
        std::vector<value> vals;
        for (const auto& [t, e] : s.with_vars) {
          vals.push_back(eval(*e, sc));
          if (st_.failed) return flow::error;
        }
        for (std::size_t i = 0; i < vals.size(); ++i)
          if (!assign(s.with_vars[i].first, vals[i], inner)) return flow::error;
        const flow f = exec_body(s.body, inner, out);
        return f;
      }
      case stmt_kind::break_: return flow::break_;
      case stmt_kind::continue_: return flow::continue_;
      case stmt_kind::scope: {
        auto inner = std::make_shared<scope>(sc);
        return exec_body(s.body, inner, out);
      }
    }
    return flow::normal;
  }

  flow exec_for(const stmt& s, const scope_ptr& sc, std::string& out, const value* override_iter,
                std::size_t depth0) {
    value iter_v;
    if (override_iter != nullptr) {
      iter_v = *override_iter;
    } else {
      iter_v = eval(*s.e, sc);
      if (st_.failed) return flow::error;
    }
    value items;
    st_.cur_pos = s.e->pos;
    if (!iterate(st_, iter_v, items)) return flow::error;
    if (s.cond) {
      std::vector<value> kept;
      for (const auto& it : items.items()) {
        auto fsc = std::make_shared<scope>(sc);
        if (!assign(s.target, it, fsc)) return flow::error;
        value c = eval(*s.cond, fsc);
        if (st_.failed) return flow::error;
        if (c.truthy()) kept.push_back(it);
      }
      items = value::make_list(std::move(kept));
    }
    const auto& list = items.items();
    if (list.empty()) {
      auto esc = std::make_shared<scope>(sc);
      const flow f = exec_body(s.else_body, esc, out);
      return f == flow::error ? flow::error : flow::normal;
    }
    auto* loop = st_.make_object<loop_object>();
    loop->items = items;
    loop->depth0 = depth0;
    loop->for_stmt = &s;
    loop->outer = sc;
    const value loop_v = value::from_object(loop);
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!st_.step()) return flow::error;
      loop->index0 = i;
      auto it_sc = std::make_shared<scope>(sc);
      it_sc->vars.reserve(4);
      if (!assign(s.target, list[i], it_sc)) return flow::error;
      it_sc->set("loop", loop_v);
      const flow f = exec_body(s.body, it_sc, out);
      if (f == flow::error) return flow::error;
      if (f == flow::break_) break;
    }
    return flow::normal;
  }
};

}  // namespace mmllm::jinja::detail
