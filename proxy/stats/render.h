// The admin endpoint's stats formats, as Envoy prints them: /stats text ("name: value"), JSON
// ({"stats":[...]}) and Prometheus text exposition format 0.0.4.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/stats/store.h"
#include "proxy/stats/tag_extractor.h"

namespace pilotfish::stats {

struct RenderOptions {
  bool used_only = false;
  enum class Type { kAll, kCounters, kGauges, kHistograms } type = Type::kAll;
  // /stats?histogram_buckets=: quantiles (Envoy's default), or bucket counts.
  enum class Buckets { kNone, kCumulative, kDisjoint } buckets = Buckets::kNone;
};

// "name: value" lines (counters and gauges by name), then one line per histogram.
std::string RenderText(const StatsSnapshot& stats, const RenderOptions& options);
// {"stats":[{"name":..,"value":..},...,{"histograms":{...}}]}
std::string RenderJson(const StatsSnapshot& stats, const RenderOptions& options);
// Counters, then gauges, then histograms; one "# TYPE" line per metric family. Names are the
// tag-extracted names, sanitized and prefixed "envoy_" unless in a custom namespace.
std::string RenderPrometheus(const StatsSnapshot& stats, const TagProducer& tags,
                             const std::vector<std::string>& custom_namespaces,
                             const RenderOptions& options);

// Prometheus helpers: any character outside [a-zA-Z0-9_] becomes '_'; label values escape
// '\', '"' and newline.
std::string PrometheusSanitizeName(std::string_view name);
std::string PrometheusEscapeLabelValue(std::string_view value);
// The metric name for a tag-extracted stat name; "" when it cannot be one (a custom-namespace
// name that is empty or starts with a digit).
std::string PrometheusMetricName(std::string_view extracted_name,
                                 const std::vector<std::string>& custom_namespaces);

}  // namespace pilotfish::stats
