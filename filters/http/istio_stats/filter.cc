// See filter.h. Each worker keeps, per stats store, the handles of every label set it has seen,
// so a request costs one label string and one hash lookup, not a store lock.
#include "filters/http/istio_stats/filter.h"

#include <chrono>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "proxy/access_log/operators.h"
#include "proxy/stats/store.h"

namespace pilotfish::filters::istio_stats {
namespace {

struct HttpHandles {
  stats::Counter requests;
  stats::Histogram duration, request_bytes, response_bytes;
};
struct TcpHandles {
  stats::Counter opened, closed, sent, received;
};

// Bounded so that a flood of distinct label values (hosts) cannot grow a worker without limit;
// a cleared cache only costs lookups under the store's lock until it refills.
constexpr size_t kMaxCachedLabelSets = 20000;

// Two levels: by label set (the stat identity), and in front of it by the few stream facts the
// labels are computed from (InputKey), so a request in a known situation builds no labels.
struct WorkerCache {
  stats::Store* store = nullptr;
  absl::flat_hash_map<std::string, HttpHandles> http;
  absl::flat_hash_map<std::string, TcpHandles> tcp;
  absl::flat_hash_map<std::string, HttpHandles> http_by_input;
  absl::flat_hash_map<std::string, TcpHandles> tcp_by_input;
};

WorkerCache& CacheFor(stats::Store* store) {
  thread_local WorkerCache cache;
  if (cache.store != store || cache.http.size() + cache.tcp.size() > kMaxCachedLabelSets ||
      cache.http_by_input.size() + cache.tcp_by_input.size() > kMaxCachedLabelSets) {
    cache.http.clear();
    cache.tcp.clear();
    cache.http_by_input.clear();
    cache.tcp_by_input.clear();
    cache.store = store;
  }
  return cache;
}

// "reviews.default.svc.cluster.local" -> ("reviews", "default"); no ".svc.": (host, fallback).
std::pair<std::string, std::string> ServiceNameAndNamespace(std::string_view host,
                                                            std::string_view fallback_ns) {
  const size_t dot = host.find('.');
  if (dot != std::string_view::npos && host.substr(dot).find(".svc") != std::string_view::npos) {
    const std::string_view rest = host.substr(dot + 1);
    return {std::string(host.substr(0, dot)), std::string(rest.substr(0, rest.find('.')))};
  }
  return {std::string(host), std::string(fallback_ns)};
}

// The service host in an Istio cluster name "outbound|9080|v1|reviews.default.svc..." (the
// fourth field; inbound clusters "inbound|9080||" have none).
std::string_view ClusterServiceHost(std::string_view cluster) {
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = cluster.find('|', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  return cluster.substr(pos);
}

std::string_view StripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool IsGrpc(const access_log::LogContext& ctx) {
  const std::string* ct =
      ctx.request_headers != nullptr ? ctx.request_headers->headers.Get("content-type") : nullptr;
  return ct != nullptr && ct->rfind("application/grpc", 0) == 0;
}

// Everything BuildLabels reads that differs between streams under one filter config (the config
// itself is named by `prefix` and its two switches; the local identity is the process's). Equal
// keys give equal labels. Built in a per-thread buffer.
const std::string& InputKey(const IstioStatsConfig& config, const std::string& prefix,
                            const access_log::LogContext& ctx, bool tcp) {
  thread_local std::string key;
  key.assign(prefix);
  key.push_back(config.reporter == IstioStatsConfig::Reporter::kServerGateway ? 'g' : 's');
  key.push_back(config.disable_host_header_fallback ? 'n' : 'f');
  key.push_back(static_cast<char>('0' + static_cast<int>(ctx.direction)));
  key.push_back(tcp ? 't' : 'h');
  key.append(ctx.info.upstream_cluster);
  key.push_back('\0');
  if (ClusterServiceHost(ctx.info.upstream_cluster).empty() &&
      !config.disable_host_header_fallback && ctx.request_headers != nullptr) {
    key.append(StripPort(ctx.request_headers->authority));
  }
  key.push_back('\0');
  if (!tcp) {
    const bool grpc = IsGrpc(ctx);
    key.push_back(grpc ? 'g' : 'p');
    access_log::AppendNumber(ctx.info.response_code, key);
    key.push_back('\0');
    if (grpc && ctx.response_headers != nullptr) {
      if (const std::string* gs = ctx.response_headers->headers.Get("grpc-status")) key.append(*gs);
    }
    key.push_back('\0');
  }
  access_log::AppendNumber(ctx.info.response_flags, key);
  return key;
}

void AddPeer(LabelList* labels, bool source, const PeerIdentity& p) {
  labels->emplace_back(source ? "source_workload" : "destination_workload", p.workload);
  if (source) {
    labels->emplace_back("source_canonical_service", p.canonical_service);
    labels->emplace_back("source_canonical_revision", p.canonical_revision);
  }
  labels->emplace_back(source ? "source_workload_namespace" : "destination_workload_namespace",
                       p.workload_namespace);
  labels->emplace_back(source ? "source_principal" : "destination_principal", p.principal);
  labels->emplace_back(source ? "source_app" : "destination_app", p.app);
  labels->emplace_back(source ? "source_version" : "destination_version", p.version);
  if (source) labels->emplace_back("source_cluster", p.cluster);
}

uint64_t RequestHeaderBytes(const http::RequestHeaders* h) {
  if (h == nullptr) return 0;
  return h->headers.ByteSize() + h->method.size() + h->path.size() + h->authority.size();
}

}  // namespace

LabelList BuildLabels(const IstioStatsConfig& config, const access_log::LogContext& ctx, bool tcp) {
  const bool inbound = ctx.direction == config::TrafficDirection::kInbound;
  const char* reporter = config.reporter == IstioStatsConfig::Reporter::kServerGateway
                             ? "waypoint"
                             : (inbound ? "destination" : "source");
  static const PeerIdentity kUnknownPeer;
  const PeerIdentity& source = inbound ? kUnknownPeer : config.local;
  const PeerIdentity& destination = inbound ? config.local : kUnknownPeer;

  std::string_view service_host = ClusterServiceHost(ctx.info.upstream_cluster);
  if (service_host.empty() && !config.disable_host_header_fallback &&
      ctx.request_headers != nullptr) {
    service_host = StripPort(ctx.request_headers->authority);
  }
  const std::string service = service_host.empty() ? "unknown" : std::string(service_host);
  auto [service_name, service_ns] = ServiceNameAndNamespace(
      service, inbound ? std::string_view(config.local.workload_namespace) : "unknown");

  LabelList labels;
  labels.reserve(25);
  labels.emplace_back("reporter", reporter);
  AddPeer(&labels, true, source);
  AddPeer(&labels, false, destination);
  labels.emplace_back("destination_service", service);
  labels.emplace_back("destination_canonical_service", destination.canonical_service);
  labels.emplace_back("destination_canonical_revision", destination.canonical_revision);
  labels.emplace_back("destination_service_name", std::move(service_name));
  labels.emplace_back("destination_service_namespace", std::move(service_ns));
  labels.emplace_back("destination_cluster", destination.cluster);
  if (tcp) {
    labels.emplace_back("request_protocol", "tcp");
  } else {
    const bool grpc = IsGrpc(ctx);
    labels.emplace_back("request_protocol", grpc ? "grpc" : "http");
    labels.emplace_back("response_code", absl::StrCat(ctx.info.response_code));
    const std::string* gs = grpc && ctx.response_headers != nullptr
                                ? ctx.response_headers->headers.Get("grpc-status")
                                : nullptr;
    labels.emplace_back("grpc_response_status", gs != nullptr ? *gs : "");
  }
  labels.emplace_back("response_flags", http::ResponseFlagsToString(ctx.info.response_flags));
  labels.emplace_back("connection_security_policy", inbound ? "none" : "unknown");
  return labels;
}

std::string StatName(const IstioStatsConfig& config, const LabelList& labels,
                     const std::string& metric) {
  std::string name = absl::StrCat(kStatNamespace, ".");
  const bool trims = !config.metrics.empty();
  for (const auto& [key, value] : labels) {
    if (trims && config.Removes(metric, std::string(key))) continue;
    absl::StrAppend(&name, key, "=.=", value, ";.;");
  }
  absl::StrAppend(&name, "istio_", metric);
  return name;
}

IstioStats::IstioStats(IstioStatsConfigSharedPtr config) : config_(std::move(config)) {
  // Configs that trim or drop metrics name their stats differently: keep their cache entries
  // apart (the common, untrimmed config shares one set of handles per label set).
  for (const MetricOverride& m : config_->metrics) {
    absl::StrAppend(&cache_prefix_, m.name, m.drop ? "!" : "", "{");
    for (const std::string& t : m.tags_to_remove) absl::StrAppend(&cache_prefix_, t, ",");
    absl::StrAppend(&cache_prefix_, "}");
  }
  if (!cache_prefix_.empty()) cache_prefix_.push_back('\n');
}

namespace {

// The label set as one string, built in a per-thread buffer: looked up on every request, copied
// only when the set is new.
const std::string& CacheKey(const std::string& prefix, const LabelList& labels) {
  thread_local std::string key;
  key.assign(prefix);
  for (const auto& [k, v] : labels) {
    key.append(v);
    key.push_back(';');
  }
  return key;
}

template <typename Map>
std::pair<typename Map::iterator, bool> FindOrAdd(Map& map, const std::string& key) {
  if (auto it = map.find(key); it != map.end()) return {it, false};
  return map.try_emplace(key);
}

template <typename Handle, typename Create>
Handle MaybeStat(const IstioStatsConfig& config, const LabelList& labels, const std::string& metric,
                 Create create) {
  if (config.Dropped(metric)) return Handle{};  // the sink
  return create(StatName(config, labels, metric));
}

const TcpHandles& TcpFor(stats::Store* store, const IstioStatsConfig& config,
                         const std::string& prefix, const access_log::LogContext& ctx) {
  WorkerCache& cache = CacheFor(store);
  auto [in, added] = FindOrAdd(cache.tcp_by_input, InputKey(config, prefix, ctx, /*tcp=*/true));
  if (!added) return in->second;
  const LabelList labels = BuildLabels(config, ctx, /*tcp=*/true);
  auto [it, inserted] = FindOrAdd(cache.tcp, CacheKey(prefix, labels));
  if (inserted) {
    auto counter = [store](const std::string& n) { return store->CounterFor(n); };
    it->second.opened =
        MaybeStat<stats::Counter>(config, labels, "tcp_connections_opened_total", counter);
    it->second.closed =
        MaybeStat<stats::Counter>(config, labels, "tcp_connections_closed_total", counter);
    it->second.sent = MaybeStat<stats::Counter>(config, labels, "tcp_sent_bytes_total", counter);
    it->second.received =
        MaybeStat<stats::Counter>(config, labels, "tcp_received_bytes_total", counter);
  }
  in->second = it->second;
  return in->second;
}

}  // namespace

void IstioStats::OnConnectionOpen(const access_log::LogContext& ctx) const {
  if (ctx.stats == nullptr) return;
  const TcpHandles& h = TcpFor(ctx.stats, *config_, cache_prefix_, ctx);
  ctx.stats->Inc(h.opened);
}

void IstioStats::OnStreamComplete(const access_log::LogContext& ctx) const {
  if (ctx.stats == nullptr) return;
  const bool tcp = ctx.protocol == nullptr;
  if (tcp) {
    const TcpHandles& h = TcpFor(ctx.stats, *config_, cache_prefix_, ctx);
    ctx.stats->Inc(h.closed);
    if (ctx.info.bytes_sent != 0) ctx.stats->Inc(h.sent, ctx.info.bytes_sent);
    if (ctx.info.bytes_received != 0) ctx.stats->Inc(h.received, ctx.info.bytes_received);
    return;
  }
  WorkerCache& cache = CacheFor(ctx.stats);
  auto [in, added] = FindOrAdd(cache.http_by_input, InputKey(*config_, cache_prefix_, ctx, false));
  if (added) {
    const LabelList labels = BuildLabels(*config_, ctx, /*tcp=*/false);
    auto [it, inserted] = FindOrAdd(cache.http, CacheKey(cache_prefix_, labels));
    if (inserted) {
      stats::Store* store = ctx.stats;
      auto counter = [store](const std::string& n) { return store->CounterFor(n); };
      auto histogram = [store](const std::string& n) { return store->HistogramFor(n); };
      HttpHandles& nh = it->second;
      nh.requests = MaybeStat<stats::Counter>(*config_, labels, "requests_total", counter);
      nh.duration =
          MaybeStat<stats::Histogram>(*config_, labels, "request_duration_milliseconds", histogram);
      nh.request_bytes = MaybeStat<stats::Histogram>(*config_, labels, "request_bytes", histogram);
      nh.response_bytes =
          MaybeStat<stats::Histogram>(*config_, labels, "response_bytes", histogram);
    }
    in->second = it->second;
  }
  const HttpHandles& h = in->second;
  ctx.stats->Inc(h.requests);
  const auto duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(ctx.info.end - ctx.info.start_mono);
  ctx.stats->Record(h.duration, duration.count() < 0 ? 0 : duration.count());
  ctx.stats->Record(h.request_bytes,
                    RequestHeaderBytes(ctx.request_headers) + ctx.info.bytes_received);
  ctx.stats->Record(
      h.response_bytes,
      (ctx.response_headers != nullptr ? ctx.response_headers->headers.ByteSize() : 0) +
          ctx.info.bytes_sent);
}

}  // namespace pilotfish::filters::istio_stats
