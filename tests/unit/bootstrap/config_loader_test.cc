// Tests for bootstrap loading (YAML/JSON/text/binary, @type checks, error messages) and a walk
// over the real-world configs in the shared testdata folder through load + translation.
#include "bootstrap/config_loader.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "envoy/admin/v3/config_dump.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "tests/unit/xds/translate/test_util.h"
#include "xds/translate/bootstrap_translate.h"
#include "xds/translate/cluster_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/route_translate.h"

namespace pilotfish::bootstrap {
namespace {

namespace fs = std::filesystem;

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

absl::StatusOr<std::string> Json(const std::string& yaml) {
  return YamlToJson(yaml, envoy::config::bootstrap::v3::Bootstrap::descriptor());
}

TEST(YamlToJsonTest, CoreSchemaScalars) {
  auto json = YamlToJson(R"(
a: 10
b: 0x1F
b2: -0x1F
c: 0o17
d: 1.5
e: .5
f: 1e3
g: true
h: False
i: ~
j: null
k: yes
l: "10"
m: 'true'
n: .inf
o: -.inf
p: .nan
q: 007
r: +12
s: 3.
t: on
u: 0.25s
v:
w: 1e400
)",
                         nullptr);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      *json,
      R"({"a":10,"b":31,"b2":"-0x1F","c":15,"d":1.5,"e":0.5,"f":1.0e3,"g":true,"h":false,"i":null,)"
      R"("j":null,"k":"yes","l":"10","m":"true","n":"Infinity","o":"-Infinity","p":"NaN",)"
      R"("q":7,"r":12,"s":3.0,"t":"on","u":"0.25s","v":null,"w":"1e400"})");
}

TEST(YamlToJsonTest, SchemaGuidedStrings) {
  // A plain scalar that looks like a number or bool stays a string where the field is a string
  // (node.id), an enum (cluster type) or a Duration; numbers stay numbers where they are numbers.
  auto json = Json(R"(
node: {id: 12345, cluster: true}
static_resources:
  clusters:
  - name: 404
    connect_timeout: 5
    per_connection_buffer_limit_bytes: 32768
    load_assignment: {cluster_name: x}
    metadata: {filter_metadata: {istio: {n: 1, b: true, s: abc}}}
)");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      *json,
      R"({"node":{"id":"12345","cluster":"true"},"static_resources":{"clusters":[{"name":"404",)"
      R"("connect_timeout":"5","per_connection_buffer_limit_bytes":32768,)"
      R"("load_assignment":{"cluster_name":"x"},)"
      R"("metadata":{"filter_metadata":{"istio":{"n":1,"b":true,"s":"abc"}}}}]}})");
}

TEST(YamlToJsonTest, AnyTypedConfigIsFollowed) {
  auto json = Json(R"(
static_resources:
  listeners:
  - filter_chains:
    - filters:
      - typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: 1
          cluster: 2
)");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_TRUE(absl::StrContains(*json, R"("stat_prefix":"1","cluster":"2")")) << *json;
}

TEST(YamlToJsonTest, MergeKeysAnchorsAndErrors) {
  auto json = YamlToJson(R"(
base: &b {x: 1, y: 2}
m:
  <<: *b
  y: 3
l: [*b]
)",
                         nullptr);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"base":{"x":1,"y":2},"m":{"y":3,"x":1},"l":[{"x":1,"y":2}]})");

  EXPECT_EQ(YamlToJson("a: 1\na: 2\n", nullptr).status().message(), "a: duplicate key");
  EXPECT_EQ(YamlToJson("a: 1\n---\nb: 2\n", nullptr).status().message(),
            "only one YAML document is allowed");
  EXPECT_EQ(YamlToJson("", nullptr).status().message(), "the configuration is empty");
  EXPECT_EQ(YamlToJson("- 1\n", nullptr).status().message(), "the configuration must be a map");
  auto syntax = YamlToJson("a: [1, 2\nb: 3\n", nullptr);
  EXPECT_TRUE(absl::StartsWith(syntax.status().message(), "YAML error at line "))
      << syntax.status();
}

constexpr char kBootstrapYaml[] = R"(
node: {id: n1, cluster: c1}
static_resources:
  clusters:
  - name: backend
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}
)";

