// /clusters text and JSON. Host counters pilotfish does not keep per host are reported as 0.
// Success rates come from the outlier detector's last interval (-1: not computed).
#include "bootstrap/clusters_status.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "envoy/admin/v3/clusters.pb.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/upstream/outlier_detector.h"

namespace pilotfish::bootstrap {
namespace {

// Per-host stats in Envoy's order (counters, then gauges); a null value is not tracked here.
struct HostStat {
  const char* name;
  bool gauge;
  uint64_t value;
};

std::vector<HostStat> HostStats(const upstream::Host& host) {
  const upstream::HostCounters& c = host.counters();
  auto v = [](const auto& a) { return static_cast<uint64_t>(a.load(std::memory_order_relaxed)); };
  return {{"cx_connect_fail", false, v(c.cx_connect_fail)},
          {"cx_total", false, v(c.cx_total)},
          {"rq_error", false, v(c.rq_error)},
          {"rq_success", false, v(c.rq_success)},
          {"rq_timeout", false, v(c.rq_timeout)},
          {"rq_total", false, v(c.rq_total)},
          {"cx_active", true, v(host.cx_active)},
          {"rq_active", true, v(host.rq_active)}};
}

uint64_t Value(const HostStat& stat) { return stat.value; }

// One host with what the cluster's configuration says about it.
struct HostView {
  const upstream::Host* host;
  const config::Endpoint* endpoint;  // null when not found (e.g. a DNS answer)
  bool ejected;
};

std::vector<HostView> Hosts(const ClusterStatus& cluster) {
  std::vector<HostView> out;
  if (cluster.hosts == nullptr) return out;
  absl::flat_hash_map<std::string, const config::Endpoint*> by_address;  // "ip:port" or name
  for (const auto& ep : cluster.endpoints) {
    by_address.try_emplace(absl::StrCat(ep.address.address, ":", ep.address.port), &ep);
    if (!ep.hostname.empty())
      by_address.try_emplace(absl::StrCat(ep.hostname, ":", ep.address.port), &ep);
  }
  const upstream::OutlierDetector* outlier = cluster.info->outlier_detector();
  for (const auto& host : cluster.hosts->hosts) {
    const std::string port = absl::StrCat(":", host->address().port());
    auto it = by_address.find(host->address().ip() + port);
    if (it == by_address.end() && !host->hostname().empty()) {
      it = by_address.find(host->hostname() + port);  // DNS: the endpoint names the host
    }
    out.push_back({host.get(), it == by_address.end() ? nullptr : it->second,
                   outlier != nullptr && outlier->IsEjected(*host)});
  }
  return out;
}

// Envoy's HostUtility::healthFlagsToString.
std::string HealthFlags(const HostView& h) {
  std::string out;
  if (h.ejected) out += "/failed_outlier_check";
  if (h.endpoint != nullptr && h.endpoint->health == config::EndpointHealth::kUnhealthy) {
    out += "/failed_eds_health";
  }
  if (h.endpoint != nullptr && h.endpoint->health == config::EndpointHealth::kDegraded) {
    out += "/degraded_eds_health";
  }
  return out.empty() ? "healthy" : out;
}

// A double as fmt's "{:g}" prints it (the cluster's outlier lines): -1, 52, 93.3333.
std::string FormatG(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// A double as fmt's "{}" prints it (the hosts' success rates): the shortest text that reads back
// as the same value, with ".0" on whole numbers (-1.0, 100.0, 93.33333333333333).
std::string FormatShortest(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string out = buf;
  if (out.find_first_of(".en") == std::string::npos) out += ".0";
  return out;
}

const std::string& ObservabilityName(const config::Cluster& c) {
  return c.alt_stat_name->empty() ? c.name : *c.alt_stat_name;
}

void AddThresholds(const config::CircuitBreakerThresholds& t,
                   envoy::config::core::v3::RoutingPriority priority,
                   envoy::admin::v3::ClusterStatus* out) {
  auto* thresholds = out->mutable_circuit_breakers()->add_thresholds();
  thresholds->set_priority(priority);
  thresholds->mutable_max_connections()->set_value(t.max_connections);
  thresholds->mutable_max_pending_requests()->set_value(t.max_pending_requests);
  thresholds->mutable_max_requests()->set_value(t.max_requests);
  thresholds->mutable_max_retries()->set_value(t.max_retries);
}

}  // namespace

std::string RenderClustersText(const std::vector<ClusterStatus>& clusters) {
  std::string out;
  for (const ClusterStatus& cluster : clusters) {
    const config::Cluster& c = cluster.info->config();
    const std::string& name = c.name;
    absl::StrAppend(&out, name, "::observability_name::", ObservabilityName(c), "\n");
    if (const upstream::OutlierDetector* od = cluster.info->outlier_detector()) {
      const auto external = od->success_rate_nums(false);
      const auto local = od->success_rate_nums(true);
      absl::StrAppend(
          &out, name, "::outlier::success_rate_average::", FormatG(external.average), "\n", name,
          "::outlier::success_rate_ejection_threshold::", FormatG(external.ejection_threshold),
          "\n", name, "::outlier::local_origin_success_rate_average::", FormatG(local.average),
          "\n", name, "::outlier::local_origin_success_rate_ejection_threshold::",
          FormatG(local.ejection_threshold), "\n");
    }
    for (const auto& [priority, t] : {std::pair{"default", &c.circuit_breakers},
                                      std::pair{"high", &*c.circuit_breakers_high}}) {
      absl::StrAppend(&out, name, "::", priority,
                      "_priority::max_connections::", t->max_connections, "\n", name,
                      "::", priority, "_priority::max_pending_requests::", t->max_pending_requests,
                      "\n", name, "::", priority, "_priority::max_requests::", t->max_requests,
                      "\n", name, "::", priority, "_priority::max_retries::", t->max_retries, "\n");
    }
    absl::StrAppend(&out, name, "::added_via_api::", cluster.added_via_api ? "true" : "false",
                    "\n");
    if (c.type == config::ClusterType::kEds) {
      absl::StrAppend(&out, name, "::eds_service_name::", c.eds_service_name, "\n");
    }
    for (const HostView& h : Hosts(cluster)) {
      const std::string prefix = absl::StrCat(name, "::", h.host->address().ToString(), "::");
      std::vector<HostStat> stats = HostStats(*h.host);
      std::sort(stats.begin(), stats.end(), [](const HostStat& a, const HostStat& b) {
        return std::string_view(a.name) < b.name;
      });
      for (const HostStat& stat : stats)
        absl::StrAppend(&out, prefix, stat.name, "::", Value(stat), "\n");
      const config::Endpoint* ep = h.endpoint;
      absl::StrAppend(
          &out, prefix, "hostname::", h.host->hostname(), "\n", prefix,
          "health_flags::", HealthFlags(h), "\n", prefix, "weight::", h.host->weight(), "\n",
          prefix, "region::", ep != nullptr ? ep->region : "", "\n", prefix,
          "zone::", ep != nullptr ? ep->zone : "", "\n", prefix,
          "sub_zone::", ep != nullptr ? ep->sub_zone : "", "\n", prefix, "canary::false\n", prefix,
          "priority::", ep != nullptr ? ep->priority : 0, "\n", prefix, "success_rate::",
          FormatShortest(h.host->outlier_state().success_rate.load(std::memory_order_relaxed)),
          "\n", prefix, "local_origin_success_rate::",
          FormatShortest(
              h.host->outlier_state().local_success_rate.load(std::memory_order_relaxed)),
          "\n");
    }
  }
  return out;
}

std::string RenderClustersJson(const std::vector<ClusterStatus>& clusters) {
  envoy::admin::v3::Clusters proto;
  for (const ClusterStatus& cluster : clusters) {
    const config::Cluster& c = cluster.info->config();
    auto* status = proto.add_cluster_statuses();
    status->set_name(c.name);
    status->set_observability_name(ObservabilityName(c));
    if (c.type == config::ClusterType::kEds) status->set_eds_service_name(c.eds_service_name);
    AddThresholds(c.circuit_breakers, envoy::config::core::v3::DEFAULT, status);
    AddThresholds(c.circuit_breakers_high, envoy::config::core::v3::HIGH, status);
    const upstream::OutlierDetector* od = cluster.info->outlier_detector();
    // Envoy sets the thresholds only when computed (positive).
    if (od != nullptr && od->success_rate_nums(false).ejection_threshold > 0) {
      status->mutable_success_rate_ejection_threshold()->set_value(
          od->success_rate_nums(false).ejection_threshold);
    }
    if (od != nullptr && od->success_rate_nums(true).ejection_threshold > 0) {
      status->mutable_local_origin_success_rate_ejection_threshold()->set_value(
          od->success_rate_nums(true).ejection_threshold);
    }
    status->set_added_via_api(cluster.added_via_api);
    for (const HostView& h : Hosts(cluster)) {
      auto* host = status->add_host_statuses();
      auto* address = host->mutable_address()->mutable_socket_address();
      address->set_address(h.host->address().ip());
      address->set_port_value(h.host->address().port());
      host->set_hostname(h.host->hostname());
      auto* locality = host->mutable_locality();
      if (h.endpoint != nullptr) {
        locality->set_region(h.endpoint->region);
        locality->set_zone(h.endpoint->zone);
        locality->set_sub_zone(h.endpoint->sub_zone);
        host->set_priority(h.endpoint->priority);
      }
      for (const HostStat& stat : HostStats(*h.host)) {
        auto* metric = host->add_stats();
        metric->set_name(stat.name);
        metric->set_value(Value(stat));
        metric->set_type(stat.gauge ? envoy::admin::v3::SimpleMetric::GAUGE
                                    : envoy::admin::v3::SimpleMetric::COUNTER);
      }
      auto* health = host->mutable_health_status();
      health->set_failed_outlier_check(h.ejected);
      const config::EndpointHealth eds =
          h.endpoint != nullptr ? h.endpoint->health : config::EndpointHealth::kHealthy;
      health->set_eds_health_status(
          eds == config::EndpointHealth::kUnhealthy  ? envoy::config::core::v3::UNHEALTHY
          : eds == config::EndpointHealth::kDegraded ? envoy::config::core::v3::DEGRADED
                                                     : envoy::config::core::v3::HEALTHY);
      host->set_weight(h.host->weight());
      const double rate = h.host->outlier_state().success_rate.load(std::memory_order_relaxed);
      const double local_rate =
          h.host->outlier_state().local_success_rate.load(std::memory_order_relaxed);
      if (rate >= 0) host->mutable_success_rate()->set_value(rate);
      if (local_rate >= 0) host->mutable_local_origin_success_rate()->set_value(local_rate);
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(proto, &json, options).ok()) return "{}";
  return json;
}

}  // namespace pilotfish::bootstrap
