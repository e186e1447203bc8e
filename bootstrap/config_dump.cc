// /config_dump: one message per section in Envoy's order, then ?resource / ?mask, then JSON.
#include "bootstrap/config_dump.h"

#include <re2/re2.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envoy/admin/v3/config_dump.pb.h"
#include "envoy/admin/v3/config_dump_shared.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "proxy/admin/stats_handlers.h"
#include "udpa/type/v1/typed_struct.pb.h"
#include "xds/client/resources.h"
#include "xds/translate/proto_types.h"

namespace pilotfish::bootstrap {
namespace {

namespace adminv3 = envoy::admin::v3;
using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using google::protobuf::Any;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldMask;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Timestamp;
using google::protobuf::util::FieldMaskUtil;
using Record = DynamicConfig::ResourceRecord;
using Sections = std::vector<std::unique_ptr<Message>>;

constexpr char kAnyType[] = "google.protobuf.Any";

admin::AdminResponse Text(int status, std::string body) {
  return admin::AdminResponse{status, "text/plain; charset=UTF-8", std::move(body)};
}

Timestamp ToTimestamp(std::chrono::system_clock::time_point t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

Any PackBytes(const std::string& type_url, const std::string& bytes) {
  Any any;
  any.set_type_url(type_url);
  any.set_value(bytes);
  return any;
}

// ?name_regex=: RE2 over the whole name (Envoy's regex matcher); empty or absent matches all.
class NameMatcher {
 public:
  explicit NameMatcher(const std::string& pattern) {
    if (!pattern.empty()) re_ = std::make_unique<RE2>(pattern, RE2::Quiet);
  }
  bool ok() const { return re_ == nullptr || re_->ok(); }
  const std::string& error() const { return re_->error(); }
  bool Matches(const std::string& name) const {
    return re_ == nullptr || RE2::FullMatch(name, *re_);
  }

 private:
  std::unique_ptr<RE2> re_;
};

// The version_info of the last accepted response of a type (the section's version_info).
std::string LastVersion(const DynamicConfig& dynamic, const char* type_url,
                        const std::vector<Record>& records) {
  for (const auto& client : dynamic.clients()) {
    const std::string& version = client->stats(type_url).version_text;
    if (!version.empty()) return version;
  }
  const Record* newest = nullptr;  // a filesystem subscription: the newest resource's version
  for (const auto& r : records) {
    if (newest == nullptr || r.last_updated > newest->last_updated) newest = &r;
  }
  return newest == nullptr ? "" : newest->version;
}

// Envoy lists every inline route_config of an HCM (static or LDS listener) as a static route.
void AddInlineRoutes(const Listener& listener, const Timestamp& when, const NameMatcher& names,
                     adminv3::RoutesConfigDump* out) {
  auto scan = [&](const envoy::config::listener::v3::FilterChain& chain) {
    for (const auto& filter : chain.filters()) {
      if (!filter.has_typed_config() || xds::TypeNameOf(filter.typed_config()) != xds::kHcmType) {
        continue;
      }
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
      if (!hcm.ParseFromString(filter.typed_config().value()) || !hcm.has_route_config() ||
          !names.Matches(hcm.route_config().name())) {
        continue;
      }
      auto* route = out->add_static_route_configs();
      route->mutable_route_config()->PackFrom(hcm.route_config());
      *route->mutable_last_updated() = when;
    }
  };
  for (const auto& chain : listener.filter_chains()) scan(chain);
  if (listener.has_default_filter_chain()) scan(listener.default_filter_chain());
}

// Endpoints as configured: a cluster's inline load_assignment (not EDS), named after the cluster.
bool InlineAssignment(const Cluster& cluster,
                      envoy::config::endpoint::v3::ClusterLoadAssignment* out) {
  if (cluster.type() == Cluster::EDS || !cluster.has_load_assignment()) return false;
  *out = cluster.load_assignment();
  if (out->cluster_name().empty()) out->set_cluster_name(cluster.name());
  return true;
}

// bootstrap, clusters, endpoints (include_eds), listeners, scoped_routes, routes, secrets: the
// order the ConfigDump proto documents.
Sections BuildSections(const ConfigDumpSource& source, bool include_eds, const NameMatcher& names) {
  const DynamicConfig* dynamic = source.dynamic;
  auto records = [dynamic](const char* type_url) {
    return dynamic != nullptr ? dynamic->Resources(type_url) : std::vector<Record>{};
  };
  const std::vector<Record> clusters = records(xds::kClusterTypeUrl);
  const std::vector<Record> listeners = records(xds::kListenerTypeUrl);
  const Timestamp loaded = ToTimestamp(source.loaded_at);
  Sections out;

  auto bootstrap_dump = std::make_unique<adminv3::BootstrapConfigDump>();
  if (source.bootstrap_bytes != nullptr) {
    bootstrap_dump->mutable_bootstrap()->ParseFromString(*source.bootstrap_bytes);
  }
  *bootstrap_dump->mutable_last_updated() = loaded;
  const auto& static_resources = bootstrap_dump->bootstrap().static_resources();

  auto cluster_dump = std::make_unique<adminv3::ClustersConfigDump>();
  if (dynamic != nullptr) {
    cluster_dump->set_version_info(LastVersion(*dynamic, xds::kClusterTypeUrl, clusters));
  }
  for (const auto& cluster : static_resources.clusters()) {
    if (!names.Matches(cluster.name())) continue;
    auto* entry = cluster_dump->add_static_clusters();
    entry->mutable_cluster()->PackFrom(cluster);
    *entry->mutable_last_updated() = loaded;
  }
  for (const auto& r : clusters) {
    if (!names.Matches(r.name)) continue;
    auto* entry = cluster_dump->add_dynamic_active_clusters();
    entry->set_version_info(r.version);
    *entry->mutable_cluster() = PackBytes(xds::kClusterTypeUrl, r.bytes);
    *entry->mutable_last_updated() = ToTimestamp(r.last_updated);
  }

  std::unique_ptr<adminv3::EndpointsConfigDump> endpoint_dump;
  if (include_eds && (static_resources.clusters_size() > 0 || !clusters.empty())) {
    endpoint_dump = std::make_unique<adminv3::EndpointsConfigDump>();
    envoy::config::endpoint::v3::ClusterLoadAssignment cla;
    for (const auto& cluster : static_resources.clusters()) {
      if (!InlineAssignment(cluster, &cla) || !names.Matches(cla.cluster_name())) continue;
      auto* entry = endpoint_dump->add_static_endpoint_configs();
      entry->mutable_endpoint_config()->PackFrom(cla);
      *entry->mutable_last_updated() = loaded;
    }
    for (const auto& r : clusters) {  // CDS clusters that carry their endpoints inline
      Cluster cluster;
      if (!cluster.ParseFromString(r.bytes) || !InlineAssignment(cluster, &cla) ||
          !names.Matches(cla.cluster_name())) {
        continue;
      }
      auto* entry = endpoint_dump->add_dynamic_endpoint_configs();
      entry->set_version_info(r.version);
      entry->mutable_endpoint_config()->PackFrom(cla);
      *entry->mutable_last_updated() = ToTimestamp(r.last_updated);
    }
    for (const auto& r : records(xds::kEndpointTypeUrl)) {
      if (!names.Matches(r.name)) continue;
      auto* entry = endpoint_dump->add_dynamic_endpoint_configs();
      entry->set_version_info(r.version);
      *entry->mutable_endpoint_config() = PackBytes(xds::kEndpointTypeUrl, r.bytes);
      *entry->mutable_last_updated() = ToTimestamp(r.last_updated);
    }
  }

  auto listener_dump = std::make_unique<adminv3::ListenersConfigDump>();
  auto route_dump = std::make_unique<adminv3::RoutesConfigDump>();
  if (dynamic != nullptr) {
    listener_dump->set_version_info(LastVersion(*dynamic, xds::kListenerTypeUrl, listeners));
  }
  for (const auto& listener : static_resources.listeners()) {
    AddInlineRoutes(listener, loaded, names, route_dump.get());
    if (!names.Matches(listener.name())) continue;
    auto* entry = listener_dump->add_static_listeners();
    entry->mutable_listener()->PackFrom(listener);
    *entry->mutable_last_updated() = loaded;
  }
  for (const auto& r : listeners) {
    const Timestamp updated = ToTimestamp(r.last_updated);
    Listener listener;
    if (listener.ParseFromString(r.bytes))
      AddInlineRoutes(listener, updated, names, route_dump.get());
    if (!names.Matches(r.name)) continue;
    auto* entry = listener_dump->add_dynamic_listeners();
    entry->set_name(r.name);
    // Only the newest version is kept: a listener replacing an active one shows as warming only.
    auto* state = r.warming ? entry->mutable_warming_state() : entry->mutable_active_state();
    state->set_version_info(r.version);
    *state->mutable_listener() = PackBytes(xds::kListenerTypeUrl, r.bytes);
    *state->mutable_last_updated() = updated;
  }
  for (const auto& r : records(xds::kRouteTypeUrl)) {
    if (!names.Matches(r.name)) continue;
    auto* entry = route_dump->add_dynamic_route_configs();
    entry->set_version_info(r.version);
    *entry->mutable_route_config() = PackBytes(xds::kRouteTypeUrl, r.bytes);
    *entry->mutable_last_updated() = ToTimestamp(r.last_updated);
  }

  out.push_back(std::move(bootstrap_dump));
  out.push_back(std::move(cluster_dump));
  if (endpoint_dump != nullptr) out.push_back(std::move(endpoint_dump));
  out.push_back(std::move(listener_dump));
  out.push_back(std::make_unique<adminv3::ScopedRoutesConfigDump>());  // no SRDS
  out.push_back(std::move(route_dump));
  out.push_back(std::make_unique<adminv3::SecretsConfigDump>());  // no SDS
  return out;
}

// FieldMaskUtil::TrimMessage, which crashes on a path the message does not have: false then.
bool TrimChecked(const FieldMask& mask, Message* message) {
  for (const std::string& path : mask.paths()) {
    if (!FieldMaskUtil::GetFieldDescriptors(message->GetDescriptor(), path, nullptr)) return false;
  }
  FieldMaskUtil::TrimMessage(mask, message);
  return true;
}

std::unique_ptr<Message> NewMessageOfType(const Any& any) {
  const Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          std::string(xds::TypeNameOf(any)));
  if (type == nullptr) return nullptr;
  const Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  return prototype == nullptr ? nullptr : std::unique_ptr<Message>(prototype->New());
}

// ?mask= on one element of ?resource= (e.g. a DynamicCluster): a path through the element's Any
// field ("cluster.name") applies inside the packed resource. False if a path is not valid.
bool TrimElement(const FieldMask& mask, Message* element) {
  const Descriptor* descriptor = element->GetDescriptor();
  FieldMask outer, inner;
  const FieldDescriptor* any_field = nullptr;
  for (const std::string& path : mask.paths()) {
    const size_t dot = path.find('.');
    const FieldDescriptor* field = descriptor->FindFieldByName(path.substr(0, dot));
    if (field == nullptr || field->is_repeated() || field->message_type() == nullptr ||
        field->message_type()->full_name() != kAnyType) {
      outer.add_paths(path);
      continue;
    }
    if (any_field != nullptr && any_field != field) return false;
    any_field = field;
    outer.add_paths(field->name());
    if (dot != std::string::npos) inner.add_paths(path.substr(dot + 1));
  }
  const Reflection* reflection = element->GetReflection();
  if (any_field != nullptr && inner.paths_size() > 0 && reflection->HasField(*element, any_field)) {
    auto* any = static_cast<Any*>(reflection->MutableMessage(element, any_field));
    std::unique_ptr<Message> resource = NewMessageOfType(*any);
    if (resource == nullptr || !resource->ParseFromString(any->value()) ||
        !TrimChecked(inner, resource.get())) {
      return false;
    }
    any->set_value(resource->SerializeAsString());
  }
  return TrimChecked(outer, element);
}

bool ReplaceUnknownAnys(Message* message);

bool ReplaceUnknownAny(Any* any) {
  std::unique_ptr<Message> inner = NewMessageOfType(*any);
  if (inner == nullptr) {
    udpa::type::v1::TypedStruct opaque;  // names the type; its content cannot be shown
    opaque.set_type_url(any->type_url());
    any->PackFrom(opaque);
    return true;
  }
  if (!inner->ParseFromString(any->value()) || !ReplaceUnknownAnys(inner.get())) return false;
  any->set_value(inner->SerializeAsString());  // only when something inside was replaced
  return true;
}

// Replaces every Any whose type is not compiled in (e.g. an optional HTTP filter pilotfish
// skips) by a TypedStruct naming it, so that the dump can be printed (the JSON printer fails, and
// logs, on an unknown type). True if one was found.
bool ReplaceUnknownAnys(Message* message) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  bool changed = false;
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const bool is_any = field->message_type()->full_name() == kAnyType;
    const int n = field->is_repeated() ? reflection->FieldSize(*message, field) : 1;
    for (int i = 0; i < n; ++i) {
      Message* sub = field->is_repeated() ? reflection->MutableRepeatedMessage(message, field, i)
                                          : reflection->MutableMessage(message, field);
      changed |= is_any ? ReplaceUnknownAny(static_cast<Any*>(sub)) : ReplaceUnknownAnys(sub);
    }
  }
  return changed;
}

}  // namespace

