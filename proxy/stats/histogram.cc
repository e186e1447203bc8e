// Histogram quantiles and number formatting.
#include "proxy/stats/histogram.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace pilotfish::stats {

double HistogramValues::Quantile(double q) const {
  const uint64_t n = count();
  if (n == 0) return 0;
  // Where the quantile falls in the cumulative count, spread evenly inside its bucket.
  const double target = q * static_cast<double>(n);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(seen + buckets[i]) >= target) {
      // Recorded values are integers: the bucket (lower, upper] holds floor(lower) + 1 ..
      // floor(upper), and the first one 0 .. 0.
      const double low = i == 0 ? 0 : std::floor(kDefaultBuckets[i - 1]) + 1;
      // Above the last boundary nothing bounds the value: report where it starts.
      if (i == kBucketCount) return low;
      const double high = std::floor(kDefaultBuckets[i]);
      const double within = (target - static_cast<double>(seen)) / static_cast<double>(buckets[i]);
      return low + (high - low) * std::clamp(within, 0.0, 1.0);
    }
    seen += buckets[i];
  }
  return kDefaultBuckets.back();
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  snprintf(buf, sizeof(buf), "%.17g", v);
  // %.17g shows binary noise for values like 0.1; take the shortest form that reads back equal.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[64];
    snprintf(shorter, sizeof(shorter), "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

}  // namespace pilotfish::stats