TEST(LoadBootstrapTest, YamlFile) {
  auto b = LoadBootstrap({.config_path = WriteTemp("b.yaml", kBootstrapYaml)});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->node().id(), "n1");
  ASSERT_EQ(b->static_resources().clusters_size(), 1);
  EXPECT_EQ(b->static_resources().clusters(0).connect_timeout().nanos(), 250000000);
  EXPECT_EQ(b->static_resources()
                .clusters(0)
                .load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            8080u);
}

TEST(LoadBootstrapTest, JsonTextAndBinaryFiles) {
  auto json =
      LoadBootstrap({.config_path = WriteTemp(
                         "b.json", R"({"node": {"id": "j"}, "stats_flush_interval": "2s"})")});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->node().id(), "j");
  EXPECT_EQ(json->stats_flush_interval().seconds(), 2);

  auto text = LoadBootstrap({.config_path = WriteTemp("b.pb_text", R"(node { id: "t" })")});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->node().id(), "t");

  envoy::config::bootstrap::v3::Bootstrap proto;
  proto.mutable_node()->set_id("bin");
  auto binary = LoadBootstrap({.config_path = WriteTemp("b.pb", proto.SerializeAsString())});
  ASSERT_TRUE(binary.ok()) << binary.status();
  EXPECT_EQ(binary->node().id(), "bin");

  // Unknown extension: YAML.
  auto other = LoadBootstrap({.config_path = WriteTemp("b.conf", "node: {id: y}\n")});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->node().id(), "y");
}

TEST(LoadBootstrapTest, ConfigYamlMergesOverTheFile) {
  auto b = LoadBootstrap({.config_path = WriteTemp("m.yaml", kBootstrapYaml),
                          .config_yaml = "node: {id: override}\nstatic_resources: {clusters: "
                                         "[{name: extra}]}"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->node().id(), "override");
  EXPECT_EQ(b->node().cluster(), "c1");                 // kept from the file
  EXPECT_EQ(b->static_resources().clusters_size(), 2);  // repeated fields append

  auto only_yaml = LoadBootstrap({.config_yaml = "node: {id: solo}"});
  ASSERT_TRUE(only_yaml.ok()) << only_yaml.status();
  EXPECT_EQ(only_yaml->node().id(), "solo");
  EXPECT_FALSE(LoadBootstrap({}).ok());
}

TEST(LoadBootstrapTest, ErrorsNameTheFileAndTheField) {
  const std::string missing = ::testing::TempDir() + "/does-not-exist.yaml";
  EXPECT_EQ(LoadBootstrap({.config_path = missing}).status().message(),
            missing + ": cannot open: No such file or directory");

  const std::string typo = WriteTemp("typo.yaml", "static_resources:\n  clusters:\n  - nme: x\n");
  EXPECT_EQ(LoadBootstrap({.config_path = typo}).status().message(),
            typo + ": static_resources.clusters[0].nme: unknown field");
  EXPECT_TRUE(LoadBootstrap({.config_path = typo, .allow_unknown_fields = true}).ok());

  const std::string bad_enum =
      WriteTemp("enum.yaml", "static_resources: {clusters: [{name: a, type: DNS}]}");
  EXPECT_TRUE(absl::StartsWith(LoadBootstrap({.config_path = bad_enum}).status().message(),
                               bad_enum + ": static_resources.clusters[0].type: invalid value"));

  // `yes` is not a YAML 1.2 bool, so it reaches protobuf as the string "yes", which (like
  // Envoy's yaml-cpp) reads it as true for a bool field; a string field keeps the text.
  auto yes = LoadBootstrap({.config_yaml = "node: {id: yes}\nstatic_resources: {clusters: [{name: "
                                           "a, respect_dns_ttl: yes}]}"});
  ASSERT_TRUE(yes.ok()) << yes.status();
  EXPECT_EQ(yes->node().id(), "yes");
  EXPECT_TRUE(yes->static_resources().clusters(0).respect_dns_ttl());
  EXPECT_TRUE(absl::StartsWith(
      LoadBootstrap({.config_yaml = "static_resources: {clusters: [{name: a, respect_dns_ttl: "
                                    "maybe}]}"})
          .status()
          .message(),
      "--config-yaml: static_resources.clusters[0].respect_dns_ttl: invalid value"));

  const std::string any = WriteTemp("any.yaml", R"(
static_resources:
  listeners:
  - filter_chains:
    - filters:
      - name: envoy.filters.network.rbac
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC
)");
  EXPECT_EQ(LoadBootstrap({.config_path = any}).status().message(),
            any +
                ": static_resources.listeners[0].filter_chains[0].filters[0].typed_config: "
                "unknown or unsupported type URL "
                "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC");
  const std::string two = WriteTemp("two.yaml", R"(
static_resources:
  clusters:
  - {name: a, transport_socket: {name: x, typed_config: {"@type": type.googleapis.com/a.B}}}
  - {name: b, transport_socket: {name: y, typed_config: {"@type": type.googleapis.com/c.D}}}
)");
  EXPECT_EQ(LoadBootstrap({.config_path = two}).status().message(),
            two +
                ": static_resources.clusters[0].transport_socket.typed_config: unknown or "
                "unsupported type URL type.googleapis.com/a.B; "
                "static_resources.clusters[1].transport_socket.typed_config: unknown or "
                "unsupported type URL type.googleapis.com/c.D");
  // Even with unknown fields allowed an Any of an unknown type cannot be parsed.
  EXPECT_FALSE(LoadBootstrap({.config_path = any, .allow_unknown_fields = true}).ok());

  const std::string tls = WriteTemp("tls.json", R"({"static_resources": {"clusters": [{"name": "a",
      "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"}}}]}})");
  EXPECT_EQ(LoadBootstrap({.config_path = tls}).status().message(),
            tls +
                ": static_resources.clusters[0].transport_socket.typed_config: unknown or "
                "unsupported type URL "
                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
                "UpstreamTlsContext (TLS is not supported yet)");

  const std::string syntax = WriteTemp("syntax.yaml", "a: [\n");
  EXPECT_TRUE(absl::StartsWith(LoadBootstrap({.config_path = syntax}).status().message(),
                               syntax + ": YAML error at line"));
  const std::string json_syntax = WriteTemp("syntax.json", "{\"node\": ");
  EXPECT_TRUE(absl::StartsWith(LoadBootstrap({.config_path = json_syntax}).status().message(),
                               json_syntax + ": invalid JSON"));
  EXPECT_TRUE(absl::StartsWith(LoadBootstrap({.config_yaml = "node: {idd: 1}"}).status().message(),
                               "--config-yaml: node.idd: unknown field"));
}

