// mmllm/tokenize/jinja_ast.hpp — syntax tree of a parsed Jinja template.
//
// Expressions and statements mirror Jinja2's nodes (Getattr, Getitem, Filter, Test,
// Compare, CondExpr, For, If, Assign, AssignBlock, Macro, CallBlock, FilterBlock, With ...).
// Every node keeps the byte offset where it starts, which errors turn into line/column.
// The tree is immutable once parsed and shared by all renders of a template.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_value.hpp"

namespace mmllm::jinja::detail {

enum class expr_kind : std::uint8_t {
  literal,  ///< constant `lit`
  name,     ///< variable `name`
  list,     ///< [items...]
  tuple,    ///< (items...)
  dict,     ///< {items[0]: items[1], ...}
  getattr,  ///< a.name
  getitem,  ///< a[b]
  slice,    ///< a[items[0]:items[1]:items[2]] (null parts allowed)
  call,     ///< a(args)
  filter,   ///< a | name(args); a is null inside filter blocks
  test,     ///< a is name(args)
  neg,      ///< -a
  pos,      ///< +a
  not_,     ///< not a
  binary,   ///< a bop b
  and_,     ///< a and b
  or_,      ///< a or b
  compare,  ///< a cmp[0] items[0] cmp[1] items[1] ...
  concat,   ///< items[0] ~ items[1] ~ ...
  cond,     ///< a if b else c (c may be null)
};

enum class binary_op : std::uint8_t { add, sub, mul, div, floordiv, mod, pow };
enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge, in, not_in };

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct call_args {
  std::vector<expr_ptr> positional;
  std::vector<std::pair<std::string, expr_ptr>> keyword;
  expr_ptr star;       ///< *args
  expr_ptr star_star;  ///< **kwargs
};

struct expr {
  expr_kind kind = expr_kind::literal;
  std::uint32_t pos = 0;
  binary_op bop = binary_op::add;
  std::string name;
  value lit;
  expr_ptr a, b, c;
  std::vector<expr_ptr> items;
  std::vector<compare_op> cmp;
  call_args args;
  int builtin = -1;          ///< filter / test: index into the builtin table, resolved after parsing
  std::uint32_t height = 1;  ///< levels of the subtree (bounded by the parser)
};

/// Left side of an assignment: a name, `ns.attr`, or a (nested) tuple of targets.
struct assign_target {
  enum class type : std::uint8_t { name, attr, tuple };
  type kind = type::name;
  std::uint32_t pos = 0;
  std::string name;
  std::string attr;
  std::vector<assign_target> items;
};

enum class stmt_kind : std::uint8_t {
  text,          ///< template data
  print,         ///< {{ e }}
  if_,           ///< if e: body, then elifs in order, else else_body
  for_,          ///< for target in e [if cond] [recursive]: body else else_body
  set,           ///< set target = e
  set_block,     ///< set target [| filter e] ... endset
  macro,         ///< macro definition
  call_block,    ///< call(params) e ... endcall
  filter_block,  ///< filter e ... endfilter
  with,          ///< with vars ... endwith
  break_,
  continue_,
  scope,  ///< a plain body (block, generation)
};

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using stmt_list = std::vector<stmt_ptr>;

struct macro_def {
  std::string name;
  std::vector<std::string> params;
  std::vector<expr_ptr> defaults;  ///< defaults of the last defaults.size() params
  bool catch_varargs = false;
  bool catch_kwargs = false;
  bool uses_caller = false;
  stmt_list body;
};

struct stmt {
  stmt_kind kind = stmt_kind::text;
  std::uint32_t pos = 0;
  std::string text;
  expr_ptr e;
  expr_ptr cond;
  assign_target target;
  stmt_list body;
  stmt_list else_body;
  std::vector<std::pair<expr_ptr, stmt_list>> elifs;
  bool recursive = false;
  std::unique_ptr<macro_def> macro;
  std::vector<std::pair<assign_target, expr_ptr>> with_vars;
};

}  // namespace mmllm::jinja::detail
