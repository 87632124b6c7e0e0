// mmllm/models/kv_cache.hpp — the paged key/value cache the decoder's attention reads and writes.
//
// Storage is a pool of blocks of `block_size` cells; a cell holds one token's K and V rows
// for every layer (f32, f16 or q8_0) and its position. Each sequence owns an ordered block
// table; its cells are the first `seq_length(s)` cells of its blocks. Blocks are reference
// counted, so sequences can share them (seq_cp shares whole blocks; a shared block is copied
// before it is changed — copy on write). This is the mechanism; which sequence serves which
// request, when to reuse prefixes and when to evict are the engine's policy (engine/).
//
//   auto kv = mmllm::models::kv_cache::create(model.desc(), {.n_ctx = 4096, .n_seq_max = 4});
//   kv->seq_rm(1, 10, -1);        // drop positions ≥ 10 of sequence 1
//   kv->seq_add(0, 64, -1, -32);  // positions ≥ 64 move back by 32 (K re-rotated by the decoder)
//   kv->seq_cp(0, 2, 0, -1);      // sequence 2 = sequence 0 (blocks shared)
//
// Operations follow the peer's llama_memory_seq_* semantics: positions p0 < 0 mean 0, p1 < 0
// mean "to the end"; seq < 0 in seq_rm means every sequence. After seq_rm a sequence's
// remaining cells are compacted (no holes), so context shifting never leaks cells.
// Shifted cells keep their K un-rotated until the decoder applies the pending shift
// (`decoder::apply_kv_shift`, also done at the start of every forward), as the peer does.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/quant/legacy.hpp"
#include "../core/quant/plain.hpp"
#include "../core/result.hpp"
#include "batch.hpp"
#include "model_desc.hpp"

namespace mmllm::models {

/// Storage type of cached keys or values.
enum class kv_type : std::uint8_t { f32, f16, q8_0 };

constexpr dtype to_dtype(kv_type t) noexcept {
  return t == kv_type::f32 ? dtype::f32 : t == kv_type::f16 ? dtype::f16 : dtype::q8_0;
}
constexpr std::string_view to_string(kv_type t) noexcept { return name_of(to_dtype(t)); }
/// Calls f(std::type_identity<Q>{}) with the storage format Q (fmt::f32, fmt::f16, fmt::q8_0) of t.
template <class F>
decltype(auto) visit_kv_type(kv_type t, F&& f) {
  switch (t) {
    case kv_type::f16: return f(std::type_identity<fmt::f16>{});
    case kv_type::q8_0: return f(std::type_identity<fmt::q8_0>{});
    case kv_type::f32: break;
  }
  return f(std::type_identity<fmt::f32>{});
}
/// "f32", "f16", "q8_0" (case-insensitive), as llama.cpp's --cache-type-k/-v.
constexpr std::optional<kv_type> kv_type_from_name(std::string_view n) noexcept {
  const auto d = dtype_from_name(n);
  if (!d) return std::nullopt;
  if (*d == dtype::f32) return kv_type::f32;
  if (*d == dtype::f16) return kv_type::f16;
  if (*d == dtype::q8_0) return kv_type::q8_0;
  return std::nullopt;
}

struct kv_cache_options {
  std::uint32_t n_ctx = 4096;     ///< capacity in cells, all sequences together (rounded up to blocks)
  std::uint32_t block_size = 32;  ///< cells per block
  std::uint32_t n_seq_max = 1;    ///< sequence ids 0 … n_seq_max − 1
  kv_type type_k = kv_type::f32;
  kv_type type_v = kv_type::f32;
};

/// Row sizes of one layer (elements).
struct kv_layer_dims {
  std::uint32_t n_embd_k = 0;  ///< n_head_kv · head_dim_k
  std::uint32_t n_embd_v = 0;  ///< n_head_kv · head_dim_v
};

/// Metadata of one cell.
struct kv_cell {
  std::int32_t pos = -1;   ///< position (stream 0); −1: unused
  std::int32_t shift = 0;  ///< pending K rotation (accumulated seq_add deltas not yet applied)
  std::int32_t x = 0;      ///< M-RoPE: stream 2 (x) at append time (not moved by seq_add, as in the peer)
  std::int32_t y = 0;      ///< M-RoPE: stream 1 (y) at append time
};

/// The paged KV cache (see the header comment).
class kv_cache {
 public:
  /// A cache for `layers` (one entry per layer).
  static result<kv_cache> create(std::span<const kv_layer_dims> layers, const kv_cache_options& o) {
    if (o.block_size == 0 || o.n_seq_max == 0 || o.n_ctx == 0)
      return make_error(errc::invalid_argument, "kv cache: n_ctx, block_size and n_seq_max must be positive");
    kv_cache c;
    c.opt_ = o;
    c.n_blocks_ = (o.n_ctx + o.block_size - 1) / o.block_size;
    const std::size_t n_cells = std::size_t{c.n_blocks_} * o.block_size;
    const dtype tk = to_dtype(o.type_k), tv = to_dtype(o.type_v);
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const auto rk = row_bytes(tk, layers[l].n_embd_k), rv = row_bytes(tv, layers[l].n_embd_v);
      if (!rk || !rv)
        return make_error(errc::unsupported, "kv cache: layer ", std::to_string(l), " rows (",
                          std::to_string(layers[l].n_embd_k), ", ", std::to_string(layers[l].n_embd_v),
                          ") are not whole ", to_string(o.type_k), "/", to_string(o.type_v), " blocks");
      c.k_row_.push_back(static_cast<std::size_t>(*rk));
      c.v_row_.push_back(static_cast<std::size_t>(*rv));
      c.dims_.push_back(layers[l]);
    }
    for (std::size_t l = 0; l < layers.size(); ++l) {
      c.k_.emplace_back(n_cells * c.k_row_[l]);
      c.v_.emplace_back(n_cells * c.v_row_[l]);
    }
    c.cells_.assign(n_cells, kv_cell{});
    c.refs_.assign(c.n_blocks_, 0);
    c.free_.reserve(c.n_blocks_);
    for (std::uint32_t b = c.n_blocks_; b-- > 0;) c.free_.push_back(b);
    c.seqs_.resize(o.n_seq_max);
    return c;
  }