// ------------------------------------------------------------------ shared testdata walk

// PF_SHARED_DIR, else <source>/../shared found from this file's path (absolute, or relative to
// the build directory the compiler ran in, which is an ancestor of the test's cwd).
std::string SharedTestdata() {
  if (const char* env = std::getenv("PF_SHARED_DIR"); env != nullptr && *env != '\0') {
    return std::string(env) + "/testdata";
  }
  const fs::path suffix = fs::path(__FILE__).parent_path() / "../../../../shared/testdata";
  if (suffix.is_absolute()) return fs::exists(suffix) ? suffix.string() : "";
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / suffix)) return fs::canonical(dir / suffix).string();
    if (dir == dir.parent_path()) break;
  }
  return "";
}

struct Outcome {
  enum Kind { kLoaded, kFailed, kSkipped } kind;
  std::string detail;
};

bool IsKubernetesManifest(const std::string& content) {
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    if (absl::StartsWith(line, "apiVersion:") || absl::StartsWith(line, "kind:")) return true;
  }
  return false;
}

bool HasTypeInPool(absl::string_view type) {
  xds::EnsureEnvoyProtosLinked();
  return google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
             std::string(type)) != nullptr;
}

// The bootstrap pilot-agent renders from tools/packaging/common/envoy_bootstrap.json with its
// defaults (no tracing, metrics service, dual stack, secure metrics port or compression), by
// hand. `extensions` adds the bootstrap_extensions / overload_manager sections, whose Any types
// (udpa TypedStruct, DownstreamConnectionsConfig) this build may not have compiled in.
std::string IstioSidecarBootstrap(bool extensions) {
  std::string json = R"json({
  "application_log_config": {"log_format": {"text_format": "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t"}},
  "node": {
    "id": "sidecar~10.244.0.7~productpage-v1-5b8d9.default~default.svc.cluster.local",
    "cluster": "productpage.default",
    "locality": {"region": "us-east1", "zone": "us-east1-b"},
    "metadata": {"ISTIO_VERSION": "1.22.0", "INTERCEPTION_MODE": "REDIRECT", "NAMESPACE": "default",
                 "LABELS": {"app": "productpage", "version": "v1"}, "ENVOY_PROMETHEUS_PORT": 15090}
  },
  "layered_runtime": {"layers": [
    {"name": "global config", "static_layer": {"envoy.deprecated_features:envoy.config.listener.v3.Listener.hidden_envoy_deprecated_use_original_dst": "true",
                                                "envoy.reloadable_features.http_reject_path_with_fragment": "false",
                                                "overload.global_downstream_max_connections": "2147483647",
                                                "re2.max_program_size.error_level": "32768"}},
    {"name": "admin", "admin_layer": {}}]},
  "stats_config": {
    "use_all_default_tags": false,
    "stats_tags": [{"tag_name": "cluster_name", "regex": "^cluster(\\.(.+);)"},
                   {"regex": "_rq(_(\\d{3}))$", "tag_name": "response_code"}],
    "stats_matcher": {"inclusion_list": {"patterns": [{"prefix": "reporter="}, {"prefix": "cluster_manager"},
        {"prefix": "listener_manager"}, {"prefix": "server"}, {"prefix": "cluster.xds-grpc"}, {"prefix": "wasm"},
        {"suffix": "rbac.allowed"}, {"safe_regex": {"regex": "vhost\\..*\\.route\\..*"}},
        {"prefix": "component"}, {"prefix": "istio"}]}}
  },
  "admin": {
    "access_log": [{"name": "envoy.access_loggers.file",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", "path": "/dev/null"}}],
    "profile_path": "/var/lib/istio/data/envoy.prof",
    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 15000}}
  },
  "dynamic_resources": {
    "lds_config": {"ads": {}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
    "cds_config": {"ads": {}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
    "ads_config": {"api_type": "DELTA_GRPC", "set_node_on_first_message_only": true, "transport_api_version": "V3",
                   "grpc_services": [{"envoy_grpc": {"cluster_name": "xds-grpc"}}]}
  },
  "static_resources": {
    "clusters": [
      {"name": "prometheus_stats", "type": "STATIC", "connect_timeout": "0.250s", "lb_policy": "ROUND_ROBIN",
       "load_assignment": {"cluster_name": "prometheus_stats", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"protocol": "TCP", "address": "127.0.0.1", "port_value": 15000}}}}]}]}},
      {"name": "agent", "alt_stat_name": "agent;", "type": "STATIC", "connect_timeout": "0.250s", "lb_policy": "ROUND_ROBIN",
       "load_assignment": {"cluster_name": "agent", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"protocol": "TCP", "address": "127.0.0.1", "port_value": 15020}}}}]}]}},
      {"name": "sds-grpc", "alt_stat_name": "sds-grpc;", "type": "STATIC",
       "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
         "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "explicit_http_config": {"http2_protocol_options": {}}}},
       "connect_timeout": "1s", "lb_policy": "ROUND_ROBIN",
       "load_assignment": {"cluster_name": "sds-grpc", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"pipe": {"path": "./var/run/secrets/workload-spiffe-uds/socket"}}}}]}]}},
      {"name": "xds-grpc", "alt_stat_name": "xds-grpc;", "type": "STATIC", "connect_timeout": "1s", "lb_policy": "ROUND_ROBIN",
       "load_assignment": {"cluster_name": "xds-grpc", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"pipe": {"path": "./etc/istio/proxy/XDS"}}}}]}]},
       "circuit_breakers": {"thresholds": [
         {"priority": "DEFAULT", "max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000},
         {"priority": "HIGH", "max_connections": 100000, "max_pending_requests": 100000, "max_requests": 100000}]},
       "upstream_connection_options": {"tcp_keepalive": {"keepalive_time": 300}},
       "max_requests_per_connection": 1,
       "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
         "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "explicit_http_config": {"http2_protocol_options": {}}}}}
    ],
    "listeners": [
      {"name": "0.0.0.0_15090", "address": {"socket_address": {"protocol": "TCP", "address": "0.0.0.0", "port_value": 15090}},
       "ignore_global_conn_limit": true, "bypass_overload_manager": true,
       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
         "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
         "codec_type": "AUTO", "stat_prefix": "stats",
         "route_config": {"virtual_hosts": [{"name": "backend", "domains": ["*"], "routes": [{"match": {"prefix": "/stats/prometheus"}, "route": {"cluster": "prometheus_stats"}}]}]},
         "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]},
      {"name": "0.0.0.0_15021", "address": {"socket_address": {"protocol": "TCP", "address": "0.0.0.0", "port_value": 15021}},
       "ignore_global_conn_limit": true, "bypass_overload_manager": true,
       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
         "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
         "codec_type": "AUTO", "stat_prefix": "agent",
         "route_config": {"virtual_hosts": [{"name": "backend", "domains": ["*"], "routes": [{"match": {"prefix": "/healthz/ready"}, "route": {"cluster": "agent"}}]}]},
         "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}
    ]
  })json";
  if (extensions) {
    json += R"json(,
  "bootstrap_extensions": [{"name": "envoy.bootstrap.internal_listener", "typed_config": {
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    "type_url": "type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener",
    "value": {"buffer_size_kb": 64}}}],
  "overload_manager": {"resource_monitors": [{"name": "envoy.resource_monitors.global_downstream_max_connections",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                     "max_active_downstream_connections": 2147483647}}]})json";
  }
  return json + "\n}\n";
}

