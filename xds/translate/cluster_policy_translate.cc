// Load balancing, circuit breakers and outlier detection; see cluster_policy_translate.h.
#include "xds/translate/cluster_policy_translate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::cluster::v3::Cluster;

constexpr uint64_t kMaxRingSize = 8388608;
constexpr uint64_t kMaxMaglevTableSize = 5000011;

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

absl::Status TranslateCommonLbConfig(const Cluster::CommonLbConfig& common, absl::string_view path,
                                     config::Cluster* out, std::vector<std::string>* warnings) {
  // update_merge_window batches host updates (timing only); ignore_new_hosts_until_first_hc is
  // moot without active health checks.
  XDS_RETURN_IF_ERROR(CheckFields(common, path,
                                  {.handled = {"healthy_panic_threshold", "update_merge_window",
                                               "ignore_new_hosts_until_first_hc"},
                                   .ignored = {"zone_aware_lb_config"}},
                                  warnings));
  if (common.has_healthy_panic_threshold()) {
    XDS_ASSIGN_OR_RETURN(double percent, ToPercent(common.healthy_panic_threshold(),
                                                   FieldPath(path, "healthy_panic_threshold")));
    out->healthy_panic_threshold_percent = static_cast<uint32_t>(std::lround(percent));
  }
  return absl::OkStatus();
}

