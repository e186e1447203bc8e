// envoy.config.metrics.v3.StatsConfig (the bootstrap's stats_config) -> config::StatsConfig:
// stats_tags, use_all_default_tags and stats_matcher, with every regex compiled.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/metrics/v3/stats.pb.h"
#include "proxy/config/stats.h"

namespace pilotfish::xds {

// `path` is where the message sits ("stats_config"). histogram_bucket_settings is accepted with
// a warning (pilotfish keeps Envoy's default buckets).
absl::StatusOr<config::StatsConfig> TranslateStatsConfig(
    const envoy::config::metrics::v3::StatsConfig& stats, const std::string& path,
    std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
