// ClusterInfo construction (it owns the cluster's outlier detector).
#include "proxy/upstream/host.h"

#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::upstream {

ClusterInfo::ClusterInfo(config::Cluster config) : config_(std::move(config)) {
  if (config_.outlier_detection) {
    outlier_ = std::make_unique<OutlierDetector>(*config_.outlier_detection);
  }
}

ClusterInfo::~ClusterInfo() = default;

}  // namespace pilotfish::upstream
