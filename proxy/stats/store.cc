// Store: the name registry (under a lock), per-thread shards and the merged read.
#include "proxy/stats/store.h"

#include <algorithm>

#include "proxy/stats/stats_matcher.h"
#include "proxy/stats/tag_extractor.h"

namespace pilotfish::stats {
namespace {

GaugeCell& SinkGaugeCell() {
  static GaugeCell cell;
  return cell;
}

std::atomic<uint64_t> next_store_id{1};

}  // namespace

Gauge::Gauge() : cell_(&SinkGaugeCell()) {}
bool Gauge::is_sink() const { return cell_ == &SinkGaugeCell(); }

std::string SanitizeStatName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == ':') c = '_';
  }
  return out;
}

// -------------------------------------------------------------------------------------- Scope
Counter Scope::CounterFor(std::string_view name) const {
  if (store_ == nullptr) return Counter{};
  return Counter{store_->FindOrCreate(prefix_, name, StatKind::kCounter)};
}

Gauge Scope::GaugeFor(std::string_view name) const {
  if (store_ == nullptr) return Gauge();
  return store_->GaugeAt(store_->FindOrCreate(prefix_, name, StatKind::kGauge));
}

Histogram Scope::HistogramFor(std::string_view name) const {
  if (store_ == nullptr) return Histogram{};
  return Histogram{store_->FindOrCreate(prefix_, name, StatKind::kHistogram)};
}

const std::string& Scope::prefix() const {
  static const std::string kEmpty;
  if (store_ == nullptr) return kEmpty;
  std::lock_guard<std::mutex> lock(store_->mu_);
  return *store_->strings_[prefix_];
}

// -------------------------------------------------------------------------------------- Store
Store::Store(const config::StatsConfig& config)
    : id_(next_store_id.fetch_add(1)),
      matcher_(std::make_unique<StatsMatcher>(config.stats_matcher)),
      tags_(std::make_unique<TagProducer>(config)),
      string_ids_(0, StringHash{&strings_}, StringEq{&strings_}),
      entry_ids_(0, EntryHash{this}, EntryEq{this}) {
  std::lock_guard<std::mutex> lock(mu_);
  InternLocked("");  // id 0: the empty prefix of full-name stats
}

Store::~Store() = default;

bool Store::Rejects(std::string_view name) const { return matcher_->Rejects(name); }

uint32_t Store::InternLocked(std::string_view s) {
  auto it = string_ids_.find(s);
  if (it != string_ids_.end()) return *it;
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.push_back(std::make_unique<std::string>(s));
  string_ids_.insert(id);
  return id;
}

Scope Store::CreateScope(std::string_view prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  return Scope(this, InternLocked(prefix));
}

uint32_t Store::FindOrCreate(uint32_t prefix, std::string_view suffix, StatKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  // A name is one stat however it is split ("cluster.a." + "outlier_detection.x", or whole).
  std::string full = *strings_[prefix];
  full.append(suffix);
  auto it = entry_ids_.find(std::string_view(full));
  if (it != entry_ids_.end()) {
    const Entry& e = entries_[*it];
    return e.kind() == kind ? e.index : 0;  // one name, one kind
  }
  if (matcher_->Rejects(full)) return 0;
  const int k = static_cast<int>(kind);
  const uint32_t capacity = kind == StatKind::kCounter ? CounterSlots::kCapacity
                            : kind == StatKind::kGauge ? GaugeSlots::kCapacity
                                                       : HistogramSlots::kCapacity;
  if (next_index_[k] >= capacity) return 0;  // full: the stat is a sink
  Entry e{prefix, InternLocked(suffix), next_index_[k]++, static_cast<uint32_t>(kind)};
  if (kind == StatKind::kGauge) gauges_.GetOrCreate(e.index);
  entries_.push_back(e);
  entry_ids_.insert(static_cast<uint32_t>(entries_.size() - 1));
  return e.index;
}

Counter Store::CounterFor(std::string_view name) {
  return Counter{FindOrCreate(0, name, StatKind::kCounter)};
}
Gauge Store::GaugeFor(std::string_view name) {
  return GaugeAt(FindOrCreate(0, name, StatKind::kGauge));
}
Histogram Store::HistogramFor(std::string_view name) {
  return Histogram{FindOrCreate(0, name, StatKind::kHistogram)};
}

Gauge Store::GaugeAt(uint32_t index) {
  if (index == 0) return Gauge();
  // The chunk was created when the gauge was; its cell never moves.
  return Gauge(const_cast<GaugeCell*>(gauges_.Find(index)));
}

Shard& Store::LocalShardSlow(LocalCache* cache) {
  std::lock_guard<std::mutex> lock(mu_);
  Shard*& shard = shard_by_thread_[std::this_thread::get_id()];
  if (shard == nullptr) {
    shards_.push_back(std::make_unique<Shard>());
    shard = shards_.back().get();
  }
  cache->store_id = id_;
  cache->shard = shard;
  return *shard;
}