  /// A cache for a model (per-layer KV widths from its description). Head sizes must be
  /// multiples of 32 for q8_0.
  static result<kv_cache> create(const model_desc& d, const kv_cache_options& o) {
    std::vector<kv_layer_dims> dims;
    for (const auto& l : d.layers) dims.push_back({l.n_head_kv * d.head_dim_k, l.n_head_kv * d.head_dim_v});
    if ((o.type_k == kv_type::q8_0 && d.head_dim_k % 32 != 0) ||
        (o.type_v == kv_type::q8_0 && d.head_dim_v % 32 != 0))
      return make_error(errc::unsupported, "kv cache: q8_0 needs head sizes that are multiples of 32");
    return create(dims, o);
  }

  // --- capacity ---------------------------------------------------------------------------
  [[nodiscard]] const kv_cache_options& options() const noexcept { return opt_; }
  [[nodiscard]] std::uint32_t block_size() const noexcept { return opt_.block_size; }
  [[nodiscard]] std::uint32_t n_blocks() const noexcept { return n_blocks_; }
  [[nodiscard]] std::uint32_t n_free_blocks() const noexcept {
    return static_cast<std::uint32_t>(free_.size());
  }
  [[nodiscard]] std::uint32_t n_cells() const noexcept { return n_blocks_ * opt_.block_size; }
  [[nodiscard]] std::uint32_t n_seq_max() const noexcept { return opt_.n_seq_max; }
  [[nodiscard]] std::size_t n_layers() const noexcept { return dims_.size(); }
  [[nodiscard]] kv_type type_k() const noexcept { return opt_.type_k; }
  [[nodiscard]] kv_type type_v() const noexcept { return opt_.type_v; }
  [[nodiscard]] const kv_layer_dims& dims(std::size_t layer) const noexcept { return dims_[layer]; }
  /// Bytes of K and V storage.
  [[nodiscard]] std::uint64_t bytes() const noexcept {
    std::uint64_t s = 0;
    for (std::size_t l = 0; l < dims_.size(); ++l) s += k_[l].size() + v_[l].size();
    return s;
  }

