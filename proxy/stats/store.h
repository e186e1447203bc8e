// The stats store: Envoy-named counters, gauges and histograms. Creating a stat (by name, once
// per scope) takes the store's lock; using one does not. Counters and histograms live in
// per-thread shards (one writer each, relaxed atomics) that the reader sums; a gauge is one
// shared relaxed atomic. A stat the stats_matcher rejects is never created: its handle writes to
// a sink nobody reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "proxy/config/stats.h"
#include "proxy/stats/histogram.h"

namespace pilotfish::stats {

class Store;
class StatsMatcher;
class TagProducer;

enum class StatKind : uint8_t { kCounter, kGauge, kHistogram };

// Handles: an index into the shards' slots. Index 0 is the sink.
struct Counter {
  uint32_t index = 0;
};
struct Histogram {
  uint32_t index = 0;
};

struct GaugeCell {
  std::atomic<uint64_t> value{0};
  std::atomic<bool> used{false};  // written at least once (for ?usedonly)
};

// A gauge handle: usable from any thread (one relaxed atomic shared by all of them).
class Gauge {
 public:
  Gauge();  // the sink
  void Set(uint64_t v) const {
    MarkUsed();
    cell_->value.store(v, std::memory_order_relaxed);
  }
  void Add(uint64_t n) const {
    MarkUsed();
    cell_->value.fetch_add(n, std::memory_order_relaxed);
  }
  void Sub(uint64_t n) const {
    MarkUsed();
    cell_->value.fetch_sub(n, std::memory_order_relaxed);
  }
  void Inc() const { Add(1); }
  void Dec() const { Sub(1); }
  uint64_t value() const { return cell_->value.load(std::memory_order_relaxed); }
  bool is_sink() const;

 private:
  friend class Store;
  explicit Gauge(GaugeCell* cell) : cell_(cell) {}
  void MarkUsed() const {
    if (!cell_->used.load(std::memory_order_relaxed)) {
      cell_->used.store(true, std::memory_order_relaxed);
    }
  }
  GaugeCell* cell_;
};

// Slots addressed by a dense index, allocated a chunk at a time and never moved, so a reader on
// another thread can follow a published chunk pointer without a lock.
template <typename T, uint32_t kChunkBits, uint32_t kMaxChunks>
class ChunkedSlots {
 public:
  static constexpr uint32_t kCapacity = kMaxChunks << kChunkBits;
  ChunkedSlots() : chunks_(new std::atomic<Chunk*>[kMaxChunks]()) {}
  ~ChunkedSlots() {
    for (uint32_t i = 0; i < kMaxChunks; ++i) delete chunks_[i].load(std::memory_order_relaxed);
  }
  ChunkedSlots(const ChunkedSlots&) = delete;
  ChunkedSlots& operator=(const ChunkedSlots&) = delete;

  // Writer side (callers serialize): creates the chunk on first use.
  T& GetOrCreate(uint32_t i) {
    Chunk* c = chunks_[i >> kChunkBits].load(std::memory_order_relaxed);
    if (c == nullptr) [[unlikely]] {
      c = new Chunk();
      chunks_[i >> kChunkBits].store(c, std::memory_order_release);
    }
    return c->slots[i & ((1u << kChunkBits) - 1)];
  }
  // Reader side: nullptr when the slot's chunk was never created.
  const T* Find(uint32_t i) const {
    const Chunk* c = chunks_[i >> kChunkBits].load(std::memory_order_acquire);
    return c == nullptr ? nullptr : &c->slots[i & ((1u << kChunkBits) - 1)];
  }
  // Bytes allocated (chunk table and chunks), for memory accounting.
  size_t AllocatedBytes() const {
    size_t n = kMaxChunks * sizeof(std::atomic<Chunk*>);
    for (uint32_t i = 0; i < kMaxChunks; ++i) {
      if (chunks_[i].load(std::memory_order_relaxed) != nullptr) n += sizeof(Chunk);
    }
    return n;
  }

