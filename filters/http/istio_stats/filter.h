// Istio's standard metrics (istio_requests_total, istio_request_duration_milliseconds,
// istio_request_bytes, istio_response_bytes, istio_tcp_*), counted when a stream or TCP session
// ends. Stat names carry their labels in the "k=.=v;.;" form Istio's stats_tags and the default
// tag extraction (proxy/stats/tag_extractor.cc) turn back into Prometheus labels.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/http/istio_stats/config.h"
#include "proxy/access_log/stream_observer.h"

namespace pilotfish::filters::istio_stats {

// The custom stat namespace of Istio's metrics (rendered without "envoy_").
inline constexpr char kStatNamespace[] = "istiocustom";

// One request's (or TCP session's) labels, in Istio's order.
using LabelList = std::vector<std::pair<const char*, std::string>>;

// Labels for the stream in `ctx` as this proxy reports it. `tcp`: a tcp_proxy session.
LabelList BuildLabels(const IstioStatsConfig& config, const access_log::LogContext& ctx, bool tcp);

// "istiocustom.k1=.=v1;.;k2=.=v2;.;istio_<metric>", leaving out the labels `config` removes.
std::string StatName(const IstioStatsConfig& config, const LabelList& labels,
                     const std::string& metric);

class IstioStats : public access_log::StreamObserver {
 public:
  explicit IstioStats(IstioStatsConfigSharedPtr config);
  void OnConnectionOpen(const access_log::LogContext& ctx) const override;
  void OnStreamComplete(const access_log::LogContext& ctx) const override;
  const IstioStatsConfig& config() const { return *config_; }

 private:
  IstioStatsConfigSharedPtr config_;
  std::string cache_prefix_;  // tells apart configs that trim labels differently
};

}  // namespace pilotfish::filters::istio_stats