  // --- sequences --------------------------------------------------------------------------
  [[nodiscard]] bool valid_seq(seq_id s) const noexcept {
    return s >= 0 && static_cast<std::uint32_t>(s) < opt_.n_seq_max;
  }
  /// Cells in use by sequence s.
  [[nodiscard]] std::uint32_t seq_length(seq_id s) const noexcept {
    return valid_seq(s) ? seqs_[idx(s)].n : 0;
  }
  /// Smallest / largest position of s, −1 when empty.
  [[nodiscard]] std::int32_t seq_pos_min(seq_id s) const noexcept { return seq_pos_extreme(s, false); }
  [[nodiscard]] std::int32_t seq_pos_max(seq_id s) const noexcept { return seq_pos_extreme(s, true); }
  /// The block table of s.
  [[nodiscard]] std::span<const std::uint32_t> seq_blocks(seq_id s) const noexcept {
    return valid_seq(s) ? std::span<const std::uint32_t>(seqs_[idx(s)].blocks)
                        : std::span<const std::uint32_t>{};
  }
  /// Physical cell of the j-th cell of s.
  [[nodiscard]] std::uint32_t seq_cell(seq_id s, std::uint32_t j) const noexcept {
    const auto& q = seqs_[idx(s)];
    return q.blocks[j / opt_.block_size] * opt_.block_size + j % opt_.block_size;
  }
  /// Free blocks an append of n cells to s needs (including a copy of a shared last block).
  [[nodiscard]] std::uint32_t blocks_needed(seq_id s, std::uint32_t n) const noexcept {
    if (!valid_seq(s) || n == 0) return 0;
    const auto& q = seqs_[idx(s)];
    const std::uint32_t bs = opt_.block_size;
    const std::uint32_t have = static_cast<std::uint32_t>(q.blocks.size());
    const std::uint32_t need = (q.n + n + bs - 1) / bs;
    std::uint32_t extra = need > have ? need - have : 0;
    if (q.n % bs != 0 && refs_[q.blocks[q.n / bs]] > 1) ++extra;  // copy on write of the partial block
    return extra;
  }

  // --- cell data --------------------------------------------------------------------------
  [[nodiscard]] const kv_cell& cell(std::uint32_t phys) const noexcept { return cells_[phys]; }
  [[nodiscard]] std::size_t k_row_bytes(std::size_t layer) const noexcept { return k_row_[layer]; }
  [[nodiscard]] std::size_t v_row_bytes(std::size_t layer) const noexcept { return v_row_[layer]; }
  [[nodiscard]] std::byte* k_row(std::size_t layer, std::uint32_t phys) noexcept {
    return k_[layer].data() + phys * k_row_[layer];
  }
  [[nodiscard]] const std::byte* k_row(std::size_t layer, std::uint32_t phys) const noexcept {
    return k_[layer].data() + phys * k_row_[layer];
  }
  [[nodiscard]] std::byte* v_row(std::size_t layer, std::uint32_t phys) noexcept {
    return v_[layer].data() + phys * v_row_[layer];
  }
  [[nodiscard]] const std::byte* v_row(std::size_t layer, std::uint32_t phys) const noexcept {
    return v_[layer].data() + phys * v_row_[layer];
  }

  // --- operations ---------------------------------------------------------------------------

  /// Appends a cell at `pos` to s and returns its physical index (K/V rows still to be written).
  result<std::uint32_t> append(seq_id s, const positions& pos) {
    if (!valid_seq(s))
      return make_error(errc::invalid_argument, "kv cache: sequence id ", std::to_string(s),
                        " is out of range (n_seq_max ", std::to_string(opt_.n_seq_max), ")");
    auto& q = seqs_[idx(s)];
    const std::uint32_t bs = opt_.block_size;
    if (q.n % bs == 0) {
      if (q.n / bs >= q.blocks.size()) {
        MMLLM_TRY_ASSIGN(const std::uint32_t b, alloc_block());
        q.blocks.push_back(b);
      }
    } else {
      MMLLM_TRY(make_exclusive(q, q.n / bs));
    }
    const std::uint32_t phys = q.blocks[q.n / bs] * bs + q.n % bs;
    cells_[phys] = kv_cell{pos[0], 0, pos[2], pos[1]};
    ++q.n;
    return phys;
  }

  /// Keeps only the first n cells of s (undoes appends).
  void truncate(seq_id s, std::uint32_t n) {
    if (!valid_seq(s)) return;
    auto& q = seqs_[idx(s)];
    if (n < q.n) q.n = n;
    release_tail(q);
  }

  /// Removes the cells of s (every sequence when s < 0) whose position is in [p0, p1).
  result<void> seq_rm(seq_id s, std::int32_t p0, std::int32_t p1) {
    if (s >= static_cast<std::int32_t>(opt_.n_seq_max))
      return make_error(errc::invalid_argument, "kv cache: sequence id ", std::to_string(s),
                        " is out of range");
    norm_range(p0, p1);
    if (s < 0) {
      for (std::uint32_t i = 0; i < opt_.n_seq_max; ++i) MMLLM_TRY(remove_if(seqs_[i], p0, p1));
      return ok();
    }
    return remove_if(seqs_[idx(s)], p0, p1);
  }