 private:
  struct Chunk {
    T slots[1u << kChunkBits];
  };
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
};

using CounterSlots = ChunkedSlots<std::atomic<uint64_t>, 10, 4096>;  // up to 4M counters
using HistogramSlots = ChunkedSlots<HistogramCell, 6, 1024>;         // up to 64K histograms
using GaugeSlots = ChunkedSlots<GaugeCell, 9, 4096>;                 // up to 2M gauges

// One thread's counter and histogram values. Only that thread writes (plain load + store on
// relaxed atomics, no read-modify-write); any thread may read.
class Shard {
 public:
  void Inc(Counter c, uint64_t n = 1) {
    std::atomic<uint64_t>& v = counters_.GetOrCreate(c.index);
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Record(Histogram h, uint64_t value) { histograms_.GetOrCreate(h.index).Record(value); }

  uint64_t CounterValue(uint32_t index) const {
    const std::atomic<uint64_t>* v = counters_.Find(index);
    return v == nullptr ? 0 : v->load(std::memory_order_relaxed);
  }
  void AddHistogramTo(uint32_t index, HistogramValues* out) const {
    if (const HistogramCell* cell = histograms_.Find(index)) cell->AddTo(out);
  }
  size_t AllocatedBytes() const {
    return counters_.AllocatedBytes() + histograms_.AllocatedBytes();
  }

 private:
  CounterSlots counters_;
  HistogramSlots histograms_;
};

// A name prefix ("cluster.foo.") under which stats are created. Cheap to copy; a default one
// (no store) makes sinks.
class Scope {
 public:
  Scope() = default;
  Counter CounterFor(std::string_view name) const;
  Gauge GaugeFor(std::string_view name) const;
  Histogram HistogramFor(std::string_view name) const;
  Store* store() const { return store_; }
  const std::string& prefix() const;
  bool operator==(const Scope& o) const { return store_ == o.store_ && prefix_ == o.prefix_; }

  // Hot path: the calling thread's shard of the scope's store (no-ops without a store).
  inline void Inc(Counter c, uint64_t n = 1) const;
  inline void Record(Histogram h, uint64_t value) const;

 private:
  friend class Store;
  Scope(Store* store, uint32_t prefix) : store_(store), prefix_(prefix) {}
  Store* store_ = nullptr;
  uint32_t prefix_ = 0;
};

// What a reader sees: every stat's name and merged value.
struct NumericSample {
  std::string name;
  StatKind kind;  // kCounter or kGauge
  uint64_t value;
  bool used;
};
struct HistogramSample {
  std::string name;
  HistogramValues values;
};
struct StatsSnapshot {
  std::vector<NumericSample> numeric;  // counters and gauges
  std::vector<HistogramSample> histograms;
};

class Store {
 public:
  explicit Store(const config::StatsConfig& config = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- creating stats (any thread; takes the lock). The same name gives the same stat. ---
  Scope CreateScope(std::string_view prefix);  // prefix includes its trailing '.'
  Counter CounterFor(std::string_view name);   // full names: "server.live"
  Gauge GaugeFor(std::string_view name);
  Histogram HistogramFor(std::string_view name);

  // --- using stats (any thread, no lock after a thread's first use) ---
  // The calling thread's shard, created on its first use.
  Shard& LocalShard() {
    thread_local LocalCache cache;
    if (cache.store_id == id_) [[likely]]
      return *cache.shard;
    return LocalShardSlow(&cache);
  }
  void Inc(Counter c, uint64_t n = 1) { LocalShard().Inc(c, n); }
  void Record(Histogram h, uint64_t value) { LocalShard().Record(h, value); }
  // Main-thread conveniences for one-off stats (a lookup under the lock each call).
  void IncCounter(std::string_view name, uint64_t n = 1) { Inc(CounterFor(name), n); }
  void SetGauge(std::string_view name, uint64_t value) { GaugeFor(name).Set(value); }

  // Called (on the reading thread) before every read: computes gauges that are cheaper to derive
  // when asked than to maintain on the data path. Remove before what they read goes away.
  uint64_t AddRefresher(std::function<void()> refresh);
  void RemoveRefresher(uint64_t id);

  // --- reading (main thread: admin) ---
  // Every stat's merged value, sorted by name. `keep` (optional) filters by full name.
  StatsSnapshot Collect(const std::function<bool(std::string_view)>& keep = {});
  // Counter values (sum) and histogram values for a name; 0 / empty when unknown.
  uint64_t CounterValue(std::string_view name);
  uint64_t GaugeValue(std::string_view name);
  HistogramValues HistogramValue(std::string_view name);
  // /reset_counters: counters read as zero from now on (their shards are not written).
  void ResetCounters();

  // A custom stat namespace (Envoy's): "<ns>.<rest>" renders in Prometheus as "<rest>",
  // without the "envoy_" prefix (e.g. "istiocustom" for Istio's standard metrics).
  void AddCustomNamespace(std::string_view ns);
  std::vector<std::string> custom_namespaces();

  const TagProducer& tag_producer() const { return *tags_; }
  // Whether the stats_matcher rejects `name`.
  bool Rejects(std::string_view name) const;
  // Bytes held by the store (registry, names, slots of every shard and gauges).
  size_t MemoryBytes();
  size_t stat_count();

 private:
  friend class Scope;
  struct LocalCache {
    uint64_t store_id = 0;
    Shard* shard = nullptr;
  };
  struct Entry {      // 12 bytes a stat
    uint32_t prefix;  // interned string ids
    uint32_t suffix;
    uint32_t index : 30;  // slot in the kind's storage (every capacity is below 2^30)
    uint32_t kind_bits : 2;
    StatKind kind() const { return static_cast<StatKind>(kind_bits); }
  };
  // Entries are found by full name without building it: hash and compare prefix + suffix.
  struct EntryHash {
    using is_transparent = void;
    const Store* store;
    static uint64_t Fnv(uint64_t h, std::string_view s) {
      for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
      return h;
    }
    size_t operator()(uint32_t id) const {
      const Entry& e = store->entries_[id];
      return Fnv(Fnv(0xcbf29ce484222325ULL, *store->strings_[e.prefix]),
                 *store->strings_[e.suffix]);
    }
    size_t operator()(std::string_view full) const { return Fnv(0xcbf29ce484222325ULL, full); }
  };
  struct EntryEq {
    using is_transparent = void;
    const Store* store;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t id, std::string_view full) const {
      const Entry& e = store->entries_[id];
      const std::string& p = *store->strings_[e.prefix];
      const std::string& s = *store->strings_[e.suffix];
      return full.size() == p.size() + s.size() && full.substr(0, p.size()) == p &&
             full.substr(p.size()) == s;
    }
    bool operator()(std::string_view full, uint32_t id) const { return (*this)(id, full); }
  };
  struct StringHash {
    using is_transparent = void;
    const std::vector<std::unique_ptr<std::string>>* strings;
    size_t operator()(uint32_t id) const { return (*this)(std::string_view(*(*strings)[id])); }
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct StringEq {
    using is_transparent = void;
    const std::vector<std::unique_ptr<std::string>>* strings;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view s) const { return *(*strings)[a] == s; }
    bool operator()(std::string_view s, uint32_t a) const { return *(*strings)[a] == s; }
  };

