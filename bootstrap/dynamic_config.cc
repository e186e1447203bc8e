// DynamicConfig: per-type update handling (translate, validate, bind, commit, publish).
#include "bootstrap/dynamic_config.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bootstrap/filter_table.h"
#include "bootstrap/unapplied.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "proxy/common/log.h"
#include "xds/translate/cluster_translate.h"
#include "xds/translate/endpoint_translate.h"
#include "xds/translate/listener_translate.h"

namespace pilotfish::bootstrap {
namespace {

using FetchKey = InitialFetchTimeouts::Key;

// Every Update* translates all of a response's changed resources into a list of these before it
// touches anything kept: a response is applied whole or not at all, and nothing is copied.
template <typename T>
struct Staged {
  const xds::Resource* resource;
  T value;
};

// Envoy's stat names: ':' in a route config name becomes '_'.
std::string RdsStatName(const config::RdsRef& ref) {
  std::string name = ref.name;
  std::replace(name.begin(), name.end(), ':', '_');
  return absl::StrCat("http.", ref.stat_prefix, ".rds.", name, ".init_fetch_timeout");
}

std::string AddressKey(const config::Listener& l) {
  return absl::StrCat(l.address.address, "_", l.address.port);
}

void LogWarnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) PF_LOG(kWarning, "xds config: %s", w.c_str());
}

void CloseSockets(std::vector<Server::BoundListener>& sockets) {
  for (auto& b : sockets) {
    for (int fd : b.fds) {
      if (fd >= 0) close(fd);
    }
  }
  sockets.clear();
}

absl::StatusOr<std::string> GrpcTarget(const config::Cluster& cluster) {
  if (cluster.endpoints.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ads_config: cluster '", cluster.name, "' has no endpoint"));
  }
  const config::SocketAddress& a = cluster.endpoints[0].address;
  if (!a.pipe_path.empty()) return absl::StrCat("unix:", a.pipe_path);
  auto ip = net::Address::FromIpPort(a.address, a.port);
  if (!ip) return absl::StrCat("dns:///", a.address, ":", a.port);  // a DNS cluster
  return ip->family() == AF_INET6 ? absl::StrCat("ipv6:[", a.address, "]:", a.port)
                                  : absl::StrCat("ipv4:", a.address, ":", a.port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DynamicConfig>> DynamicConfig::Create(
    Server& server, const config::DynamicResources& dynamic, const ClusterLookup& find_cluster,
    const FilterContext& filter_context, std::vector<config::RdsRef> static_rds) {
  const envoy::config::core::v3::Node& node = filter_context.node;
  std::vector<xds::AdsClientConfig> configs;
  // One client per gRPC source: ADS carries every type; api_config_source (non-aggregated)
  // gets one stream per type, RDS riding with LDS's source and EDS with CDS's.
  auto add = [&](const std::string& cluster_name, bool delta, const std::string& only_type,
                 const char* what) -> absl::Status {
    const config::Cluster* cluster = find_cluster(cluster_name);
    if (cluster == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": the xDS cluster '", cluster_name, "' is not a static cluster"));
    }
    auto target = GrpcTarget(*cluster);
    if (!target.ok()) return target.status();
    xds::AdsClientConfig cc;
    cc.target = *target;
    cc.delta = delta;
    cc.set_node_on_first_message_only = dynamic.set_node_on_first_message_only;
    cc.node = node;
    cc.node.set_user_agent_name("pilotfish");
    cc.subscribe_lds = only_type.empty() ? dynamic.lds_via_ads : only_type == xds::kListenerTypeUrl;
    cc.subscribe_cds = only_type.empty() ? dynamic.cds_via_ads : only_type == xds::kClusterTypeUrl;
    cc.only_type_url = only_type;
    configs.push_back(std::move(cc));
    return absl::OkStatus();
  };
  if (!dynamic.ads_cluster.empty()) {
    if (auto s = add(dynamic.ads_cluster, dynamic.ads_delta, "", "ads_config"); !s.ok()) return s;
  }
  if (!dynamic.cds_grpc_cluster.empty()) {
    for (const char* type : {xds::kClusterTypeUrl, xds::kEndpointTypeUrl}) {
      if (auto s = add(dynamic.cds_grpc_cluster, dynamic.cds_grpc_delta, type,
                       "cds_config.api_config_source");
          !s.ok()) {
        return s;
      }
    }
  }
  if (!dynamic.lds_grpc_cluster.empty()) {
    for (const char* type : {xds::kListenerTypeUrl, xds::kRouteTypeUrl}) {
      if (auto s = add(dynamic.lds_grpc_cluster, dynamic.lds_grpc_delta, type,
                       "lds_config.api_config_source");
          !s.ok()) {
        return s;
      }
    }
  }
  auto out = std::unique_ptr<DynamicConfig>(
      new DynamicConfig(server, dynamic, std::move(configs), std::move(static_rds)));
  out->filter_context_ = filter_context;
  return out;
}