absl::Status TranslateThresholds(const envoy::config::cluster::v3::CircuitBreakers::Thresholds& t,
                                 absl::string_view path, config::CircuitBreakerThresholds* out) {
  XDS_RETURN_IF_ERROR(
      CheckFields(t, path,
                  {.handled = {"priority", "max_connections", "max_pending_requests",
                               "max_requests", "max_retries", "retry_budget", "track_remaining"}}));
  if (t.has_max_connections()) out->max_connections = t.max_connections().value();
  if (t.has_max_pending_requests()) out->max_pending_requests = t.max_pending_requests().value();
  if (t.has_max_requests()) out->max_requests = t.max_requests().value();
  if (t.has_max_retries()) out->max_retries = t.max_retries().value();
  out->track_remaining = t.track_remaining();
  if (t.has_retry_budget()) {
    const std::string p = FieldPath(path, "retry_budget");
    XDS_RETURN_IF_ERROR(
        CheckFields(t.retry_budget(), p, {.handled = {"budget_percent", "min_retry_concurrency"}}));
    out->retry_budget_percent = 20.0;  // Envoy's default when retry_budget is present
    if (t.retry_budget().has_budget_percent()) {
      XDS_ASSIGN_OR_RETURN(out->retry_budget_percent, ToPercent(t.retry_budget().budget_percent(),
                                                                FieldPath(p, "budget_percent")));
    }
    if (t.retry_budget().has_min_retry_concurrency()) {
      out->retry_budget_min_concurrency = t.retry_budget().min_retry_concurrency().value();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TranslateLoadBalancing(const Cluster& cluster, absl::string_view path,
                                    config::Cluster* out, std::vector<std::string>* warnings) {
  switch (cluster.lb_policy()) {
    case Cluster::ROUND_ROBIN:
      out->lb_policy = config::LbPolicy::kRoundRobin;
      break;
    case Cluster::LEAST_REQUEST:
      out->lb_policy = config::LbPolicy::kLeastRequest;
      break;
    case Cluster::RANDOM:
      out->lb_policy = config::LbPolicy::kRandom;
      break;
    case Cluster::RING_HASH:
      out->lb_policy = config::LbPolicy::kRingHash;
      break;
    case Cluster::MAGLEV:
      out->lb_policy = config::LbPolicy::kMaglev;
      break;
    case Cluster::CLUSTER_PROVIDED:
      out->lb_policy = config::LbPolicy::kClusterProvided;
      break;
    default:
      return NotSupported(FieldPath(path, "lb_policy"),
                          absl::StrCat(Cluster::LbPolicy_Name(cluster.lb_policy())));
  }
  if (cluster.has_ring_hash_lb_config()) {
    const std::string p = FieldPath(path, "ring_hash_lb_config");
    const auto& ring = cluster.ring_hash_lb_config();
    XDS_RETURN_IF_ERROR(CheckFields(
        ring, p, {.handled = {"minimum_ring_size", "maximum_ring_size", "hash_function"}}));
    if (ring.hash_function() != Cluster::RingHashLbConfig::XX_HASH) {
      return NotSupported(FieldPath(p, "hash_function"), "only XX_HASH");
    }
    if (ring.has_minimum_ring_size())
      out->ring_hash_minimum_ring_size = ring.minimum_ring_size().value();
    if (ring.has_maximum_ring_size())
      out->ring_hash_maximum_ring_size = ring.maximum_ring_size().value();
    if (out->ring_hash_minimum_ring_size > kMaxRingSize ||
        out->ring_hash_maximum_ring_size > kMaxRingSize) {
      return InvalidAt(p, absl::StrCat("ring sizes must be <= ", kMaxRingSize));
    }
    if (out->ring_hash_minimum_ring_size > out->ring_hash_maximum_ring_size) {
      return InvalidAt(
          p, absl::StrCat("minimum_ring_size (", out->ring_hash_minimum_ring_size,
                          ") > maximum_ring_size (", out->ring_hash_maximum_ring_size, ")"));
    }
  }
  if (cluster.has_maglev_lb_config()) {
    const std::string p = FieldPath(path, "maglev_lb_config");
    XDS_RETURN_IF_ERROR(CheckFields(cluster.maglev_lb_config(), p, {.handled = {"table_size"}}));
    if (cluster.maglev_lb_config().has_table_size()) {
      const uint64_t size = cluster.maglev_lb_config().table_size().value();
      if (size > kMaxMaglevTableSize || !IsPrime(size)) {
        return InvalidAt(FieldPath(p, "table_size"),
                         absl::StrCat(size, " must be a prime number <= ", kMaxMaglevTableSize));
      }
      out->maglev_table_size = size;
    }
  }
  if (cluster.has_least_request_lb_config()) {
    const std::string p = FieldPath(path, "least_request_lb_config");
    // active_request_bias and slow_start_config are not implemented.
    XDS_RETURN_IF_ERROR(
        CheckFields(cluster.least_request_lb_config(), p, {.handled = {"choice_count"}}));
    if (cluster.least_request_lb_config().has_choice_count()) {
      const uint32_t choices = cluster.least_request_lb_config().choice_count().value();
      if (choices < 2) return InvalidAt(FieldPath(p, "choice_count"), "must be >= 2");
      out->least_request_choice_count = choices;
    }
  }
  if (cluster.has_round_robin_lb_config()) {
    // Its only field, slow_start_config, is not implemented.
    XDS_RETURN_IF_ERROR(
        CheckFields(cluster.round_robin_lb_config(), FieldPath(path, "round_robin_lb_config"), {}));
  }
  if (cluster.has_original_dst_lb_config()) {
    const std::string p = FieldPath(path, "original_dst_lb_config");
    XDS_RETURN_IF_ERROR(
        CheckFields(cluster.original_dst_lb_config(), p, {.handled = {"use_http_header"}}));
    out->use_http_header = cluster.original_dst_lb_config().use_http_header();
  }
  if (cluster.has_common_lb_config()) {
    XDS_RETURN_IF_ERROR(TranslateCommonLbConfig(
        cluster.common_lb_config(), FieldPath(path, "common_lb_config"), out, warnings));
  }
  return absl::OkStatus();
}

absl::Status TranslateCircuitBreakers(const envoy::config::cluster::v3::CircuitBreakers& breakers,
                                      absl::string_view path, config::Cluster* out,
                                      std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(breakers, path, {.handled = {"thresholds"}}));
  bool seen_default = false;
  bool seen_high = false;
  for (int i = 0; i < breakers.thresholds_size(); ++i) {
    const auto& t = breakers.thresholds(i);
    const std::string p = IndexPath(path, "thresholds", i);
    bool* seen = nullptr;
    config::CircuitBreakerThresholds* target = nullptr;
    switch (t.priority()) {
      case envoy::config::core::v3::DEFAULT:
        seen = &seen_default;
        target = &out->circuit_breakers;
        break;
      case envoy::config::core::v3::HIGH:
        seen = &seen_high;
        target = &out->circuit_breakers_high.Mutable();
        break;
      default:
        return InvalidAt(FieldPath(p, "priority"), "unknown priority");
    }
    if (*seen) {
      // Envoy uses the first thresholds entry of each priority.
      Warn(warnings, p, "duplicate priority ignored (the first entry applies)");
      continue;
    }
    *seen = true;
    XDS_RETURN_IF_ERROR(TranslateThresholds(t, p, target));
  }
  return absl::OkStatus();
}

absl::StatusOr<config::OutlierDetection> TranslateOutlierDetection(
    const envoy::config::cluster::v3::OutlierDetection& od, absl::string_view path,
    std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(od, path,
                                  {.handled = {"consecutive_5xx",
                                               "interval",
                                               "base_ejection_time",
                                               "max_ejection_percent",
                                               "enforcing_consecutive_5xx",
                                               "enforcing_success_rate",
                                               "success_rate_minimum_hosts",
                                               "success_rate_request_volume",
                                               "success_rate_stdev_factor",
                                               "consecutive_gateway_failure",
                                               "enforcing_consecutive_gateway_failure",
                                               "split_external_local_origin_errors",
                                               "consecutive_local_origin_failure",
                                               "enforcing_consecutive_local_origin_failure",
                                               "enforcing_local_origin_success_rate",
                                               "failure_percentage_threshold",
                                               "enforcing_failure_percentage",
                                               "enforcing_failure_percentage_local_origin",
                                               "failure_percentage_minimum_hosts",
                                               "failure_percentage_request_volume",
                                               "max_ejection_time",
                                               "successful_active_health_check_uneject_host",
                                               "always_eject_one_host"},
                                   .ignored = {"max_ejection_time_jitter"}},
                                  warnings));
  config::OutlierDetection out;
  absl::Status status;
  // Reads a UInt32Value field into `*target` when set; `max_100` for percentages.
  auto u32 = [&](bool has, const google::protobuf::UInt32Value& value, const char* name,
                 uint32_t* target, bool max_100) {
    if (!has || !status.ok()) return;
    if (max_100 && value.value() > 100) {
      status = InvalidAt(FieldPath(path, name), "must be <= 100");
      return;
    }
    *target = value.value();
  };
#define PF_OD_U32(field, max_100) u32(od.has_##field(), od.field(), #field, &out.field, max_100)
  PF_OD_U32(consecutive_5xx, false);
  PF_OD_U32(max_ejection_percent, true);
  PF_OD_U32(enforcing_consecutive_5xx, true);
  PF_OD_U32(enforcing_success_rate, true);
  PF_OD_U32(success_rate_minimum_hosts, false);
  PF_OD_U32(success_rate_request_volume, false);
  PF_OD_U32(success_rate_stdev_factor, false);
  PF_OD_U32(consecutive_gateway_failure, false);
  PF_OD_U32(enforcing_consecutive_gateway_failure, true);
  PF_OD_U32(consecutive_local_origin_failure, false);
  PF_OD_U32(enforcing_consecutive_local_origin_failure, true);
  PF_OD_U32(enforcing_local_origin_success_rate, true);
  PF_OD_U32(failure_percentage_threshold, true);
  PF_OD_U32(enforcing_failure_percentage, true);
  PF_OD_U32(enforcing_failure_percentage_local_origin, true);
  PF_OD_U32(failure_percentage_minimum_hosts, false);
  PF_OD_U32(failure_percentage_request_volume, false);
#undef PF_OD_U32
  XDS_RETURN_IF_ERROR(status);
  out.split_external_local_origin_errors = od.split_external_local_origin_errors();
  out.always_eject_one_host = od.has_always_eject_one_host() && od.always_eject_one_host().value();
  if (od.has_interval()) {
    XDS_ASSIGN_OR_RETURN(out.interval,
                         ToPositiveMillis(od.interval(), FieldPath(path, "interval")));
  }
  if (od.has_base_ejection_time()) {
    XDS_ASSIGN_OR_RETURN(
        out.base_ejection_time,
        ToPositiveMillis(od.base_ejection_time(), FieldPath(path, "base_ejection_time")));
  }
  if (od.has_max_ejection_time()) {
    XDS_ASSIGN_OR_RETURN(
        out.max_ejection_time,
        ToPositiveMillis(od.max_ejection_time(), FieldPath(path, "max_ejection_time")));
  } else {
    // Envoy: unset, it is 300 s or base_ejection_time, whichever is larger.
    out.max_ejection_time = std::max(out.max_ejection_time, out.base_ejection_time);
  }
  if (out.base_ejection_time > out.max_ejection_time) {
    return InvalidAt(path, absl::StrCat("base_ejection_time (", out.base_ejection_time.count(),
                                        "ms) is larger than max_ejection_time (",
                                        out.max_ejection_time.count(), "ms)"));
  }
  return out;
}

}  // namespace pilotfish::xds