  /// Adds `delta` to the positions in [p0, p1) of s; cells moved below 0 are removed. The K
  /// rotation is recorded and applied later by the decoder.
  result<void> seq_add(seq_id s, std::int32_t p0, std::int32_t p1, std::int32_t delta) {
    if (!valid_seq(s))
      return make_error(errc::invalid_argument, "kv cache: sequence id ", std::to_string(s),
                        " is out of range");
    norm_range(p0, p1);
    if (delta == 0 || p0 >= p1) return ok();
    auto& q = seqs_[idx(s)];
    bool removed = false;
    for (std::uint32_t j = 0; j < q.n; ++j) {
      const std::uint32_t phys0 = phys_of(q, j);
      if (cells_[phys0].pos < p0 || cells_[phys0].pos >= p1) continue;
      MMLLM_TRY(make_exclusive(q, j / opt_.block_size));
      kv_cell& c = cells_[phys_of(q, j)];
      c.pos += delta;
      c.shift += delta;
      has_shift_ = true;
      if (c.pos < 0) removed = true;
    }
    if (removed) MMLLM_TRY(remove_if(q, std::numeric_limits<std::int32_t>::min(), 0));
    return ok();
  }

  /// Copies the cells of src with positions in [p0, p1) to dst. An empty dst shares src's
  /// blocks (no data copied until either side changes them); otherwise the cells are appended.
  result<void> seq_cp(seq_id src, seq_id dst, std::int32_t p0, std::int32_t p1) {
    if (!valid_seq(src) || !valid_seq(dst))
      return make_error(errc::invalid_argument, "kv cache: seq_cp: sequence id out of range");
    if (src == dst) return ok();
    norm_range(p0, p1);
    auto& a = seqs_[idx(src)];
    auto& b = seqs_[idx(dst)];
    if (b.n == 0) {
      release_all(b);
      b.blocks = a.blocks;
      b.n = a.n;
      for (const std::uint32_t blk : b.blocks) ++refs_[blk];
      if (p0 > std::numeric_limits<std::int32_t>::min() || p1 < std::numeric_limits<std::int32_t>::max()) {
        MMLLM_TRY(remove_if(b, std::numeric_limits<std::int32_t>::min(), p0));
        MMLLM_TRY(remove_if(b, p1, std::numeric_limits<std::int32_t>::max()));
      }
      return ok();
    }
    for (std::uint32_t j = 0; j < a.n; ++j) {
      const std::uint32_t from = phys_of(a, j);
      const kv_cell c = cells_[from];
      if (c.pos < p0 || c.pos >= p1) continue;
      MMLLM_TRY_ASSIGN(const std::uint32_t to, append(dst, positions{c.pos, c.y, c.x, 0}));
      copy_cell(from, to);
    }
    return ok();
  }

  /// Removes every sequence but s.
  void seq_keep(seq_id s) {
    for (std::uint32_t i = 0; i < opt_.n_seq_max; ++i)
      if (static_cast<seq_id>(i) != s) release_all(seqs_[i]);
  }

  /// Empties every sequence.
  void clear() {
    for (auto& q : seqs_) release_all(q);
    has_shift_ = false;
  }

  // --- pending K shifts (used by the decoder) -------------------------------------------------

  /// True when some cell's K still needs rotating.
  [[nodiscard]] bool has_pending_shift() const noexcept { return has_shift_; }
  /// Calls f(phys, shift) for every used cell with a pending rotation.
  template <class F>
  void for_each_pending_shift(F&& f) const {
    if (!has_shift_) return;
    const std::uint32_t bs = opt_.block_size;
    for (std::uint32_t b = 0; b < n_blocks_; ++b) {
      if (refs_[b] == 0) continue;
      for (std::uint32_t i = 0; i < bs; ++i) {
        const std::uint32_t phys = b * bs + i;
        if (cells_[phys].shift != 0 && cells_[phys].pos >= 0) f(phys, cells_[phys].shift);
      }
    }
  }
  /// Marks every pending rotation as applied.
  void clear_pending_shift() noexcept {
    for (auto& c : cells_) c.shift = 0;
    has_shift_ = false;
  }

 private:
  struct seq_state {
    std::vector<std::uint32_t> blocks;
    std::uint32_t n = 0;
  };

  kv_cache() = default;

