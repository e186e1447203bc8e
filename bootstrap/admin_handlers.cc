// Server::InstallAdminHandlers: Envoy's admin endpoints (:15000 in Istio) in Envoy's formats, so
// istioctl proxy-config and dashboards read pilotfish as they read Envoy. Everything here runs on
// the main loop; workers are only told things through Post.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bootstrap/clusters_status.h"
#include "bootstrap/config_dump.h"
#include "bootstrap/dynamic_config.h"
#include "bootstrap/server.h"
#include "envoy/admin/v3/certs.pb.h"
#include "envoy/admin/v3/init_dump.pb.h"
#include "envoy/admin/v3/listeners.pb.h"
#include "envoy/admin/v3/memory.pb.h"
#include "envoy/admin/v3/server_info.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/admin/stats_handlers.h"
#include "proxy/common/log.h"
#include "xds/client/resources.h"
#include "xds/translate/endpoint_translate.h"
#include "xds/translate/runtime_translate.h"

namespace pilotfish::bootstrap {
namespace {

constexpr char kVersion[] = "0.1.0";
constexpr char kText[] = "text/plain; charset=UTF-8";

// Envoy's component logger names for pilotfish's parts. pilotfish has one level for all of them:
// setting any one sets them all.
constexpr const char* kLoggers[] = {"admin",   "client", "config",  "connection", "conn_handler",
                                    "dns",     "filter", "hc",      "http",       "http1",
                                    "init",    "main",   "misc",    "pool",       "router",
                                    "runtime", "stats",  "upstream"};

// What the admin handlers keep between requests.
struct AdminState {
  std::map<std::string, std::string> runtime_overrides;  // /runtime_modify (the admin layer)
  bool listeners_drained = false;                        // /drain_listeners was called
  bool graceful_drain_started = false;
  event::TimerPtr stop_listeners_timer;  // graceful: stops the listeners after the drain time
};

admin::AdminResponse Ok() { return admin::AdminResponse{200, kText, "OK\n"}; }

// Envoy's MessageUtil::getJsonStringFromMessage: pretty, proto field names.
admin::AdminResponse Json(const google::protobuf::Message& message,
                          bool always_print_primitive_fields) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = always_print_primitive_fields;
  admin::AdminResponse r{200, "application/json", ""};
  if (auto s = google::protobuf::util::MessageToJsonString(message, &r.body, options); !s.ok()) {
    return admin::AdminResponse{500, kText, s.ToString() + "\n"};
  }
  return r;
}

google::protobuf::Duration Seconds(int64_t s) {
  google::protobuf::Duration d;
  d.set_seconds(s);
  return d;
}

// ------------------------------------------------------------------------------------ logging

std::string ActiveLoggers() {
  std::string out = "active loggers:\n";
  for (const char* name : kLoggers) {
    absl::StrAppend(&out, "  ", name, ": ", log::LevelName(log::GetLevel()), "\n");
  }
  return out + "\n";
}

absl::Status ParseLoggerLevel(std::string_view name, log::Level* level) {
  if (name == "warn" || !log::ParseLevel(name, level)) {  // spdlog's names only
    return absl::InvalidArgumentError("unknown logger level");
  }
  return absl::OkStatus();
}

bool KnownLogger(std::string_view name) {
  return std::find(std::begin(kLoggers), std::end(kLoggers), name) != std::end(kLoggers);
}

// Envoy's LogsHandler::changeLogLevel: ?level=, ?paths=a:l1,b:l2 or ?<logger>=<level>.
absl::Status ChangeLogLevel(std::map<std::string, std::string> params) {
  for (const char* key : {"level", "paths"}) {
    auto it = params.find(key);
    if (it != params.end() && it->second.empty()) params.erase(it);
  }
  if (params.empty()) return absl::OkStatus();
  if (params.size() != 1) return absl::InvalidArgumentError("invalid number of parameters");
  const auto& [key, value] = *params.begin();
  log::Level level = log::GetLevel();
  if (key == "level") {
    if (auto s = ParseLoggerLevel(value, &level); !s.ok()) return s;
  } else if (key == "paths") {
    for (absl::string_view pair : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      std::vector<std::string> name_level = absl::StrSplit(pair, absl::MaxSplits(':', 1));
      if (name_level.size() != 2 || name_level[0].empty() || name_level[1].empty()) {
        return absl::InvalidArgumentError("empty logger name or empty logger level");
      }
      if (auto s = ParseLoggerLevel(name_level[1], &level); !s.ok()) return s;
      if (!KnownLogger(name_level[0])) return absl::InvalidArgumentError("unknown logger name");
    }
  } else {
    if (auto s = ParseLoggerLevel(value, &level); !s.ok()) return s;
    if (!KnownLogger(key)) return absl::InvalidArgumentError("unknown logger name");
  }
  log::SetLevel(level);  // the last one named: there is a single level
  PF_LOG(kInfo, "admin: log level set to %s", log::LevelName(level));
  return absl::OkStatus();
}

admin::AdminResponse HandleLogging(const admin::AdminRequest& request) {
  admin::AdminResponse r{200, kText, ""};
  if (absl::Status s = ChangeLogLevel(admin::ParseQuery(request.query)); !s.ok()) {
    r.status = 400;
    r.body = absl::StrCat("error: ", s.message(), "\n\n",
                          "usage: /logging?<name>=<level> (change single level)\n"
                          "usage: /logging?paths=name1:level1,name2:level2,... (change multiple "
                          "levels)\n"
                          "usage: /logging?level=<level> (change all levels)\n"
                          "levels: trace debug info warning error critical off \n");
  }
  r.body += ActiveLoggers();
  return r;
}

// ------------------------------------------------------------------------------------ runtime

struct RuntimeLayer {
  std::string name;
  bool admin = false;
  std::map<std::string, std::string> values;
};

std::vector<RuntimeLayer> RuntimeLayers(const std::string& bootstrap_bytes,
                                        const std::map<std::string, std::string>& overrides) {
  envoy::config::bootstrap::v3::Bootstrap bootstrap;
  bootstrap.ParseFromString(bootstrap_bytes);
  std::vector<RuntimeLayer> layers;
  for (const auto& layer : bootstrap.layered_runtime().layers()) {
    RuntimeLayer l{layer.name(), layer.has_admin_layer(), {}};
    if (layer.has_static_layer()) xds::FlattenRuntimeLayer(layer.static_layer(), "", &l.values);
    if (l.admin) l.values = overrides;
    layers.push_back(std::move(l));  // disk and RTDS layers: pilotfish loads nothing from them
  }
  return layers;
}

// Envoy's RuntimeHandler::handlerRuntime: {"entries": {key: {final_value, layer_values}},
// "layers"}.
admin::AdminResponse RenderRuntime(const std::vector<RuntimeLayer>& layers) {
  google::protobuf::Struct runtime;
  auto& fields = *runtime.mutable_fields();
  auto* names = fields["layers"].mutable_list_value();
  std::map<std::string, std::vector<std::string>> entries;
  for (const auto& layer : layers) {
    names->add_values()->set_string_value(layer.name);
    for (const auto& [key, value] : layer.values) entries[key];
  }
  auto* entry_fields = fields["entries"].mutable_struct_value()->mutable_fields();
  for (auto& [key, unused] : entries) {
    std::string final_value;
    auto& entry = *(*entry_fields)[key].mutable_struct_value()->mutable_fields();
    auto* values = entry["layer_values"].mutable_list_value();
    for (const auto& layer : layers) {
      auto it = layer.values.find(key);
      const std::string value = it == layer.values.end() ? "" : it->second;
      if (!value.empty()) final_value = value;
      values->add_values()->set_string_value(value);
    }
    entry["final_value"].set_string_value(final_value);
  }
  return Json(runtime, true);
}

// ------------------------------------------------------------------------------------- memory

admin::AdminResponse HandleMemory() {
  // glibc malloc, mapped onto tcmalloc's names as closely as it goes: no page heap to unmap
  // from and no thread cache accounting (0); physical bytes are the resident set.
  const struct mallinfo2 mi = mallinfo2();
  envoy::admin::v3::Memory memory;
  memory.set_allocated(mi.uordblks + mi.hblkhd);
  memory.set_heap_size(mi.arena + mi.hblkhd);
  memory.set_pageheap_free(mi.fordblks);
  memory.set_pageheap_unmapped(0);
  memory.set_total_thread_cache(0);
  uint64_t pages = 0, resident = 0;
  std::ifstream statm("/proc/self/statm");
  if (statm >> pages >> resident) {
    memory.set_total_physical_bytes(resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  }
  return Json(memory, true);
}

// ---------------------------------------------------------------------------------- listeners

envoy::config::core::v3::Address ToProto(const config::SocketAddress& a) {
  envoy::config::core::v3::Address out;
  if (!a.pipe_path.empty()) {
    out.mutable_pipe()->set_path(a.pipe_path);
  } else {
    out.mutable_socket_address()->set_address(a.address);
    out.mutable_socket_address()->set_port_value(a.port);
  }
  return out;
}

// Envoy's Address::asString: "1.2.3.4:80", "[::]:80", or the pipe's path.
std::string AddressString(const config::SocketAddress& a) {
  if (!a.pipe_path.empty()) return a.pipe_path;
  if (auto ip = net::Address::FromIpPort(a.address, a.port)) return ip->ToString();
  return absl::StrCat(a.address, ":", a.port);
}

}  // namespace

const char* Server::StateName() const {
  if (draining_) return "DRAINING";
  if (!live_ || !initialized_) return "INITIALIZING";
  return health_check_failed_ ? "DRAINING" : "LIVE";  // Envoy: a failed health check drains
}

void Server::InstallAdminHandlers() {
  auto state = std::make_shared<AdminState>();
  const auto system_start = std::chrono::system_clock::now() -
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                std::chrono::steady_clock::now() - start_time_);

