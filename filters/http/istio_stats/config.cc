// See config.h.
#include "filters/http/istio_stats/config.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "udpa/type/v1/typed_struct.pb.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"

namespace pilotfish::filters::istio_stats {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const std::string* StringField(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != Value::kStringValue) return nullptr;
  return &it->second.string_value();
}

void SetIfPresent(const Struct& s, const std::string& key, std::string* out) {
  const std::string* v = StringField(s, key);
  if (v != nullptr && !v->empty()) *out = *v;
}

absl::Status ParseMetric(const Value& v, const std::string& path, MetricOverride* out,
                         std::vector<std::string>* warnings) {
  if (v.kind_case() != Value::kStructValue) return xds::InvalidAt(path, "must be an object");
  for (const auto& [key, value] : v.struct_value().fields()) {
    const std::string p = xds::FieldPath(path, key);
    if (key == "name") {
      if (value.kind_case() != Value::kStringValue) return xds::InvalidAt(p, "must be a string");
      out->name = value.string_value();
    } else if (key == "tags_to_remove" || key == "tagsToRemove") {
      if (value.kind_case() != Value::kListValue) return xds::InvalidAt(p, "must be a list");
      for (const Value& t : value.list_value().values()) {
        if (t.kind_case() != Value::kStringValue) return xds::InvalidAt(p, "must hold strings");
        out->tags_to_remove.push_back(t.string_value());
      }
    } else if (key == "drop") {
      if (value.kind_case() != Value::kBoolValue) return xds::InvalidAt(p, "must be a bool");
      out->drop = value.bool_value();
    } else if (key == "dimensions" || key == "match") {
      xds::Warn(warnings, p,
                "CEL expressions are not evaluated by pilotfish; the standard labels are kept");
    } else {
      return xds::InvalidAt(p, "unknown field of stats.MetricConfig");
    }
  }
  return absl::OkStatus();
}

}  // namespace

PeerIdentity LocalIdentity(const envoy::config::core::v3::Node& node) {
  PeerIdentity id;
  const Struct& md = node.metadata();
  SetIfPresent(md, "WORKLOAD_NAME", &id.workload);
  SetIfPresent(md, "NAMESPACE", &id.workload_namespace);
  SetIfPresent(md, "CLUSTER_ID", &id.cluster);
  auto labels_it = md.fields().find("LABELS");
  const Struct empty;
  const Struct& labels =
      labels_it != md.fields().end() && labels_it->second.kind_case() == Value::kStructValue
          ? labels_it->second.struct_value()
          : empty;
  SetIfPresent(labels, "app.kubernetes.io/name", &id.app);
  SetIfPresent(labels, "app", &id.app);
  SetIfPresent(labels, "app.kubernetes.io/version", &id.version);
  SetIfPresent(labels, "version", &id.version);
  id.canonical_service = id.app != "unknown" ? id.app : id.workload;
  SetIfPresent(labels, "service.istio.io/canonical-name", &id.canonical_service);
  id.canonical_revision = id.version != "unknown" ? id.version : "latest";
  SetIfPresent(labels, "service.istio.io/canonical-revision", &id.canonical_revision);
  return id;
}

bool IstioStatsConfig::Dropped(const std::string& metric) const {
  for (const MetricOverride& m : metrics) {
    if (m.drop && (m.name.empty() || m.name == metric)) return true;
  }
  return false;
}

bool IstioStatsConfig::Removes(const std::string& metric, const std::string& label) const {
  for (const MetricOverride& m : metrics) {
    if (!m.name.empty() && m.name != metric) continue;
    for (const std::string& t : m.tags_to_remove) {
      if (t == label) return true;
    }
  }
  return false;
}

absl::StatusOr<IstioStatsConfigSharedPtr> ParseIstioStatsConfig(
    const google::protobuf::Any& typed_config, const std::string& path,
    const envoy::config::core::v3::Node& node, std::vector<std::string>* warnings) {
  udpa::type::v1::TypedStruct typed;
  if (auto s = xds::UnpackAny(typed_config, &typed, path); !s.ok()) return s;
  auto config = std::make_shared<IstioStatsConfig>();
  config->local = LocalIdentity(node);
  const std::string vp = xds::FieldPath(path, "value");
  for (const auto& [key, value] : typed.value().fields()) {
    const std::string p = xds::FieldPath(vp, key);
    if (key == "reporter") {
      // An enum: by name, or its number in JSON.
      if (value.kind_case() == Value::kStringValue && value.string_value() == "UNSPECIFIED") {
        config->reporter = IstioStatsConfig::Reporter::kUnspecified;
      } else if (value.kind_case() == Value::kStringValue &&
                 value.string_value() == "SERVER_GATEWAY") {
        config->reporter = IstioStatsConfig::Reporter::kServerGateway;
      } else if (value.kind_case() == Value::kNumberValue &&
                 (value.number_value() == 0 || value.number_value() == 1)) {
        config->reporter = value.number_value() == 0 ? IstioStatsConfig::Reporter::kUnspecified
                                                     : IstioStatsConfig::Reporter::kServerGateway;
      } else {
        return xds::InvalidAt(p, "must be UNSPECIFIED or SERVER_GATEWAY");
      }
    } else if (key == "disable_host_header_fallback" || key == "disableHostHeaderFallback") {
      if (value.kind_case() != Value::kBoolValue) return xds::InvalidAt(p, "must be a bool");
      config->disable_host_header_fallback = value.bool_value();
    } else if (key == "metrics") {
      if (value.kind_case() != Value::kListValue) return xds::InvalidAt(p, "must be a list");
      for (int i = 0; i < value.list_value().values_size(); ++i) {
        MetricOverride m;
        if (auto s = ParseMetric(value.list_value().values(i), absl::StrCat(p, "[", i, "]"), &m,
                                 warnings);
            !s.ok()) {
          return s;
        }
        config->metrics.push_back(std::move(m));
      }
    } else if (key == "definitions") {
      xds::Warn(warnings, p, "custom metric definitions are not emitted by pilotfish");
    } else if (key == "tcp_reporting_duration" || key == "tcpReportingDuration") {
      xds::Warn(warnings, p, "TCP metrics are reported when the connection closes");
    } else if (key == "rotation_interval" || key == "rotationInterval" ||
               key == "graceful_deletion_interval" || key == "gracefulDeletionInterval") {
      xds::Warn(warnings, p, "metrics are not rotated by pilotfish; ignored");
    } else {
      return xds::InvalidAt(p, "unknown field of stats.PluginConfig");
    }
  }
  return IstioStatsConfigSharedPtr(std::move(config));
}

absl::Status CheckMetadataExchangeConfig(const google::protobuf::Any& typed_config,
                                         const std::string& path,
                                         std::vector<std::string>* warnings) {
  udpa::type::v1::TypedStruct typed;
  if (auto s = xds::UnpackAny(typed_config, &typed, path); !s.ok()) return s;
  const std::string vp = xds::FieldPath(path, "value");
  for (const auto& [key, value] : typed.value().fields()) {
    if (key != "protocol" && key != "enable_discovery" && key != "enableDiscovery" &&
        key != "additional_labels" && key != "additionalLabels") {
      return xds::InvalidAt(xds::FieldPath(vp, key), "unknown field of MetadataExchange");
    }
  }
  xds::Warn(warnings, path,
            "istio.metadata_exchange: peer metadata is not exchanged by pilotfish; peer labels "
            "in Istio metrics are \"unknown\"");
  return absl::OkStatus();
}

}  // namespace pilotfish::filters::istio_stats
