// The bootstrap's layered_runtime: flattening and the runtime flags pilotfish honours.
#include "xds/translate/runtime_translate.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "xds/translate/field_check.h"

namespace pilotfish::xds {
namespace {

constexpr char kRejectFragment[] = "envoy.reloadable_features.http_reject_path_with_fragment";
constexpr char kStripFragment[] =
    "envoy.reloadable_features.http_strip_fragment_from_path_unsafe_if_disabled";

// A runtime value as Envoy keeps it: the raw string (numbers in their shortest form).
std::string RuntimeString(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      if (std::nearbyint(d) == d && std::fabs(d) < 9.007199254740992e15) {
        return absl::StrCat(static_cast<int64_t>(d));
      }
      char buf[32];
      for (int precision = 1; precision <= 17; ++precision) {
        snprintf(buf, sizeof(buf), "%.*g", precision, d);
        if (std::strtod(buf, nullptr) == d) break;
      }
      return buf;
    }
    default:
      return "";
  }
}

// Envoy's runtime feature check: "false" (any case) turns a default-on feature off; any
// other value, or none, leaves it on.
bool FeatureEnabled(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() || absl::AsciiStrToLower(it->second) != "false";
}

}  // namespace

void FlattenRuntimeLayer(const google::protobuf::Struct& layer, const std::string& prefix,
                         std::map<std::string, std::string>* out) {
  for (const auto& [key, value] : layer.fields()) {
    const std::string name = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    if (value.has_struct_value()) {
      FlattenRuntimeLayer(value.struct_value(), name, out);
    } else {
      (*out)[name] = RuntimeString(value);
    }
  }
}

config::PathFragment PathFragmentFromRuntime(const envoy::config::bootstrap::v3::Bootstrap& b) {
  std::map<std::string, std::string> values;
  for (const auto& layer : b.layered_runtime().layers()) {
    if (layer.has_static_layer()) FlattenRuntimeLayer(layer.static_layer(), "", &values);
  }
  if (FeatureEnabled(values, kRejectFragment)) {
    return config::PathFragment::kReject;
  }
  return FeatureEnabled(values, kStripFragment) ? config::PathFragment::kStrip
                                                : config::PathFragment::kKeep;
}

void WarnUnappliedRuntime(const envoy::config::bootstrap::v3::LayeredRuntime& runtime,
                          std::vector<std::string>* warnings) {
  for (int i = 0; i < runtime.layers_size(); ++i) {
    const auto& layer = runtime.layers(i);
    const std::string path = absl::StrCat("layered_runtime.layers[", i, "]");
    if (layer.has_disk_layer() || layer.has_rtds_layer()) {
      Warn(warnings, path, "disk and RTDS runtime layers are not loaded by pilotfish; ignored");
      continue;
    }
    if (!layer.has_static_layer()) continue;
    std::map<std::string, std::string> values;
    FlattenRuntimeLayer(layer.static_layer(), "", &values);
    std::vector<std::string> unapplied;
    for (const auto& entry : values) {
      if (entry.first != kRejectFragment && entry.first != kStripFragment) {
        unapplied.push_back(entry.first);
      }
    }
    if (!unapplied.empty()) {
      Warn(warnings, path + ".static_layer",
           absl::StrCat(unapplied.size(), " runtime key(s) have no effect in pilotfish (only ",
                        kRejectFragment, " and ", kStripFragment, " are read), first '",
                        unapplied.front(), "'"));
    }
  }
}

}  // namespace pilotfish::xds