  Shard& LocalShardSlow(LocalCache* cache);
  uint32_t InternLocked(std::string_view s);
  // Returns the slot index of the stat (prefix, suffix) of `kind`, creating it; 0 if rejected.
  uint32_t FindOrCreate(uint32_t prefix, std::string_view suffix, StatKind kind);
  Gauge GaugeAt(uint32_t index);
  void RunRefreshers();
  // The stat named `name` of `kind`, or 0.
  uint32_t FindIndex(std::string_view name, StatKind kind);

  const uint64_t id_;  // distinguishes stores in the thread-local shard cache
  std::unique_ptr<StatsMatcher> matcher_;
  std::unique_ptr<TagProducer> tags_;

  std::mutex mu_;  // registry and shard list
  std::vector<std::unique_ptr<std::string>> strings_;
  absl::flat_hash_set<uint32_t, StringHash, StringEq> string_ids_;
  std::vector<Entry> entries_;
  absl::flat_hash_set<uint32_t, EntryHash, EntryEq> entry_ids_;
  uint32_t next_index_[3] = {1, 1, 1};  // per kind; 0 is the sink
  std::vector<std::unique_ptr<Shard>> shards_;
  absl::flat_hash_map<std::thread::id, Shard*> shard_by_thread_;
  std::vector<uint64_t> counter_reset_base_;  // by counter index
  GaugeSlots gauges_;
  std::vector<std::string> custom_namespaces_;

  std::mutex refresh_mu_;
  uint64_t next_refresher_ = 1;
  std::vector<std::pair<uint64_t, std::function<void()>>> refreshers_;
};

inline void Scope::Inc(Counter c, uint64_t n) const {
  if (store_ != nullptr) store_->Inc(c, n);
}
inline void Scope::Record(Histogram h, uint64_t value) const {
  if (store_ != nullptr) store_->Record(h, value);
}

// A stats struct (T constructible from a Store* and the key) created on first use from any
// thread, then found without a lock: for stats owned by shared, immutable config (an HCM's
// http.<prefix>.*, a listener's) whose store is only known when a connection arrives.
template <typename T>
class LazyStats {
 public:
  const T& Get(Store* store, std::string_view key) const {
    const Entry* e = current_.load(std::memory_order_acquire);
    if (e != nullptr && e->store == store && e->key == key) [[likely]]
      return e->stats;
    return Slow(store, key);
  }

 private:
  struct Entry {
    Entry(Store* store, std::string_view key) : store(store), key(key), stats(store, this->key) {}
    Store* store;
    std::string key;
    T stats;
  };
  const T& Slow(Store* store, std::string_view key) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : all_) {
      if (e->store == store && e->key == key) {
        current_.store(e.get(), std::memory_order_release);
        return e->stats;
      }
    }
    all_.push_back(std::make_unique<Entry>(store, key));
    current_.store(all_.back().get(), std::memory_order_release);
    return all_.back()->stats;
  }
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<Entry>> all_;
  mutable std::atomic<const Entry*> current_{nullptr};
};

// Envoy replaces ':' in stat names (addresses, user-given prefixes) with '_'.
std::string SanitizeStatName(std::string_view name);

}  // namespace pilotfish::stats
