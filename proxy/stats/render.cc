// Text, JSON and Prometheus renderings of a stats snapshot.
#include "proxy/stats/render.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "proxy/common/json.h"
#include "proxy/common/str_util.h"

namespace pilotfish::stats {
namespace {

bool WantNumeric(const NumericSample& s, const RenderOptions& o) {
  if (o.used_only && !s.used) return false;
  switch (o.type) {
    case RenderOptions::Type::kAll:
      return true;
    case RenderOptions::Type::kCounters:
      return s.kind == StatKind::kCounter;
    case RenderOptions::Type::kGauges:
      return s.kind == StatKind::kGauge;
    case RenderOptions::Type::kHistograms:
      return false;
  }
  return false;
}

bool WantHistogram(const HistogramSample& h, const RenderOptions& o) {
  if (o.used_only && h.values.count() == 0) return false;
  return o.type == RenderOptions::Type::kAll || o.type == RenderOptions::Type::kHistograms;
}

// 100 * quantile as Envoy labels it: "P0", "P99.5".
std::string QuantileLabel(double q) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%g", 100 * q);
  return buf;
}

// The histogram's bucket counts as the text and JSON bucket modes show them.
std::vector<uint64_t> BucketCounts(const HistogramValues& v, RenderOptions::Buckets mode) {
  std::vector<uint64_t> out(kBucketCount);
  for (size_t i = 0; i < kBucketCount; ++i) {
    out[i] = mode == RenderOptions::Buckets::kCumulative ? v.Cumulative(i) : v.buckets[i];
  }
  return out;
}

std::string FormatTags(const std::vector<Tag>& tags) {
  std::string out;
  for (const Tag& t : tags) {
    if (!out.empty()) out.push_back(',');
    absl::StrAppend(&out, PrometheusSanitizeName(t.name), "=\"",
                    PrometheusEscapeLabelValue(t.value), "\"");
  }
  return out;
}

}  // namespace

std::string RenderText(const StatsSnapshot& stats, const RenderOptions& options) {
  std::string out;
  for (const NumericSample& s : stats.numeric) {
    if (WantNumeric(s, options)) absl::StrAppend(&out, s.name, ": ", s.value, "\n");
  }
  for (const HistogramSample& h : stats.histograms) {
    if (!WantHistogram(h, options)) continue;
    if (h.values.count() == 0) {
      absl::StrAppend(&out, h.name, ": No recorded values\n");
      continue;
    }
    absl::StrAppend(&out, h.name, ":");
    if (options.buckets == RenderOptions::Buckets::kNone) {
      // P<q>(interval,cumulative); pilotfish keeps no flush intervals.
      for (double q : kSupportedQuantiles) {
        absl::StrAppend(&out, " P", QuantileLabel(q), "(nan,", FormatDouble(h.values.Quantile(q)),
                        ")");
      }
    } else {
      const std::vector<uint64_t> counts = BucketCounts(h.values, options.buckets);
      for (size_t i = 0; i < kBucketCount; ++i) {
        absl::StrAppend(&out, " B", FormatDouble(kDefaultBuckets[i]), "(0,", counts[i], ")");
      }
    }
    out.push_back('\n');
  }
  return out;
}