  // --- state and readiness
  admin_->AddHandler("/ready", "print server state, return 200 if LIVE, otherwise return 503",
                     false, [this](const admin::AdminRequest&) {
                       const std::string name = StateName();
                       return admin::AdminResponse{name == "LIVE" ? 200 : 503, kText, name + "\n"};
                     });
  // Kubernetes readiness (pilot-agent serves it on :15021 in Istio): LIVE, initial config applied,
  // not draining, health checks not failed and listeners not drained.
  admin_->AddHandler("/healthz/ready",
                     "readiness for Kubernetes: 200 once live and configured, 503 while draining",
                     false, [this, state](const admin::AdminRequest&) {
                       std::string name = StateName();
                       if (name == "LIVE" && state->listeners_drained) name = "DRAINING";
                       return admin::AdminResponse{name == "LIVE" ? 200 : 503, kText, name + "\n"};
                     });
  admin_->AddHandler(
      "/server_info", "print server version/status information", false,
      [this, system_start](const admin::AdminRequest&) {
        envoy::admin::v3::ServerInfo info;
        info.set_version(absl::StrCat("pilotfish/", kVersion, "/Clean/RELEASE/NoTLS"));
        envoy::admin::v3::ServerInfo::State state = envoy::admin::v3::ServerInfo::INITIALIZING;
        envoy::admin::v3::ServerInfo::State_Parse(StateName(), &state);
        info.set_state(state);
        const int64_t uptime = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now() - system_start)
                                   .count();
        *info.mutable_uptime_current_epoch() = Seconds(uptime);
        *info.mutable_uptime_all_epochs() = Seconds(uptime);
        info.set_hot_restart_version("disabled");
        auto* o = info.mutable_command_line_options();
        o->set_concurrency(workers_.size());
        o->set_config_path(options_.config_path);
        o->set_config_yaml(options_.config_yaml);
        o->set_allow_unknown_static_fields(options_.allow_unknown_static_fields);
        o->set_log_level(options_.log_level);
        o->set_log_format("[%Y-%m-%d %T.%e][%l] %v");
        o->set_service_cluster(options_.service_cluster);
        o->set_service_node(options_.service_node);
        *o->mutable_file_flush_interval() = Seconds(10);
        *o->mutable_drain_time() = Seconds(options_.drain_time_s);
        o->set_drain_strategy(options_.drain_strategy == "immediate"
                                  ? envoy::admin::v3::CommandLineOptions::Immediate
                                  : envoy::admin::v3::CommandLineOptions::Gradual);
        *o->mutable_parent_shutdown_time() = Seconds(900);
        o->set_mode(options_.mode == "validate" ? envoy::admin::v3::CommandLineOptions::Validate
                                                : envoy::admin::v3::CommandLineOptions::Serve);
        o->set_disable_hot_restart(true);
        o->set_socket_path("@envoy_domain_socket");
        *info.mutable_node() = config_.filter_context.node;
        if (info.node().user_agent_name().empty()) {
          info.mutable_node()->set_user_agent_name("pilotfish");
        }
        return Json(info, true);
      });
  admin_->AddHandler("/hot_restart_version", "print the hot restart compatibility version", false,
                     [](const admin::AdminRequest&) {
                       return admin::AdminResponse{200, kText, "disabled"};
                     });
  admin_->AddHandler("/init_dump", "dump current Envoy init manager information (experimental)",
                     false, [this](const admin::AdminRequest&) {
                       envoy::admin::v3::UnreadyTargetsDumps dumps;
                       if (!initialized_) {
                         auto* dump = dumps.add_unready_targets_dumps();
                         dump->set_name("Server");
                         if (dynamic_ != nullptr) {
                           for (const auto& r : dynamic_->Resources(xds::kListenerTypeUrl)) {
                             if (r.warming)
                               dump->add_target_names("Listener-init-target " + r.name);
                           }
                         }
                         if (dump->target_names_size() == 0)
                           dump->add_target_names("initial xDS fetch");
                       }
                       return Json(dumps, false);
                     });

  // --- configuration and upstream state
  admin_->AddHandler(
      "/config_dump", "dump current Envoy configs (experimental)", false,
      [this, system_start](const admin::AdminRequest& request) {
        ConfigDumpSource source{&config_.bootstrap_bytes, system_start, dynamic_.get()};
        return HandleConfigDump(source, request.query);
      });
  admin_->AddHandler(
      "/clusters", "upstream cluster status", false, [this](const admin::AdminRequest& request) {
        // EDS endpoints as delivered, decoded once per service name, for localities and health.
        std::map<std::string, std::string> assignments;
        if (dynamic_ != nullptr) {
          for (auto& r : dynamic_->Resources(xds::kEndpointTypeUrl)) {
            assignments[r.name] = std::move(r.bytes);
          }
        }
        std::vector<ClusterStatus> clusters;
        if (snapshot_ != nullptr) {
          for (const auto& [name, info] : snapshot_->clusters) {
            ClusterStatus c{info, nullptr, !static_clusters_.contains(name), {}};
            if (auto it = hosts_.find(name); it != hosts_.end()) c.hosts = it->second;
            const config::Cluster& cfg = info->config();
            if (cfg.type != config::ClusterType::kEds) {
              c.endpoints = cfg.endpoints;
            } else if (auto it = assignments.find(cfg.eds_service_name); it != assignments.end()) {
              envoy::config::endpoint::v3::ClusterLoadAssignment cla;
              if (cla.ParseFromString(it->second)) {
                xds::ApplyClusterLoadAssignment(cla, &c.endpoints).IgnoreError();
              }
            }
            clusters.push_back(std::move(c));
          }
        }
        std::sort(clusters.begin(), clusters.end(),
                  [](const ClusterStatus& a, const ClusterStatus& b) {
                    return a.info->name() < b.info->name();
                  });
        if (admin::ParseQuery(request.query)["format"] == "json") {
          return admin::AdminResponse{200, "application/json", RenderClustersJson(clusters)};
        }
        return admin::AdminResponse{200, kText, RenderClustersText(clusters)};
      });
  admin_->AddHandler("/listeners", "print listener info", false,
                     [this](const admin::AdminRequest& request) {
                       const std::vector<std::shared_ptr<const config::Listener>> none;
                       const auto& listeners = snapshot_ != nullptr ? snapshot_->listeners : none;
                       if (admin::ParseQuery(request.query)["format"] == "json") {
                         envoy::admin::v3::Listeners proto;
                         for (const auto& l : listeners) {
                           auto* status = proto.add_listener_statuses();
                           status->set_name(l->name);
                           *status->mutable_local_address() = ToProto(l->address);
                         }
                         return Json(proto, false);
                       }
                       admin::AdminResponse r{200, kText, ""};
                       for (const auto& l : listeners) {
                         absl::StrAppend(&r.body, l->name, "::", AddressString(l->address), "\n");
                       }
                       return r;
                     });
  admin_->AddHandler("/certs", "print certs on machine", false, [](const admin::AdminRequest&) {
    return Json(envoy::admin::v3::Certificates(), true);  // no TLS yet
  });
  admin_->AddHandler("/memory", "print current allocation/heap usage", false,
                     [](const admin::AdminRequest&) { return HandleMemory(); });
  admin_->AddHandler(
      "/runtime", "print runtime values", false, [this, state](const admin::AdminRequest&) {
        return RenderRuntime(RuntimeLayers(config_.bootstrap_bytes, state->runtime_overrides));
      });
  admin_->AddHandler(
      "/runtime_modify",
      "Adds or modifies runtime values as passed in query parameters. To delete a previously "
      "added key, use an empty string as the value.",
      true, [this, state](const admin::AdminRequest& request) {
        const std::map<std::string, std::string> params = admin::ParseQuery(request.query);
        if (params.empty()) {
          return admin::AdminResponse{400, kText,
                                      "usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n"
                                      "       or send the parameters as form values\n"
                                      "use an empty value to remove a previously added override"};
        }
        bool has_admin_layer = false;
        for (const auto& l : RuntimeLayers(config_.bootstrap_bytes, {})) has_admin_layer |= l.admin;
        if (!has_admin_layer) return admin::AdminResponse{503, kText, "No admin layer specified"};
        // Recorded and shown by /runtime; pilotfish reads no runtime key.
        for (const auto& [key, value] : params) {
          if (value.empty()) {
            state->runtime_overrides.erase(key);
          } else {
            state->runtime_overrides[key] = value;
          }
        }
        return Ok();
      });

  // --- control (POST)
  admin_->AddHandler("/logging", "query/change logging levels", true, &HandleLogging);
  admin_->AddHandler("/healthcheck/fail", "cause the server to fail health checks", true,
                     [this](const admin::AdminRequest&) {
                       SetHealthCheckFailed(true);
                       return Ok();
                     });
  admin_->AddHandler("/healthcheck/ok", "cause the server to pass health checks", true,
                     [this](const admin::AdminRequest&) {
                       SetHealthCheckFailed(false);
                       return Ok();
                     });
  admin_->AddHandler(
      "/drain_listeners", "drain listeners", true,
      [this, state](const admin::AdminRequest& request) {
        const std::map<std::string, std::string> params = admin::ParseQuery(request.query);
        const bool inbound_only = params.contains("inboundonly");
        const bool graceful = params.contains("graceful");
        const bool skip_exit = params.contains("skip_exit");  // keep the listeners open
        if (skip_exit && !graceful) {
          return admin::AdminResponse{400, kText, "skip_exit requires graceful\n"};
        }
        if (graceful && state->graceful_drain_started) return Ok();  // already draining
        auto names = std::make_shared<absl::flat_hash_set<std::string>>();
        if (snapshot_ != nullptr) {
          for (const auto& l : snapshot_->listeners) {
            if (!inbound_only || l->traffic_direction == config::TrafficDirection::kInbound) {
              names->insert(l->name);
            }
          }
        }
        state->listeners_drained = true;
        // Sessions drain (HTTP: "connection: close" on the next response, idle ones close).
        auto drain = [this, names](bool stop) {
          for (auto& w : workers_) {
            w->dispatcher().Post([w = w.get(), names, stop] {
              if (stop) w->StopListeners(*names);
              w->DrainListeners(*names);
            });
          }
        };
        if (!graceful) {
          drain(true);
        } else {
          // Envoy keeps accepting during the drain time and stops the listeners at its end
          // (unless skip_exit); connections accepted meanwhile are drained then.
          state->graceful_drain_started = true;
          drain(false);
          if (!skip_exit) {
            state->stop_listeners_timer =
                std::make_unique<event::Timer>(main_, [drain] { drain(true); });
            state->stop_listeners_timer->Enable(std::chrono::seconds(options_.drain_time_s));
          }
        }
        PF_LOG(kInfo, "admin: draining %zu listeners%s%s", names->size(),
               inbound_only ? " (inbound only)" : "", graceful ? " gracefully" : "");
        return Ok();
      });
  admin_->AddHandler("/quitquitquit", "exit the server", true, [this](const admin::AdminRequest&) {
    main_.Post([this] { StartDrainAndExit(); });
    return Ok();
  });
}

}  // namespace pilotfish::bootstrap
