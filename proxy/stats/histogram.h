// Histograms with Envoy's default bucket boundaries: per-thread bucket counts and sum, merged
// when read, and the quantiles and bucket summaries the admin endpoint prints.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace pilotfish::stats {

// Envoy's default histogram buckets (upper bounds, inclusive), in the recorded unit (ms).
inline constexpr std::array<double, 19> kDefaultBuckets = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
inline constexpr size_t kBucketCount = kDefaultBuckets.size();

// The quantiles Envoy reports (P0 ... P100).
inline constexpr std::array<double, 10> kSupportedQuantiles = {0,    0.25, 0.5,   0.75,  0.9,
                                                               0.95, 0.99, 0.995, 0.999, 1};

// Merged values: disjoint bucket counts (the last one is above every boundary), count and sum.
struct HistogramValues {
  std::array<uint64_t, kBucketCount + 1> buckets{};
  uint64_t sum = 0;

  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t b : buckets) n += b;
    return n;
  }
  // Samples <= kDefaultBuckets[i].
  uint64_t Cumulative(size_t i) const {
    uint64_t n = 0;
    for (size_t j = 0; j <= i; ++j) n += buckets[j];
    return n;
  }
  // Estimated quantile q in [0, 1] of integer samples: linear interpolation inside the bucket
  // holding it (the buckets are all that is kept). 0 for an empty histogram.
  double Quantile(double q) const;
};

// One thread's histogram: written by that thread only (load + store, no read-modify-write).
struct HistogramCell {
  std::array<std::atomic<uint64_t>, kBucketCount + 1> buckets{};
  std::atomic<uint64_t> sum{0};

  static size_t BucketOf(uint64_t value) {
    return static_cast<size_t>(std::lower_bound(kDefaultBuckets.begin(), kDefaultBuckets.end(),
                                                static_cast<double>(value)) -
                               kDefaultBuckets.begin());
  }
  void Record(uint64_t value) {
    std::atomic<uint64_t>& b = buckets[BucketOf(value)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum.store(sum.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
  }
  void AddTo(HistogramValues* out) const {
    for (size_t i = 0; i < buckets.size(); ++i) {
      out->buckets[i] += buckets[i].load(std::memory_order_relaxed);
    }
    out->sum += sum.load(std::memory_order_relaxed);
  }
};

// "0.5", "1", "3600000": the shortest form of a bucket bound or quantile (Envoy's {:g}, with
// enough precision to print every default bound in fixed notation).
std::string FormatDouble(double v);

}  // namespace pilotfish::stats