std::string RenderJson(const StatsSnapshot& stats, const RenderOptions& options) {
  std::string out = "{\"stats\":[";
  bool first = true;
  for (const NumericSample& s : stats.numeric) {
    if (!WantNumeric(s, options)) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"name\":");
    AppendJsonString(s.name, out);
    absl::StrAppend(&out, ",\"value\":", s.value, "}");
  }
  std::vector<const HistogramSample*> hists;
  for (const HistogramSample& h : stats.histograms) {
    if (WantHistogram(h, options)) hists.push_back(&h);
  }
  if (!hists.empty()) {
    if (!first) out.push_back(',');
    out.append("{\"histograms\":");
    if (options.buckets == RenderOptions::Buckets::kNone) {
      out.append("{\"supported_quantiles\":[");
      for (size_t i = 0; i < kSupportedQuantiles.size(); ++i) {
        if (i > 0) out.push_back(',');
        out.append(QuantileLabel(kSupportedQuantiles[i]));
      }
      out.append("],\"computed_quantiles\":[");
      for (size_t j = 0; j < hists.size(); ++j) {
        if (j > 0) out.push_back(',');
        out.append("{\"name\":");
        AppendJsonString(hists[j]->name, out);
        out.append(",\"values\":[");
        const bool empty = hists[j]->values.count() == 0;
        for (size_t i = 0; i < kSupportedQuantiles.size(); ++i) {
          if (i > 0) out.push_back(',');
          absl::StrAppend(
              &out, "{\"interval\":null,\"cumulative\":",
              empty ? "null" : FormatDouble(hists[j]->values.Quantile(kSupportedQuantiles[i])),
              "}");
        }
        out.append("]}");
      }
      out.append("]}");
    } else {
      out.push_back('[');
      for (size_t j = 0; j < hists.size(); ++j) {
        if (j > 0) out.push_back(',');
        out.append("{\"name\":");
        AppendJsonString(hists[j]->name, out);
        out.append(",\"buckets\":[");
        const std::vector<uint64_t> counts = BucketCounts(hists[j]->values, options.buckets);
        for (size_t i = 0; i < kBucketCount; ++i) {
          if (i > 0) out.push_back(',');
          absl::StrAppend(&out, "{\"upper_bound\":", FormatDouble(kDefaultBuckets[i]),
                          ",\"interval\":0,\"cumulative\":", counts[i], "}");
        }
        out.append("]}");
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string PrometheusSanitizeName(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  return out;
}

std::string PrometheusEscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PrometheusMetricName(std::string_view extracted_name,
                                 const std::vector<std::string>& custom_namespaces) {
  for (const std::string& ns : custom_namespaces) {
    if (extracted_name.size() > ns.size() && StartsWith(extracted_name, ns) &&
        extracted_name[ns.size()] == '.') {
      std::string name = PrometheusSanitizeName(extracted_name.substr(ns.size() + 1));
      if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return "";
      return name;
    }
  }
  return "envoy_" + PrometheusSanitizeName(extracted_name);
}

std::string RenderPrometheus(const StatsSnapshot& stats, const TagProducer& tags,
                             const std::vector<std::string>& custom_namespaces,
                             const RenderOptions& options) {
  // Families by metric name; samples keep the stats' name order inside a family.
  using Family = std::vector<std::pair<std::string, const void*>>;  // formatted tags, sample
  std::map<std::string, Family> counters, gauges, histograms;
  auto add = [&](std::map<std::string, Family>& into, std::string_view name, const void* sample) {
    std::vector<Tag> t;
    const std::string metric = PrometheusMetricName(tags.Produce(name, &t), custom_namespaces);
    if (!metric.empty()) into[metric].emplace_back(FormatTags(t), sample);
  };
  for (const NumericSample& s : stats.numeric) {
    if (!WantNumeric(s, options)) continue;
    add(s.kind == StatKind::kCounter ? counters : gauges, s.name, &s);
  }
  for (const HistogramSample& h : stats.histograms) {
    if (WantHistogram(h, options)) add(histograms, h.name, &h);
  }

  std::string out;
  auto numeric = [&](const std::map<std::string, Family>& families, const char* type) {
    for (const auto& [metric, samples] : families) {
      absl::StrAppend(&out, "# TYPE ", metric, " ", type, "\n");
      for (const auto& [labels, sample] : samples) {
        absl::StrAppend(&out, metric, "{", labels, "} ",
                        static_cast<const NumericSample*>(sample)->value, "\n");
      }
    }
  };
  numeric(counters, "counter");
  numeric(gauges, "gauge");
  for (const auto& [metric, samples] : histograms) {
    absl::StrAppend(&out, "# TYPE ", metric, " histogram\n");
    for (const auto& [labels, sample] : samples) {
      const HistogramValues& v = static_cast<const HistogramSample*>(sample)->values;
      const std::string sep = labels.empty() ? "" : ",";
      for (size_t i = 0; i < kBucketCount; ++i) {
        absl::StrAppend(&out, metric, "_bucket{", labels, sep, "le=\"",
                        FormatDouble(kDefaultBuckets[i]), "\"} ", v.Cumulative(i), "\n");
      }
      absl::StrAppend(&out, metric, "_bucket{", labels, sep, "le=\"+Inf\"} ", v.count(), "\n");
      absl::StrAppend(&out, metric, "_sum{", labels, "} ", v.sum, "\n");
      absl::StrAppend(&out, metric, "_count{", labels, "} ", v.count(), "\n");
    }
  }
  return out;
}

}  // namespace pilotfish::stats
