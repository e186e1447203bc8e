// pilotfish entry point: parse flags, load and validate the bootstrap, then serve.
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bootstrap/access_logs.h"
#include "bootstrap/config_loader.h"
#include "bootstrap/filter_table.h"
#include "bootstrap/options.h"
#include "bootstrap/server.h"
#include "bootstrap/unapplied.h"
#include "proxy/common/log.h"
#include "xds/translate/bootstrap_translate.h"
#include "xds/translate/runtime_translate.h"

namespace pilotfish::bootstrap {
extern const char kDemoBootstrapYaml[];
}

int main(int argc, char** argv) {
  using namespace pilotfish;
  auto options = bootstrap::ParseOptions(argc, argv);
  if (!options.ok()) {
    fprintf(stderr, "pilotfish: %s\n%s", std::string(options.status().message()).c_str(),
            bootstrap::Usage().c_str());
    return 1;
  }
  if (options->help) {
    fputs(bootstrap::Usage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    puts("pilotfish version: 0.1.0 (Envoy v3 API)");
    return 0;
  }
  log::Level level;
  if (!log::ParseLevel(options->log_level, &level)) {
    fprintf(stderr, "pilotfish: unknown log level '%s'\n", options->log_level.c_str());
    return 1;
  }
  log::SetLevel(level);
  bootstrap::AccessLogFiles().SetFlushInterval(
      std::chrono::milliseconds(options->file_flush_interval_msec));
  bootstrap::AccessLogFiles().SetFlushMinBytes(
      static_cast<size_t>(options->file_flush_min_size_kb) * 1024);
  // On every way out of main: the workers are gone by then, so every buffered line is written
  // and the writer thread ends before static destructors run.
  struct FlushAccessLogs {
    ~FlushAccessLogs() { bootstrap::AccessLogFiles().Stop(); }
  } flush_access_logs;
  if (options->config_path.empty() && options->config_yaml.empty() && !options->demo) {
    fprintf(stderr, "pilotfish: no configuration: pass -c <file> (or --demo)\n%s",
            bootstrap::Usage().c_str());
    return 1;
  }

  bootstrap::LoadOptions load;
  load.config_path = options->config_path;
  load.config_yaml = options->demo ? bootstrap::kDemoBootstrapYaml : options->config_yaml;
  load.allow_unknown_fields = options->allow_unknown_static_fields;
  auto proto = bootstrap::LoadBootstrap(load);
  if (!proto.ok()) {
    fprintf(stderr, "pilotfish: error loading configuration: %s\n",
            std::string(proto.status().message()).c_str());
    return 1;
  }
  if (!options->service_node.empty()) proto->mutable_node()->set_id(options->service_node);
  if (!options->service_cluster.empty()) {
    proto->mutable_node()->set_cluster(options->service_cluster);
  }
  std::vector<std::string> warnings;
  std::vector<config::RdsRef> rds_names;  // RDS route configs the static listeners use
  bootstrap::FilterContext filter_context;
  filter_context.node = proto->node();
  filter_context.path_fragment = pilotfish::xds::PathFragmentFromRuntime(*proto);
  auto lookup = [&warnings, &rds_names, &filter_context](
                    const std::string& name, const google::protobuf::Any& any,
                    const std::string& path,
                    const std::vector<pilotfish::xds::NetworkFilterRef>& observers) {
    return bootstrap::CreateNetworkFilter(name, any, path, &warnings, &rds_names, observers,
                                          filter_context);
  };
  auto cfg = pilotfish::xds::TranslateBootstrap(*proto, lookup, &warnings);
  // Istio's bootstrap sets admin.access_log_path /dev/null: not writing it is the same.
  if (cfg.ok() &&
      ((!cfg->admin_access_log_path.empty() && cfg->admin_access_log_path != "/dev/null") ||
       !cfg->admin_access_logs.empty())) {
    warnings.push_back(
        "admin.access_log: an access log of the admin port is not written by pilotfish yet; "
        "ignored");
  }
  if (cfg.ok()) {
    for (size_t i = 0; i < cfg->clusters.size(); ++i) {
      bootstrap::WarnUnappliedClusterFeatures(
          cfg->clusters[i], "static_resources.clusters[" + std::to_string(i) + "]", &warnings);
    }
  }
  if (cfg.ok() && !rds_names.empty() && cfg->dynamic_resources.ads_cluster.empty()) {
    cfg = absl::InvalidArgumentError(
        "static_resources.listeners: an http_connection_manager uses rds (route_config_name '" +
        rds_names[0].name +
        "') but dynamic_resources.ads_config is not set (RDS is fetched by ADS)");
  }
  for (const auto& w : warnings) PF_LOG(kWarning, "config: %s", w.c_str());
  if (!cfg.ok()) {
    fprintf(stderr, "pilotfish: invalid configuration: %s\n",
            std::string(cfg.status().message()).c_str());
    return 1;
  }
  if (options->mode == "validate") {
    printf("configuration '%s' OK\n",
           options->config_path.empty() ? "(inline)" : options->config_path.c_str());
    return 0;
  }

  bootstrap::ServerConfig sc;
  sc.listeners = std::move(cfg->listeners);
  sc.clusters = std::move(cfg->clusters);
  sc.admin_address = cfg->admin_address;
  sc.node_id = cfg->node_id;
  sc.node_cluster = cfg->node_cluster;
  if (cfg->has_dynamic_resources) sc.dynamic = cfg->dynamic_resources;
  sc.filter_context = std::move(filter_context);
  sc.static_rds_names = std::move(rds_names);
  sc.stats_config = cfg->stats_config;
  sc.bootstrap_bytes = proto->SerializeAsString();
  // The parsed bootstrap is not needed any more (config_dump keeps the bytes): a proto of a
  // thousand clusters is megabytes. Swapping with an empty one frees it (Clear() would keep
  // the repeated fields' storage for reuse).
  envoy::config::bootstrap::v3::Bootstrap().Swap(&*proto);
  bootstrap::Server server(*options);
  if (auto s = server.Initialize(std::move(sc)); !s.ok()) {
    fprintf(stderr, "pilotfish: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  // Loading (YAML -> JSON -> proto -> plain config -> snapshot) leaves its transient memory in
  // malloc's free lists: give it back to the system before serving.
  malloc_trim(0);
  return server.Run();
}