DynamicConfig::DynamicConfig(Server& server, const config::DynamicResources& dynamic,
                             std::vector<xds::AdsClientConfig> client_configs,
                             std::vector<config::RdsRef> static_rds)
    : server_(server),
      static_rds_(std::move(static_rds)),
      cds_fetch_timeout_(dynamic.cds_initial_fetch_timeout),
      lds_fetch_timeout_(dynamic.lds_initial_fetch_timeout),
      fetches_(server.main_dispatcher().time()) {
  bool cds_grpc = false;
  bool lds_grpc = false;
  for (auto& cc : client_configs) {
    cds_grpc |= cc.subscribe_cds;
    lds_grpc |= cc.subscribe_lds;
    const std::string only = cc.only_type_url;
    clients_.push_back(
        std::make_unique<xds::AdsClient>(server.main_dispatcher(), std::move(cc), *this));
    for (const char* type :
         {xds::kClusterTypeUrl, xds::kEndpointTypeUrl, xds::kListenerTypeUrl, xds::kRouteTypeUrl}) {
      if (only.empty() || only == type) by_type_.try_emplace(type, clients_.back().get());
    }
  }
  cds_applied_ = !cds_grpc && dynamic.cds_path.empty();
  lds_applied_ = !lds_grpc && dynamic.lds_path.empty();
  if (!dynamic.cds_path.empty()) {
    cds_file_ = std::make_unique<FileSubscription>(server.main_dispatcher(), dynamic.cds_path,
                                                   xds::kClusterTypeUrl, *this);
  }
  if (!dynamic.lds_path.empty()) {
    lds_file_ = std::make_unique<FileSubscription>(server.main_dispatcher(), dynamic.lds_path,
                                                   xds::kListenerTypeUrl, *this);
  }
  trim_timer_ = std::make_unique<event::Timer>(server.main_dispatcher(), [] { malloc_trim(0); });
  fetch_timer_ = std::make_unique<event::Timer>(server.main_dispatcher(),
                                                [this] { OnInitialFetchTimeouts(); });
}

DynamicConfig::~DynamicConfig() {
  clients_.clear();  // no more updates
  lds_file_.reset();
  cds_file_.reset();
  for (auto& [name, entry] : listeners_) CloseSockets(entry.sockets);
}

DynamicConfig::Kept DynamicConfig::Record(const xds::Resource& r) {
  return {r.version, r.bytes, std::chrono::system_clock::now()};
}

std::vector<DynamicConfig::ResourceRecord> DynamicConfig::Resources(
    const std::string& type_url) const {
  std::vector<ResourceRecord> out;
  auto add = [&out](const std::string& name, const Kept& k, bool warming) {
    out.push_back({name, k.version, k.bytes, k.last_updated, warming});
  };
  if (type_url == xds::kListenerTypeUrl) {
    for (const auto& [name, e] : listeners_) add(name, e.record, e.warming);
  } else if (type_url == xds::kClusterTypeUrl) {
    for (const auto& [name, e] : clusters_) add(name, e.record, false);
  } else if (type_url == xds::kRouteTypeUrl) {
    for (const auto& [name, e] : routes_) add(name, e.record, false);
  } else if (type_url == xds::kEndpointTypeUrl) {
    for (const auto& [name, e] : endpoints_) add(name, e.record, false);
  }
  return out;
}

