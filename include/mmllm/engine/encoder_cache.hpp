// mmllm/engine/encoder_cache.hpp — projector outputs kept by key, so a media item seen again
// (same pixels / samples, or the same user-supplied uuid) is not encoded twice.
//
// Keys are strings the caller builds: a media content hash (media/content_hash.hpp: decoded
// pixels + size, or PCM + rate) or a user uuid (vLLM's multi_modal_uuids), plus the encoder
// entry (tile) index. Values are shared, immutable float vectors (n_tokens × n_embd). Least
// recently used values are evicted once the total exceeds the byte budget; a value larger
// than the whole budget is not kept. Thread-safe (one mutex); no global state.
//
//   mmllm::mm::encoder_cache cache(512u << 20);
//   if (auto hit = cache.find(key)) use(*hit); else cache.insert(key, encode(...));
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mmllm::mm {

class encoder_cache {
 public:
  using value = std::shared_ptr<const std::vector<float>>;

  struct stats {
    std::size_t hits = 0, misses = 0, insertions = 0, evictions = 0, bytes = 0, entries = 0;
  };

  explicit encoder_cache(std::size_t max_bytes = std::size_t{256} << 20) : max_bytes_(max_bytes) {}

  /// The value stored under `key` (marks it most recently used), or null.
  [[nodiscard]] value find(std::string_view key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(std::string(key));
    if (it == index_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  /// Stores `v` under `key` (replacing an older value), then evicts past the budget.
  void insert(std::string key, value v) {
    if (!v) return;
    const std::size_t b = bytes_of(v);
    std::lock_guard<std::mutex> lock(mu_);
    erase_locked(key);
    if (b > max_bytes_) return;
    lru_.emplace_front(key, std::move(v));
    index_.emplace(std::move(key), lru_.begin());
    stats_.bytes += b;
    ++stats_.insertions;
    while (stats_.bytes > max_bytes_ && !lru_.empty()) {
      auto last = std::prev(lru_.end());
      stats_.bytes -= bytes_of(last->second);
      index_.erase(last->first);
      lru_.erase(last);
      ++stats_.evictions;
    }
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lru_.clear();
    index_.clear();
    stats_.bytes = 0;
  }

  [[nodiscard]] stats statistics() const {
    std::lock_guard<std::mutex> lock(mu_);
    stats s = stats_;
    s.entries = lru_.size();
    return s;
  }
  [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }

 private:
  static std::size_t bytes_of(const value& v) noexcept { return v ? v->size() * sizeof(float) : 0; }
  void erase_locked(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    stats_.bytes -= bytes_of(it->second->second);
    lru_.erase(it->second);
    index_.erase(it);
  }

  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<std::pair<std::string, value>> lru_;
  std::unordered_map<std::string, std::list<std::pair<std::string, value>>::iterator> index_;
  stats stats_;
};

}  // namespace mmllm::mm
