// See discovery_state.h. The rules follow the xDS protocol (envoyproxy.io, "xDS REST and gRPC
// protocol"): a request whose nonce is not the latest one sent for its type is stale and is not
// an ACK/NACK; LDS and CDS are wildcard when the client names nothing (or "*").
#include "tools/xds_server/discovery_state.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace pilotfish::xds_server {
namespace {

constexpr char kControlPlaneId[] = "pf_xds_server";

const TypeResources* FindType(const Snapshot& snapshot, const std::string& type) {
  auto it = snapshot.find(type);
  return it == snapshot.end() ? nullptr : &it->second;
}

std::string VersionOf(const TypeResources* resources) {
  return resources == nullptr ? "0" : std::to_string(resources->version);
}

// Envoy's "legacy wildcard": an LDS or CDS subscription that names no resource means all.
bool WildcardByDefault(const std::string& type) {
  return type == kListenerType || type == kClusterType;
}

}  // namespace

absl::Status StreamContext::ResolveType(const std::string& requested, std::string* type) const {
  if (requested.empty()) {
    if (fixed_type.empty()) {
      return absl::InvalidArgumentError("type_url is required on an aggregated (ADS) stream");
    }
    *type = fixed_type;
    return absl::OkStatus();
  }
  if (!fixed_type.empty() && requested != fixed_type) {
    return absl::InvalidArgumentError(
        absl::StrCat("this ", service, " stream serves ", fixed_type, ", not ", requested));
  }
  *type = requested;
  return absl::OkStatus();
}

void StreamContext::SetNode(const envoy::config::core::v3::Node& request_node) {
  if (node == "-" && !request_node.id().empty()) node = request_node.id();
}

void StreamContext::LogAckOrNack(const std::string& type, const std::string& version,
                                 const std::string& nonce, const std::string* error_message) const {
  std::string line =
      absl::StrCat(error_message == nullptr ? "ACK" : "NACK", " type=", ShortType(type),
                   " version=", version, " nonce=", nonce, " node=", node, " stream=", id);
  if (error_message == nullptr) {
    ++counters->acks;
  } else {
    ++counters->nacks;
    absl::StrAppend(&line,
                    " error=", absl::StrReplaceAll(*error_message, {{"\n", " "}, {"\r", " "}}));
  }
  log(line);
}

// ---------------------------------------------------------------------------------------------
// State of the world

absl::Status SotwState::OnRequest(const envoy::service::discovery::v3::DiscoveryRequest& request,
                                  const Snapshot& snapshot, std::vector<Response>* out) {
  if (request.has_node()) context_->SetNode(request.node());
  std::string type;
  if (absl::Status s = context_->ResolveType(request.type_url(), &type); !s.ok()) return s;
  TypeState& state = types_[type];
  const std::string& nonce = request.response_nonce();
  if (state.responded && !nonce.empty()) {
    if (nonce != state.nonce) return absl::OkStatus();  // stale: a newer response is in flight
    // Later requests with the same nonce (e.g. Envoy changing its RDS/EDS names) are not ACKs
    // again.
    if (state.acked_nonce != nonce) {
      state.acked_nonce = nonce;
      context_->LogAckOrNack(
          type, state.version, nonce,
          request.has_error_detail() ? &request.error_detail().message() : nullptr);
    }
  }
  bool wildcard = false;
  std::set<std::string> names;
  for (const std::string& name : request.resource_names()) {
    if (name == "*") {
      wildcard = true;
    } else {
      names.insert(name);
    }
  }
  if (names.empty() && WildcardByDefault(type)) wildcard = true;
  // A first request, a request without a nonce (the client starts over) and a new subscription
  // set are answered; a plain ACK or NACK is not.
  const bool answer =
      !state.responded || nonce.empty() || wildcard != state.wildcard || names != state.names;
  state.wildcard = wildcard;
  state.names = std::move(names);
  if (answer) Respond(type, state, snapshot, /*force=*/true, out);
  return absl::OkStatus();
}

void SotwState::OnChanged(const std::vector<std::string>& types, const Snapshot& snapshot,
                          std::vector<Response>* out) {
  for (const std::string& type : types) {
    auto it = types_.find(type);
    if (it != types_.end() && it->second.responded) {
      Respond(type, it->second, snapshot, /*force=*/false, out);
    }
  }
}