admin::AdminResponse HandleConfigDump(const ConfigDumpSource& source, std::string_view query) {
  xds::EnsureEnvoyProtosLinked();
  const std::map<std::string, std::string> params = admin::ParseQuery(query);
  auto param = [&params](const char* name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* resource = param("resource");
  const std::string* mask = param("mask");
  const std::string* name_regex = param("name_regex");
  const NameMatcher names(name_regex != nullptr ? *name_regex : "");
  if (!names.ok()) {
    return Text(400, absl::StrCat("INVALID_ARGUMENT: Error while parsing name_regex from ",
                                  *name_regex, ": ", names.error()));
  }
  Sections sections = BuildSections(source, param("include_eds") != nullptr, names);
  FieldMask field_mask;
  if (mask != nullptr) FieldMaskUtil::FromString(*mask, &field_mask);

  adminv3::ConfigDump dump;
  if (resource != nullptr) {
    bool found = false;
    for (auto& section : sections) {
      const FieldDescriptor* field = section->GetDescriptor()->FindFieldByName(*resource);
      if (field == nullptr) continue;
      if (!field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return Text(400, absl::StrCat(field->name(), " is not a repeated field. Use ?mask=",
                                      field->name(), " to get only this field"));
      }
      const Reflection* reflection = section->GetReflection();
      for (int i = 0; i < reflection->FieldSize(*section, field); ++i) {
        Message* element = reflection->MutableRepeatedMessage(section.get(), field, i);
        if (mask != nullptr && !TrimElement(field_mask, element)) {
          return Text(400, absl::StrCat("FieldMask ", field_mask.DebugString(),
                                        " could not be successfully used."));
        }
        dump.add_configs()->PackFrom(*element);
      }
      found = true;
      break;
    }
    if (!found) return Text(404, absl::StrCat(*resource, " not found in config dump"));
  } else {
    for (auto& section : sections) {
      // A mask applies to the sections that have its fields; the others are left out.
      if (mask != nullptr && !TrimChecked(field_mask, section.get())) continue;
      dump.add_configs()->PackFrom(*section);
    }
    if (mask != nullptr && dump.configs_size() == 0) {
      return Text(400, absl::StrCat("FieldMask ", *mask,
                                    " could not be successfully applied to any configs."));
    }
  }

  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  admin::AdminResponse response{200, "application/json", ""};
  ReplaceUnknownAnys(&dump);
  auto status = google::protobuf::util::MessageToJsonString(dump, &response.body, options);
  if (!status.ok()) {
    return Text(500, absl::StrCat("config dump cannot be printed: ", status.ToString(), "\n"));
  }
  return response;
}

}  // namespace pilotfish::bootstrap