uint64_t Store::AddRefresher(std::function<void()> refresh) {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  const uint64_t id = next_refresher_++;
  refreshers_.emplace_back(id, std::move(refresh));
  return id;
}

void Store::RemoveRefresher(uint64_t id) {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  std::erase_if(refreshers_, [id](const auto& r) { return r.first == id; });
}

void Store::RunRefreshers() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  for (const auto& [id, refresh] : refreshers_) refresh();
}

StatsSnapshot Store::Collect(const std::function<bool(std::string_view)>& keep) {
  RunRefreshers();
  // Copy what the registry knows under the lock; read the values without it. Strings, shards
  // and slots are never freed or moved while the store lives.
  std::vector<Entry> entries;
  std::vector<const std::string*> strings;
  std::vector<const Shard*> shards;
  std::vector<uint64_t> reset_base;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries = entries_;
    strings.reserve(strings_.size());
    for (const auto& s : strings_) strings.push_back(s.get());
    for (const auto& s : shards_) shards.push_back(s.get());
    reset_base = counter_reset_base_;
  }
  StatsSnapshot out;
  out.numeric.reserve(entries.size());
  for (const Entry& e : entries) {
    std::string name = *strings[e.prefix];
    name.append(*strings[e.suffix]);
    if (keep && !keep(name)) continue;
    switch (e.kind()) {
      case StatKind::kCounter: {
        uint64_t total = 0;
        for (const Shard* s : shards) total += s->CounterValue(e.index);
        const uint64_t base = e.index < reset_base.size() ? reset_base[e.index] : 0;
        out.numeric.push_back(
            {std::move(name), e.kind(), total - std::min(base, total), total > 0});
        break;
      }
      case StatKind::kGauge: {
        const GaugeCell* cell = gauges_.Find(e.index);
        out.numeric.push_back({std::move(name), e.kind(),
                               cell->value.load(std::memory_order_relaxed),
                               cell->used.load(std::memory_order_relaxed)});
        break;
      }
      case StatKind::kHistogram: {
        HistogramSample h{std::move(name), {}};
        for (const Shard* s : shards) s->AddHistogramTo(e.index, &h.values);
        out.histograms.push_back(std::move(h));
        break;
      }
    }
  }
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(out.numeric.begin(), out.numeric.end(), by_name);
  std::sort(out.histograms.begin(), out.histograms.end(), by_name);
  return out;
}

uint32_t Store::FindIndex(std::string_view name, StatKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entry_ids_.find(name);
  if (it == entry_ids_.end() || entries_[*it].kind() != kind) return 0;
  return entries_[*it].index;
}

uint64_t Store::CounterValue(std::string_view name) {
  const uint32_t index = FindIndex(name, StatKind::kCounter);
  if (index == 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->CounterValue(index);
  const uint64_t base = index < counter_reset_base_.size() ? counter_reset_base_[index] : 0;
  return total - std::min(base, total);
}

uint64_t Store::GaugeValue(std::string_view name) {
  const uint32_t index = FindIndex(name, StatKind::kGauge);
  return index == 0 ? 0 : gauges_.Find(index)->value.load(std::memory_order_relaxed);
}

HistogramValues Store::HistogramValue(std::string_view name) {
  HistogramValues out;
  const uint32_t index = FindIndex(name, StatKind::kHistogram);
  if (index == 0) return out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : shards_) s->AddHistogramTo(index, &out);
  return out;
}

void Store::ResetCounters() {
  std::lock_guard<std::mutex> lock(mu_);
  counter_reset_base_.assign(next_index_[static_cast<int>(StatKind::kCounter)], 0);
  for (uint32_t i = 1; i < counter_reset_base_.size(); ++i) {
    for (const auto& s : shards_) counter_reset_base_[i] += s->CounterValue(i);
  }
}

void Store::AddCustomNamespace(std::string_view ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(custom_namespaces_.begin(), custom_namespaces_.end(), ns) ==
      custom_namespaces_.end()) {
    custom_namespaces_.emplace_back(ns);
  }
}

std::vector<std::string> Store::custom_namespaces() {
  std::lock_guard<std::mutex> lock(mu_);
  return custom_namespaces_;
}

size_t Store::stat_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

size_t Store::MemoryBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = sizeof(*this);
  for (const auto& s : strings_) {
    n += sizeof(std::string) + sizeof(void*);
    if (s->capacity() > 15) n += s->capacity() + 1;
  }
  n += string_ids_.capacity() * (sizeof(uint32_t) + 1);
  n += entries_.capacity() * sizeof(Entry);
  n += entry_ids_.capacity() * (sizeof(uint32_t) + 1);
  n += counter_reset_base_.capacity() * sizeof(uint64_t);
  n += gauges_.AllocatedBytes();
  for (const auto& s : shards_) n += sizeof(Shard) + s->AllocatedBytes();
  return n;
}

}  // namespace pilotfish::stats