  static std::size_t idx(seq_id s) noexcept { return static_cast<std::size_t>(s); }
  std::uint32_t phys_of(const seq_state& q, std::uint32_t j) const noexcept {
    return q.blocks[j / opt_.block_size] * opt_.block_size + j % opt_.block_size;
  }
  static void norm_range(std::int32_t& p0, std::int32_t& p1) noexcept {
    if (p0 < 0) p0 = 0;
    if (p1 < 0) p1 = std::numeric_limits<std::int32_t>::max();
  }

  std::int32_t seq_pos_extreme(seq_id s, bool max) const noexcept {
    if (!valid_seq(s)) return -1;
    const auto& q = seqs_[idx(s)];
    std::int32_t v = -1;
    for (std::uint32_t j = 0; j < q.n; ++j) {
      const std::int32_t p = cells_[phys_of(q, j)].pos;
      if (v < 0 || (max ? p > v : p < v)) v = p;
    }
    return v;
  }

  result<std::uint32_t> alloc_block() {
    if (free_.empty())
      return make_error(errc::resource_limit, "kv cache: full (", std::to_string(n_cells()),
                        " cells in use; create it with a larger n_ctx)");
    const std::uint32_t b = free_.back();
    free_.pop_back();
    refs_[b] = 1;
    return b;
  }
  void unref(std::uint32_t b) {
    if (--refs_[b] == 0) free_.push_back(b);
  }
  void release_all(seq_state& q) {
    for (const std::uint32_t b : q.blocks) unref(b);
    q.blocks.clear();
    q.n = 0;
  }
  void release_tail(seq_state& q) {
    const std::uint32_t keep = (q.n + opt_.block_size - 1) / opt_.block_size;
    while (q.blocks.size() > keep) {
      unref(q.blocks.back());
      q.blocks.pop_back();
    }
  }

  void copy_cell(std::uint32_t from, std::uint32_t to) {
    for (std::size_t l = 0; l < dims_.size(); ++l) {
      std::memcpy(k_[l].data() + to * k_row_[l], k_[l].data() + from * k_row_[l], k_row_[l]);
      std::memcpy(v_[l].data() + to * v_row_[l], v_[l].data() + from * v_row_[l], v_row_[l]);
    }
    cells_[to] = cells_[from];
  }

  /// Gives q its own copy of its i-th block when the block is shared.
  result<void> make_exclusive(seq_state& q, std::size_t i) {
    const std::uint32_t b = q.blocks[i];
    if (refs_[b] <= 1) return ok();
    MMLLM_TRY_ASSIGN(const std::uint32_t nb, alloc_block());
    const std::uint32_t bs = opt_.block_size;
    for (std::size_t l = 0; l < dims_.size(); ++l) {
      std::memcpy(k_[l].data() + std::size_t{nb} * bs * k_row_[l],
                  k_[l].data() + std::size_t{b} * bs * k_row_[l], bs * k_row_[l]);
      std::memcpy(v_[l].data() + std::size_t{nb} * bs * v_row_[l],
                  v_[l].data() + std::size_t{b} * bs * v_row_[l], bs * v_row_[l]);
    }
    std::copy_n(cells_.begin() + std::ptrdiff_t{b} * bs, bs, cells_.begin() + std::ptrdiff_t{nb} * bs);
    unref(b);
    q.blocks[i] = nb;
    return ok();
  }

  /// Removes the cells of q with positions in [p0, p1) and compacts the rest.
  result<void> remove_if(seq_state& q, std::int32_t p0, std::int32_t p1) {
    std::uint32_t w = 0;
    for (std::uint32_t j = 0; j < q.n; ++j) {
      const std::int32_t p = cells_[phys_of(q, j)].pos;
      if (p >= p0 && p < p1) continue;  // removed
      if (w != j) {
        MMLLM_TRY(make_exclusive(q, w / opt_.block_size));
        copy_cell(phys_of(q, j), phys_of(q, w));
      }
      ++w;
    }
    q.n = w;
    release_tail(q);
    return ok();
  }

  kv_cache_options opt_;
  std::uint32_t n_blocks_ = 0;
  std::vector<kv_layer_dims> dims_;
  std::vector<std::size_t> k_row_, v_row_;
  std::vector<std::vector<std::byte>> k_, v_;  // per layer: n_cells × row bytes
  std::vector<kv_cell> cells_;
  std::vector<std::uint32_t> refs_;
  std::vector<std::uint32_t> free_;
  std::vector<seq_state> seqs_;
  bool has_shift_ = false;
};

}  // namespace mmllm::models