void ExpectIstioBootstrapTranslates(const envoy::config::bootstrap::v3::Bootstrap& proto) {
  std::vector<std::string> warnings;
  auto b = xds::TranslateBootstrap(proto, xds::testing::TranslatingLookup(&warnings), &warnings);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->node_id,
            "sidecar~10.244.0.7~productpage-v1-5b8d9.default~default.svc.cluster.local");
  EXPECT_EQ(b->admin_address->port, 15000u);
  ASSERT_EQ(b->listeners.size(), 2u);
  EXPECT_EQ(b->listeners[0].name, "0.0.0.0_15090");
  EXPECT_EQ(b->listeners[1].name, "0.0.0.0_15021");
  ASSERT_EQ(b->clusters.size(), 4u);
  const config::Cluster& xds = b->clusters[3];
  EXPECT_EQ(xds.name, "xds-grpc");
  EXPECT_EQ(xds.endpoints[0].address.pipe_path, "./etc/istio/proxy/XDS");
  EXPECT_EQ(xds.circuit_breakers.max_connections, 100000u);
  EXPECT_EQ(xds.circuit_breakers_high->max_requests, 100000u);
  EXPECT_EQ(xds.max_requests_per_connection, 1u);
  EXPECT_TRUE(xds.http2);
  EXPECT_EQ(b->clusters[0].connect_timeout.count(), 250);
  EXPECT_TRUE(b->dynamic_resources.ads_delta);
  EXPECT_EQ(b->dynamic_resources.ads_cluster, "xds-grpc");
  const std::string all = absl::StrJoin(warnings, "\n");
  // Of Istio's runtime only the path-fragment flag is read; the other three keys are named.
  for (const char* ignored :
       {"layered_runtime.layers[0].static_layer: 3 runtime key(s) have no effect",
        "application_log_config: ignored", "upstream_connection_options: ignored"}) {
    EXPECT_TRUE(absl::StrContains(all, ignored)) << ignored << " not in:\n" << all;
  }
  // Istio's stats_config (its stats_tags regexes and stats_matcher) is translated.
  EXPECT_FALSE(absl::StrContains(all, "stats_config")) << all;
  EXPECT_FALSE(b->stats_config.use_all_default_tags);
  EXPECT_FALSE(b->stats_config.stats_tags.empty());
  EXPECT_EQ(b->stats_config.stats_matcher.kind, config::StatsMatcher::Kind::kInclusionList);
}