void DynamicConfig::OnOutcome(const std::string& type_url, Outcome outcome,
                              const std::string& version) {
  // Envoy's names for CDS and LDS (pilot-agent's readiness reads them); RDS and EDS under an
  // "xds.<type>." scope of pilotfish's own.
  std::string prefix = type_url == xds::kClusterTypeUrl ? "cluster_manager.cds."
                       : type_url == xds::kListenerTypeUrl
                           ? "listener_manager.lds."
                           : absl::StrCat("xds.", xds::ShortTypeName(type_url), ".");
  stats::Store& store = server_.stats();
  if (outcome != Outcome::kNetworkFailure) store.IncCounter(prefix + "update_attempt");
  store.IncCounter(prefix + (outcome == Outcome::kSuccess    ? "update_success"
                             : outcome == Outcome::kRejected ? "update_rejected"
                                                             : "update_failure"));
  if (outcome == Outcome::kSuccess) {
    uint64_t h = 0xcbf29ce484222325ULL;  // Envoy's `version` gauge: a hash of version_info
    for (unsigned char c : version) h = (h ^ c) * 0x100000001b3ULL;
    store.SetGauge(prefix + "version", h >> 11);  // fits a double exactly in Prometheus output
  }
  if (outcome == Outcome::kRejected) EndInitialFetches(type_url);
}

void DynamicConfig::OnConnectedState(bool connected) {
  server_.stats().SetGauge("control_plane.connected_state", connected ? 1 : 0);
}

void DynamicConfig::Start() {
  // The wildcard subscriptions start waiting now (filesystem sources have no fetch timeout).
  if (!cds_applied_ && cds_file_ == nullptr) {
    fetches_.Start({xds::kClusterTypeUrl, ""}, cds_fetch_timeout_);
  }
  if (!lds_applied_ && lds_file_ == nullptr) {
    fetches_.Start({xds::kListenerTypeUrl, ""}, lds_fetch_timeout_);
  }
  UpdateInterest();                              // RDS names of static listeners
  if (cds_file_ != nullptr) cds_file_->Start();  // clusters before the listeners that use them
  if (lds_file_ != nullptr) lds_file_->Start();
  for (auto& c : clients_) c->Start();
  CheckInitialized();
}

void DynamicConfig::AddTo(server::Snapshot& snapshot) const {
  for (const auto& [name, listener] : active_listeners_) snapshot.listeners.push_back(listener);
  for (const auto& [name, entry] : clusters_) snapshot.clusters[name] = entry.info;
  for (const auto& [name, entry] : routes_) snapshot.routes[name] = entry.table;
}

absl::Status DynamicConfig::OnUpdate(const std::string& type_url,
                                     const std::vector<xds::Resource>& updated,
                                     const std::vector<std::string>& removed) {
  absl::Status s;
  if (type_url == xds::kClusterTypeUrl) {
    s = UpdateClusters(updated, removed);
  } else if (type_url == xds::kEndpointTypeUrl) {
    s = UpdateEndpoints(updated, removed);
  } else if (type_url == xds::kListenerTypeUrl) {
    s = UpdateListeners(updated, removed);
  } else if (type_url == xds::kRouteTypeUrl) {
    s = UpdateRoutes(updated, removed);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported type ", type_url));
  }
  // A large update parses and translates megabytes that are garbage once applied: hand the
  // freed pages back (glibc keeps them otherwise), so RSS reflects the config actually held.
  if (updated.size() + removed.size() >= 100) trim_timer_->Enable(std::chrono::milliseconds(200));
  return s;
}