void SotwState::Respond(const std::string& type, TypeState& state, const Snapshot& snapshot,
                        bool force, std::vector<Response>* out) {
  const TypeResources* resources = FindType(snapshot, type);
  std::vector<const Resource*> picked;
  if (resources != nullptr) {
    if (state.wildcard) {
      for (const auto& [name, resource] : resources->resources) picked.push_back(&resource);
    } else {
      for (const std::string& name : state.names) {
        auto it = resources->resources.find(name);
        if (it != resources->resources.end()) picked.push_back(&it->second);
      }
    }
  }
  std::map<std::string, std::string> view;
  for (const Resource* resource : picked) view.emplace(resource->name, resource->version);
  if (!force && view == state.sent) return;  // nothing this client asked for changed

  Response response;
  response.set_version_info(VersionOf(resources));
  response.set_type_url(type);
  response.set_nonce(context_->NextNonce());
  response.mutable_control_plane()->set_identifier(kControlPlaneId);
  for (const Resource* resource : picked) *response.add_resources() = resource->any;
  state.responded = true;
  state.nonce = response.nonce();
  state.version = response.version_info();
  state.sent = std::move(view);
  out->push_back(std::move(response));
}

// ---------------------------------------------------------------------------------------------
// Delta

absl::Status DeltaState::OnRequest(
    const envoy::service::discovery::v3::DeltaDiscoveryRequest& request, const Snapshot& snapshot,
    std::vector<Response>* out) {
  if (request.has_node()) context_->SetNode(request.node());
  std::string type;
  if (absl::Status s = context_->ResolveType(request.type_url(), &type); !s.ok()) return s;
  auto [it, first] = types_.try_emplace(type);
  TypeState& state = it->second;
  const std::string& nonce = request.response_nonce();
  if (!first && !nonce.empty() && nonce == state.nonce && nonce != state.acked_nonce) {
    state.acked_nonce = nonce;
    context_->LogAckOrNack(
        type, state.version, nonce,
        request.has_error_detail() ? &request.error_detail().message() : nullptr);
  }
  // A stale nonce is no ACK/NACK, but subscription changes always apply: they are deltas.
  if (first) {
    for (const auto& [name, version] : request.initial_resource_versions()) {
      state.known[name] = version;
    }
    if (request.resource_names_subscribe().empty() && WildcardByDefault(type)) {
      state.wildcard = true;
    }
  }
  for (const std::string& name : request.resource_names_unsubscribe()) {
    if (name == "*") {
      state.wildcard = false;
    } else {
      state.names.erase(name);
      state.known.erase(name);  // if still covered by the wildcard it is sent again
    }
  }
  for (const std::string& name : request.resource_names_subscribe()) {
    if (name == "*") {
      state.wildcard = true;
    } else {
      state.names.insert(name);
      if (!first) state.known.erase(name);  // a (re-)subscription is answered with the resource
    }
  }
  // The first wildcard request is answered even when there is nothing, so the client's
  // initial fetch completes.
  Respond(type, state, snapshot, /*force=*/first && state.wildcard, out);
  return absl::OkStatus();
}

void DeltaState::OnChanged(const std::vector<std::string>& types, const Snapshot& snapshot,
                           std::vector<Response>* out) {
  for (const std::string& type : types) {
    auto it = types_.find(type);
    if (it != types_.end()) Respond(type, it->second, snapshot, /*force=*/false, out);
  }
}

void DeltaState::Respond(const std::string& type, TypeState& state, const Snapshot& snapshot,
                         bool force, std::vector<Response>* out) {
  const TypeResources* resources = FindType(snapshot, type);
  auto interested = [&state](const std::string& name) {
    return state.wildcard || state.names.count(name) > 0;
  };
  Response response;
  if (resources != nullptr) {
    for (const auto& [name, resource] : resources->resources) {
      if (!interested(name)) continue;
      auto known = state.known.find(name);
      if (known != state.known.end() && known->second == resource.version) continue;
      envoy::service::discovery::v3::Resource* added = response.add_resources();
      added->set_name(name);
      added->set_version(resource.version);
      *added->mutable_resource() = resource.any;
    }
  }
  for (auto known = state.known.begin(); known != state.known.end();) {
    const bool exists = resources != nullptr && resources->resources.count(known->first) > 0;
    if (!interested(known->first)) {
      known = state.known.erase(known);  // not subscribed any more: forget, no removal
    } else if (!exists) {
      response.add_removed_resources(known->first);
      known = state.known.erase(known);
    } else {
      ++known;
    }
  }
  if (response.resources().empty() && response.removed_resources().empty() && !force) return;
  for (const auto& added : response.resources()) state.known[added.name()] = added.version();
  response.set_system_version_info(VersionOf(resources));
  response.set_type_url(type);
  response.set_nonce(context_->NextNonce());
  response.mutable_control_plane()->set_identifier(kControlPlaneId);
  state.nonce = response.nonce();
  state.version = response.system_version_info();
  out->push_back(std::move(response));
}

}  // namespace pilotfish::xds_server