TEST(LoadBootstrapTest, IstioSidecarBootstrap) {
  auto core =
      LoadBootstrap({.config_path = WriteTemp("istio-core.json", IstioSidecarBootstrap(false))});
  ASSERT_TRUE(core.ok()) << core.status();
  ExpectIstioBootstrapTranslates(*core);

  const std::string full = WriteTemp("istio.json", IstioSidecarBootstrap(true));
  auto b = LoadBootstrap({.config_path = full});
  const bool compiled = HasTypeInPool("udpa.type.v1.TypedStruct") &&
                        HasTypeInPool(
                            "envoy.extensions.resource_monitors.downstream_connections.v3."
                            "DownstreamConnectionsConfig");
  if (compiled) {
    ASSERT_TRUE(b.ok()) << b.status();
    ExpectIstioBootstrapTranslates(*b);
  } else {
    EXPECT_FALSE(b.ok());
    EXPECT_TRUE(absl::StrContains(b.status().message(),
                                  "bootstrap_extensions[0].typed_config: "
                                  "unknown or unsupported type URL"))
        << b.status();
  }
}

// Translates one xDS resource (a listener, cluster, route table or endpoint assignment).
absl::Status TranslateResource(const google::protobuf::Any& any, const std::string& path,
                               std::vector<std::string>* warnings) {
  const absl::string_view type = xds::TypeNameOf(any);
  if (type == "envoy.config.listener.v3.Listener") {
    envoy::config::listener::v3::Listener l;
    if (absl::Status s = xds::UnpackAny(any, &l, path); !s.ok()) return s;
    return xds::TranslateListener(l, xds::testing::TranslatingLookup(warnings), path, warnings)
        .status();
  }
  if (type == "envoy.config.cluster.v3.Cluster") {
    envoy::config::cluster::v3::Cluster c;
    if (absl::Status s = xds::UnpackAny(any, &c, path); !s.ok()) return s;
    return xds::TranslateCluster(c, path, warnings).status();
  }
  if (type == "envoy.config.route.v3.RouteConfiguration") {
    envoy::config::route::v3::RouteConfiguration r;
    if (absl::Status s = xds::UnpackAny(any, &r, path); !s.ok()) return s;
    return xds::TranslateRouteConfiguration(r, path, warnings).status();
  }
  if (type == "envoy.config.endpoint.v3.ClusterLoadAssignment") {
    envoy::config::endpoint::v3::ClusterLoadAssignment cla;
    if (absl::Status s = xds::UnpackAny(any, &cla, path); !s.ok()) return s;
    std::vector<config::Endpoint> endpoints;
    return xds::ApplyClusterLoadAssignment(cla, &endpoints, path, warnings);
  }
  return absl::OkStatus();  // e.g. a dumped Bootstrap or Secret: not a translated resource
}