absl::Status DynamicConfig::UpdateClusters(const std::vector<xds::Resource>& updated,
                                           const std::vector<std::string>& removed) {
  // Translate every changed cluster first; only a response that translates whole is applied
  // (the ADS client has already rejected duplicate names), so the kept map is never copied.
  std::vector<Staged<upstream::ClusterInfoSharedPtr>> staged;
  std::vector<std::string> warnings;
  for (const auto& r : updated) {
    const std::string path = absl::StrCat("Cluster ", r.name);
    if (server_.HasStaticCluster(r.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a static cluster of that name exists (it cannot be updated)"));
    }
    auto it = clusters_.find(r.name);
    if (it != clusters_.end() && it->second.hash == r.hash) continue;
    const auto& proto = static_cast<const envoy::config::cluster::v3::Cluster&>(*r.message);
    auto c = xds::TranslateCluster(proto, path, &warnings);
    if (!c.ok()) return c.status();
    WarnUnappliedClusterFeatures(*c, path, &warnings);
    staged.push_back(
        {&r, std::make_shared<upstream::ClusterInfo>(*std::move(c), &server_.stats())});
  }
  LogWarnings(warnings);
  std::vector<std::string> changed;
  changed.reserve(staged.size());
  for (auto& s : staged) {
    clusters_[s.resource->name] = {s.resource->hash, Record(*s.resource), std::move(s.value)};
    changed.push_back(s.resource->name);
  }
  std::vector<std::string> gone;
  for (const auto& name : removed) {
    if (clusters_.erase(name) > 0) gone.push_back(name);
  }
  if (!changed.empty() || !gone.empty()) {
    Publish({});
    for (const auto& name : changed) {
      const config::Cluster& c = clusters_[name].info->config();
      StartClusterFetch(c);
      if (c.type == config::ClusterType::kEds) {
        auto eit = endpoints_.find(c.eds_service_name);
        if (eit != endpoints_.end()) {
          // A cluster (re)added after its assignment: decode the kept assignment again.
          envoy::config::endpoint::v3::ClusterLoadAssignment cla;
          std::vector<config::Endpoint> eps;
          if (cla.ParseFromString(eit->second.record.bytes) &&
              xds::ApplyClusterLoadAssignment(cla, &eps).ok()) {
            server_.SetClusterEndpoints(name, eps);
          }
        }
      } else {
        server_.StartClusterDiscovery(c);
      }
    }
    for (const auto& name : gone) {
      server_.StopClusterDiscovery(name);
      eds_done_.erase(name);
      fetches_.Stop({xds::kEndpointTypeUrl, name});
    }
    PF_LOG(kInfo, "xds: cds: %zu clusters (%zu added/changed, %zu removed)", clusters_.size(),
           changed.size(), gone.size());
  }
  cds_applied_ = true;
  fetches_.Stop({xds::kClusterTypeUrl, ""});
  UpdateInterest();
  CheckInitialized();
  return absl::OkStatus();
}

absl::Status DynamicConfig::UpdateEndpoints(const std::vector<xds::Resource>& updated,
                                            const std::vector<std::string>& removed) {
  std::vector<Staged<std::vector<config::Endpoint>>> changed;
  std::vector<std::string> warnings;
  for (const auto& r : updated) {
    auto it = endpoints_.find(r.name);
    if (it != endpoints_.end() && it->second.hash == r.hash) continue;
    const auto& cla =
        static_cast<const envoy::config::endpoint::v3::ClusterLoadAssignment&>(*r.message);
    Staged<std::vector<config::Endpoint>> c{&r, {}};
    if (auto s = xds::ApplyClusterLoadAssignment(
            cla, &c.value, absl::StrCat("ClusterLoadAssignment ", r.name), &warnings);
        !s.ok()) {
      return s;
    }
    changed.push_back(std::move(c));
  }
  LogWarnings(warnings);
  // Service name -> the EDS clusters that use it (built once: updates carry thousands).
  std::map<std::string_view, std::vector<const std::string*>> users;
  for (const auto& [name, entry] : clusters_) {
    const config::Cluster& c = entry.info->config();
    if (c.type == config::ClusterType::kEds) users[c.eds_service_name].push_back(&name);
  }
  auto publish = [this, &users](const std::string& service,
                                const std::vector<config::Endpoint>& eps) {
    auto it = users.find(service);
    if (it == users.end()) return;
    for (const std::string* cluster : it->second) {
      server_.SetClusterEndpoints(*cluster, eps);
      // The first answer (a removal included: the resource does not exist) ends the wait.
      eds_done_.insert(*cluster);
      fetches_.Stop({xds::kEndpointTypeUrl, *cluster});
    }
  };
  // Only the serialized assignment is kept: the hosts live in the host sets.
  for (const auto& c : changed) {
    endpoints_[c.resource->name] = {c.resource->hash, Record(*c.resource)};
    publish(c.resource->name, c.value);
  }
  for (const auto& name : removed) {
    if (endpoints_.erase(name) > 0) {
      publish(name, {});
    } else if (auto it = users.find(name); it != users.end()) {
      for (const std::string* cluster : it->second) {
        eds_done_.insert(*cluster);
        fetches_.Stop({xds::kEndpointTypeUrl, *cluster});
      }
    }
  }
  if (!changed.empty() || !removed.empty()) server_.AfterWorkers(ReportApplied("endpoint"));
  CheckInitialized();
  return absl::OkStatus();
}

absl::Status DynamicConfig::UpdateListeners(const std::vector<xds::Resource>& updated,
                                            const std::vector<std::string>& removed) {
  std::vector<Staged<ListenerEntry>> changed;
  std::vector<std::string> warnings;
  for (const auto& r : updated) {
    const std::string path = absl::StrCat("Listener ", r.name);
    if (server_.HasStaticListener(r.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a static listener of that name exists (it cannot be updated)"));
    }
    auto it = listeners_.find(r.name);
    if (it != listeners_.end() && it->second.hash == r.hash) continue;
    const auto& proto = static_cast<const envoy::config::listener::v3::Listener&>(*r.message);
    ListenerEntry entry;
    auto lookup = [this, &warnings, &entry](const std::string& name,
                                            const google::protobuf::Any& any, const std::string& p,
                                            const std::vector<xds::NetworkFilterRef>& observers) {
      return CreateNetworkFilter(name, any, p, &warnings, &entry.rds, observers, filter_context_);
    };
    auto l = xds::TranslateListener(proto, lookup, path, &warnings);
    if (!l.ok()) return l.status();
    entry.hash = r.hash;
    entry.record = Record(r);
    entry.listener = std::make_shared<const config::Listener>(*std::move(l));
    changed.push_back({&r, std::move(entry)});
  }
  // Two listeners may not share an address (static ones included).
  std::map<std::string, std::string> owners;  // address key -> listener name
  auto claim = [&owners](const config::Listener& l) -> absl::Status {
    if (!l.bind_to_port || l.address.port == 0) return absl::OkStatus();
    auto [it, inserted] = owners.try_emplace(AddressKey(l), l.name);
    if (!inserted && it->second != l.name) {
      return absl::InvalidArgumentError(absl::StrCat("Listener ", l.name, ": address ",
                                                     AddressKey(l), " is already used by listener ",
                                                     it->second));
    }
    return absl::OkStatus();
  };
  for (const auto& l : server_.static_listeners()) {
    if (auto s = claim(*l); !s.ok()) return s;
  }
  std::set<std::string> gone(removed.begin(), removed.end());
  for (const auto& c : changed) {
    if (auto s = claim(*c.value.listener); !s.ok()) return s;
  }
  for (const auto& [name, entry] : listeners_) {
    bool replaced = gone.contains(name);
    for (const auto& c : changed) replaced |= c.resource->name == name;
    if (!replaced) {
      if (auto s = claim(*entry.listener); !s.ok()) return s;
    }
  }
  // Bind what needs new sockets; a failure (port in use) rejects the whole update.
  for (auto& [r, entry] : changed) {
    const std::string& name = r->name;
    const config::Listener& l = *entry.listener;
    if (!l.bind_to_port || server_.BoundAddress(name) == AddressKey(l)) continue;
    Server::BoundListener b;
    absl::Status s = server_.BindListener(l, &b);
    if (!s.ok()) {
      for (auto& c : changed) CloseSockets(c.value.sockets);
      return absl::InvalidArgumentError(absl::StrCat("Listener ", name, ": ", s.message()));
    }
    entry.sockets.push_back(std::move(b));
  }
  LogWarnings(warnings);
  // Commit.
  for (auto& [r, entry] : changed) {
    auto it = listeners_.find(r->name);
    if (it != listeners_.end()) CloseSockets(it->second.sockets);  // a warming version replaced
    entry.warming = true;
    listeners_[r->name] = std::move(entry);
  }
  for (const auto& name : gone) {
    auto it = listeners_.find(name);
    if (it == listeners_.end()) continue;
    CloseSockets(it->second.sockets);
    listeners_.erase(it);
    active_listeners_.erase(name);
    server_.ForgetBoundListener(name);
  }
  UpdateInterest();
  if (!changed.empty() || !gone.empty()) {
    Publish(ActivateWarmed());
    PF_LOG(kInfo, "xds: lds: %zu listeners (%zu added/changed, %zu removed)", listeners_.size(),
           changed.size(), gone.size());
  }
  lds_applied_ = true;
  fetches_.Stop({xds::kListenerTypeUrl, ""});
  CheckInitialized();
  return absl::OkStatus();
}

absl::Status DynamicConfig::UpdateRoutes(const std::vector<xds::Resource>& updated,
                                         const std::vector<std::string>& removed) {
  // As for clusters: compile everything, then apply in place.
  std::vector<Staged<::pilotfish::router::RouteTableSharedPtr>> staged;
  std::vector<std::string> warnings;
  for (const auto& r : updated) {
    auto it = routes_.find(r.name);
    if (it != routes_.end() && it->second.hash == r.hash) continue;
    const auto& proto =
        static_cast<const envoy::config::route::v3::RouteConfiguration&>(*r.message);
    auto table =
        CompileRouteConfiguration(proto, absl::StrCat("RouteConfiguration ", r.name), &warnings);
    if (!table.ok()) return table.status();
    staged.push_back({&r, *std::move(table)});
  }
  LogWarnings(warnings);
  size_t changed = staged.size();
  for (auto& [r, table] : staged) routes_[r->name] = {r->hash, Record(*r), std::move(table)};
  for (const auto& name : removed) changed += routes_.erase(name);
  // Every name answered (a removal included: it does not exist) has had its first answer.
  bool first = false;
  for (const auto& r : updated) first |= rds_done_.insert(r.name).second;
  for (const auto& name : removed) first |= rds_done_.insert(name).second;
  for (const auto& r : updated) fetches_.Stop({xds::kRouteTypeUrl, r.name});
  for (const auto& name : removed) fetches_.Stop({xds::kRouteTypeUrl, name});
  if (changed == 0 && !first) return absl::OkStatus();
  Publish(ActivateWarmed());
  CheckInitialized();
  return absl::OkStatus();
}

std::vector<Server::BoundListener> DynamicConfig::ActivateWarmed() {
  std::vector<Server::BoundListener> sockets;
  for (auto& [name, entry] : listeners_) {
    if (!entry.warming) continue;
    bool ready = true;
    for (const auto& rds : entry.rds) ready &= rds_done_.contains(rds.name);
    if (!ready) continue;
    entry.warming = false;
    active_listeners_[name] = entry.listener;
    for (auto& b : entry.sockets) {
      server_.RememberBoundListener(name, b.address);
      sockets.push_back(std::move(b));
    }
    entry.sockets.clear();
  }
  return sockets;
}

void DynamicConfig::Publish(std::vector<Server::BoundListener> sockets) {
  server_.PublishSnapshot(std::move(sockets), ReportApplied("snapshot"));
}

std::function<void()> DynamicConfig::ReportApplied(const char* what) {
  // From the moment the update left gRPC (or now, for a file) to every worker serving it.
  std::chrono::steady_clock::time_point start{};
  for (const auto& c : clients_) start = std::max(start, c->received_at());  // the one applying
  if (start.time_since_epoch().count() == 0) start = std::chrono::steady_clock::now();
  return [start, what] {
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - start).count();
    auto secs = [](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration<double>(t.time_since_epoch()).count();
    };
    PF_LOG(kInfo,
           "xds: %s update serving on every worker %.2f ms after it arrived (monotonic %.6f -> "
           "%.6f)",
           what, ms, secs(start), secs(now));
  };
}

void DynamicConfig::UpdateInterest() {
  // Each route config needed, with its first user's settings (Envoy shares one subscription).
  std::map<std::string, config::RdsRef> refs;
  for (const auto& ref : static_rds_) refs.try_emplace(ref.name, ref);
  for (const auto& [name, entry] : listeners_) {
    for (const auto& ref : entry.rds) refs.try_emplace(ref.name, ref);
  }
  xds::NameSet rds;
  for (const auto& [name, ref] : refs) {
    rds.insert(name);
    if (rds_done_.contains(name)) continue;
    if (routes_.contains(name)) {
      rds_done_.insert(name);  // kept from an earlier use
    } else {
      fetches_.Start({xds::kRouteTypeUrl, name}, ref.initial_fetch_timeout);
    }
  }
  // A route config nobody needs any more: its subscription ends (a later user waits anew).
  for (auto it = rds_done_.begin(); it != rds_done_.end();) {
    it = refs.contains(*it) ? std::next(it) : rds_done_.erase(it);
  }
  for (const auto& key : fetches_.WaitingOfType(xds::kRouteTypeUrl)) {
    if (!refs.contains(key.second)) fetches_.Stop(key);
  }
  rds_refs_ = std::move(refs);
  xds::NameSet eds;
  for (const auto& [name, entry] : clusters_) {
    const config::Cluster& c = entry.info->config();
    if (c.type == config::ClusterType::kEds) eds.insert(c.eds_service_name);
  }
  if (auto it = by_type_.find(xds::kRouteTypeUrl); it != by_type_.end()) {
    it->second->SetInterest(xds::kRouteTypeUrl, std::move(rds));
  }
  if (auto it = by_type_.find(xds::kEndpointTypeUrl); it != by_type_.end()) {
    it->second->SetInterest(xds::kEndpointTypeUrl, std::move(eds));
  }
}

void DynamicConfig::StartClusterFetch(const config::Cluster& c) {
  // A new or changed cluster is a new subscription in Envoy: it waits again, unless the
  // assignment it names is already here.
  const FetchKey key{xds::kEndpointTypeUrl, c.name};
  fetches_.Stop(key);
  eds_done_.erase(c.name);
  if (c.type != config::ClusterType::kEds) return;
  if (endpoints_.contains(c.eds_service_name)) {
    eds_done_.insert(c.name);
  } else {
    fetches_.Start(key, c.eds_initial_fetch_timeout);
  }
}

void DynamicConfig::EndInitialFetches(const std::string& type_url) {
  // Envoy: a rejected first response lets initialization go on without that config.
  if (type_url == xds::kClusterTypeUrl) {
    cds_applied_ = true;
  } else if (type_url == xds::kListenerTypeUrl) {
    lds_applied_ = true;
  }
  bool routes = false;
  for (const auto& key : fetches_.WaitingOfType(type_url)) {
    fetches_.Stop(key);
    if (type_url == xds::kRouteTypeUrl) routes |= rds_done_.insert(key.second).second;
    if (type_url == xds::kEndpointTypeUrl) eds_done_.insert(key.second);
  }
  if (routes) Publish(ActivateWarmed());
  CheckInitialized();
}

void DynamicConfig::OnInitialFetchTimeouts() {
  bool routes = false;
  for (const auto& [type_url, name] : fetches_.TakeExpired()) {
    std::string stat;
    if (type_url == xds::kClusterTypeUrl) {
      cds_applied_ = true;
      stat = "cluster_manager.cds.init_fetch_timeout";
    } else if (type_url == xds::kListenerTypeUrl) {
      lds_applied_ = true;
      stat = "listener_manager.lds.init_fetch_timeout";
    } else if (type_url == xds::kEndpointTypeUrl) {
      eds_done_.insert(name);
      stat = absl::StrCat("cluster.", name, ".init_fetch_timeout");
    } else if (type_url == xds::kRouteTypeUrl) {
      routes |= rds_done_.insert(name).second;
      auto it = rds_refs_.find(name);
      stat = it != rds_refs_.end() ? RdsStatName(it->second)
                                   : absl::StrCat("http.rds.", name, ".init_fetch_timeout");
    }
    PF_LOG(kWarning, "xds: initial fetch timeout for %s%s%s: initialization goes on without it",
           xds::ShortTypeName(type_url), name.empty() ? "" : " ", name.c_str());
    server_.stats().IncCounter(stat);
  }
  if (routes) Publish(ActivateWarmed());
  CheckInitialized();
}

void DynamicConfig::CheckInitialized() {
  bool warming = false;
  for (const auto& [name, entry] : listeners_) warming |= entry.warming;
  if (!initialized_) {
    bool ready = cds_applied_ && lds_applied_ && !warming;
    for (const auto& [name, entry] : clusters_) {
      if (entry.info->config().type == config::ClusterType::kEds) ready &= eds_done_.contains(name);
    }
    for (const auto& rds : static_rds_) ready &= rds_done_.contains(rds.name);
    if (ready) {
      initialized_ = true;
      // Ready once every worker serves what was just published (listening sockets included).
      server_.AfterWorkers([this] { server_.SetInitialized(); });
    }
  }
  if (auto delay = fetches_.NextDelay(); delay.has_value()) {
    fetch_timer_->Enable(std::max(*delay, std::chrono::milliseconds(1)));
  } else {
    fetch_timer_->Disable();
  }
}

}  // namespace pilotfish::bootstrap