// A config_dump: translate every listener, cluster, route table and endpoint assignment in it.
absl::Status TranslateConfigDump(const envoy::admin::v3::ConfigDump& dump,
                                 std::vector<std::string>* warnings, int* resources) {
  for (int i = 0; i < dump.configs_size(); ++i) {
    const std::string p = absl::StrCat("configs[", i, "]");
    const google::protobuf::Any& config = dump.configs(i);
    std::vector<std::pair<std::string, const google::protobuf::Any*>> items;
    envoy::admin::v3::RoutesConfigDump routes;
    envoy::admin::v3::ClustersConfigDump clusters;
    envoy::admin::v3::ListenersConfigDump listeners;
    envoy::admin::v3::EndpointsConfigDump endpoints;
    if (config.UnpackTo(&routes)) {
      for (int j = 0; j < routes.static_route_configs_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".static_route_configs[", j, "].route_config"),
                           &routes.static_route_configs(j).route_config());
      }
      for (int j = 0; j < routes.dynamic_route_configs_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".dynamic_route_configs[", j, "].route_config"),
                           &routes.dynamic_route_configs(j).route_config());
      }
    } else if (config.UnpackTo(&clusters)) {
      for (int j = 0; j < clusters.static_clusters_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".static_clusters[", j, "].cluster"),
                           &clusters.static_clusters(j).cluster());
      }
      for (int j = 0; j < clusters.dynamic_active_clusters_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".dynamic_active_clusters[", j, "].cluster"),
                           &clusters.dynamic_active_clusters(j).cluster());
      }
    } else if (config.UnpackTo(&listeners)) {
      for (int j = 0; j < listeners.static_listeners_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".static_listeners[", j, "].listener"),
                           &listeners.static_listeners(j).listener());
      }
      for (int j = 0; j < listeners.dynamic_listeners_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".dynamic_listeners[", j, "].active_state.listener"),
                           &listeners.dynamic_listeners(j).active_state().listener());
      }
    } else if (config.UnpackTo(&endpoints)) {
      for (int j = 0; j < endpoints.static_endpoint_configs_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".static_endpoint_configs[", j, "].endpoint_config"),
                           &endpoints.static_endpoint_configs(j).endpoint_config());
      }
      for (int j = 0; j < endpoints.dynamic_endpoint_configs_size(); ++j) {
        items.emplace_back(absl::StrCat(p, ".dynamic_endpoint_configs[", j, "].endpoint_config"),
                           &endpoints.dynamic_endpoint_configs(j).endpoint_config());
      }
    }
    for (const auto& [path, any] : items) {
      ++*resources;
      if (absl::Status s = TranslateResource(*any, path, warnings); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

Outcome LoadAndTranslate(const fs::path& file, std::vector<std::string>* warnings) {
  std::ifstream in(file, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (IsKubernetesManifest(content)) {
    return {Outcome::kSkipped,
            "Kubernetes manifest (top-level apiVersion/kind), not an Envoy config"};
  }
  const ConfigFormat format = FormatForPath(file.string());
  // What kind of Envoy file is it? Look at its top-level keys.
  google::protobuf::Struct top;
  if (format == ConfigFormat::kYaml) {
    auto json = YamlToJson(content, nullptr);
    if (json.ok()) (void)google::protobuf::util::JsonStringToMessage(*json, &top);
  } else {
    (void)google::protobuf::util::JsonStringToMessage(content, &top);
  }
  const std::string name = file.string();
  if (top.fields().contains("resources")) {
    envoy::service::discovery::v3::DiscoveryResponse response;
    if (absl::Status s = ParseConfig(content, format, false, name, &response); !s.ok()) {
      return {Outcome::kFailed, std::string(s.message())};
    }
    for (int i = 0; i < response.resources_size(); ++i) {
      if (absl::Status s = TranslateResource(response.resources(i),
                                             absl::StrCat("resources[", i, "]"), warnings);
          !s.ok()) {
        return {Outcome::kFailed, std::string(s.message())};
      }
    }
    return {Outcome::kLoaded, absl::StrCat("xDS resource file, ", response.resources_size(),
                                           " resource(s) translated")};
  }
  if (top.fields().contains("configs")) {
    envoy::admin::v3::ConfigDump dump;
    if (absl::Status s = ParseConfig(content, format, false, name, &dump); !s.ok()) {
      return {Outcome::kFailed, std::string(s.message())};
    }
    int resources = 0;
    if (absl::Status s = TranslateConfigDump(dump, warnings, &resources); !s.ok()) {
      return {Outcome::kFailed, std::string(s.message())};
    }
    return {Outcome::kLoaded, absl::StrCat("config_dump, ", resources, " resource(s) translated")};
  }
  auto bootstrap = LoadBootstrap({.config_path = name});
  if (!bootstrap.ok()) return {Outcome::kFailed, std::string(bootstrap.status().message())};
  auto translated =
      xds::TranslateBootstrap(*bootstrap, xds::testing::TranslatingLookup(warnings), warnings);
  if (!translated.ok()) return {Outcome::kFailed, std::string(translated.status().message())};
  return {Outcome::kLoaded,
          absl::StrCat("bootstrap, ", translated->listeners.size(), " listener(s), ",
                       translated->clusters.size(), " cluster(s)")};
}

// A failure must say where (a field path, or the file and line for a syntax error) and why in
// words a user can act on.
void ExpectClearFailure(const std::string& file, const std::string& message) {
  ASSERT_FALSE(message.empty()) << file;
  if (absl::StartsWith(message, "invalid JSON: ") || absl::StartsWith(message, "YAML error at")) {
    return;  // a syntax error, located by protobuf / yaml-cpp within the named file
  }
  const size_t colon = message.find(": ");
  ASSERT_NE(colon, std::string::npos) << file << ": " << message;
  const std::string where = message.substr(0, colon);
  EXPECT_EQ(where.find(' '), std::string::npos) << "no field path in: " << message;
  EXPECT_TRUE(absl::StrContains(message, "not supported") ||
              absl::StrContains(message, "unsupported") || absl::StrContains(message, "unknown"))
      << file << ": " << message;
}

TEST(SharedTestdataTest, EveryConfigLoadsOrFailsClearly) {
  const std::string root = SharedTestdata();
  if (root.empty()) GTEST_SKIP() << "shared testdata not found (set PF_SHARED_DIR)";
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  std::map<std::string, Outcome> outcomes;  // relative path -> outcome
  std::cout << "\nshared testdata (" << root << "):\n";
  for (const fs::path& file : files) {
    const std::string rel = fs::relative(file, root).string();
    std::vector<std::string> warnings;
    Outcome outcome = LoadAndTranslate(file, &warnings);
    const char* label = outcome.kind == Outcome::kLoaded   ? "LOADS  "
                        : outcome.kind == Outcome::kFailed ? "FAILS  "
                                                           : "SKIPPED";
    std::cout << "  " << label << " " << rel << "\n      " << outcome.detail << "\n";
    for (const std::string& w : xds::SummarizeWarnings(warnings)) {
      std::cout << "      warning: " << w << "\n";
    }
    if (outcome.kind == Outcome::kFailed) {
      // Loader errors start with the file name; drop it to check the field path after it.
      std::string message = outcome.detail;
      if (absl::StartsWith(message, file.string() + ": ")) {
        message = message.substr(file.string().size() + 2);
      }
      ExpectClearFailure(rel, message);
    }
    outcomes[rel] = std::move(outcome);
  }

  auto expect_loads = [&](const std::string& rel) {
    ASSERT_TRUE(outcomes.contains(rel)) << rel;
    EXPECT_EQ(outcomes[rel].kind, Outcome::kLoaded) << rel << ": " << outcomes[rel].detail;
  };
  auto expect_fails_with = [&](const std::string& rel, const std::string& needle) {
    ASSERT_TRUE(outcomes.contains(rel)) << rel;
    EXPECT_EQ(outcomes[rel].kind, Outcome::kFailed) << rel;
    EXPECT_TRUE(absl::StrContains(outcomes[rel].detail, needle))
        << rel << ": " << outcomes[rel].detail << " (expected to mention " << needle << ")";
  };
  expect_loads("envoyproxy__envoy/configs/envoy-demo.yaml");
  expect_loads("envoyproxy__examples/front-proxy/service-envoy.yaml");
  expect_loads("envoyproxy__examples/dynamic-config-fs/envoy.yaml");
  expect_loads("envoyproxy__examples/dynamic-config-fs/configs/cds.yaml");
  expect_loads("envoyproxy__examples/dynamic-config-fs/configs/lds.yaml");
  expect_loads("envoyproxy__examples/websocket/envoy-ws-route.yaml");
  expect_loads("envoyproxy__examples/route-mirror/envoy.yaml");
  expect_loads("envoyproxy__examples/dynamic-config-cp/envoy.yaml");
  expect_loads("envoyproxy__go-control-plane/sample/bootstrap-ads.yaml");
  expect_loads("envoyproxy__go-control-plane/sample/bootstrap-delta-ads.yaml");
  // These two need protos that may not be compiled in yet (stream access loggers, the
  // previous_hosts retry predicate): with them they load, without them the loader says so.
  const auto loads_if_compiled = [&](const std::string& rel, const std::string& type) {
    if (HasTypeInPool(type)) {
      expect_loads(rel);
    } else {
      expect_fails_with(rel, "unknown or unsupported type URL type.googleapis.com/" + type);
    }
  };
  loads_if_compiled("envoyproxy__examples/fault-injection/envoy.yaml",
                    "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog");
  loads_if_compiled("envoyproxy__envoy/docs/root/_configs/retry/retry-previous-hosts.yaml",
                    "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate");
  // front-proxy/envoy.yaml has a TLS listener on 8443.
  expect_fails_with("envoyproxy__examples/front-proxy/envoy.yaml", "TLS is not supported yet");
  expect_fails_with("envoyproxy__examples/cors/backend/envoy.yaml", "cors");
  expect_fails_with("envoyproxy__examples/rbac/envoy.yaml", "rbac");
  expect_fails_with("envoyproxy__examples/local_ratelimit/envoy.yaml", "local_ratelimit");
  expect_fails_with("envoyproxy__examples/tls/envoy-https-https.yaml", "TLS is not supported yet");
  expect_fails_with("envoyproxy__examples/grpc-bridge/client/envoy-proxy.yaml",
                    "grpc_http1_bridge");
  expect_fails_with("envoyproxy__envoy/configs/envoyproxy_io_proxy_http3_downstream.yaml", "quic");
  expect_fails_with("envoyproxy__envoy/configs/proxy_connect.yaml", "connect_matcher");
  expect_fails_with("istio__istio/tools/packaging/common/envoy_bootstrap.json", "invalid JSON");
  expect_fails_with("istio__istio/istioctl/pkg/proxyconfig/testdata/config_dump.json",
                    "InternalUpstreamTransport");
  expect_loads(
      "istio__istio/istioctl/pkg/writer/envoy/configdump/testdata/endpoint/configdump.json");
  loads_if_compiled(
      "istio__istio/istioctl/pkg/writer/envoy/configdump/testdata/routes/"
      "istio-gateway-http-route-prefix/configdump.json",
      "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate");
  expect_fails_with("envoyproxy__examples/locality-load-balancing/envoy.yaml", "health");
  ASSERT_TRUE(outcomes.contains("istio__istio/samples/bookinfo/networking/bookinfo-gateway.yaml"));
  EXPECT_EQ(outcomes["istio__istio/samples/bookinfo/networking/bookinfo-gateway.yaml"].kind,
            Outcome::kSkipped);
}

}  // namespace
}  // namespace pilotfish::bootstrap
