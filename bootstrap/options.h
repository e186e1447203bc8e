// Envoy's command line, where it applies to pilotfish.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pilotfish::bootstrap {

struct Options {
  std::string config_path;
  std::string config_yaml;
  int concurrency = 0;  // 0: one worker per core
  std::string log_level = "info";
  int drain_time_s = 600;  // Envoy's default
  std::string drain_strategy = "gradual";
  std::string mode = "serve";  // serve | validate
  std::string service_node, service_cluster;
  bool allow_unknown_static_fields = false;
  bool demo = false;  // serve the embedded demo bootstrap
  bool version = false;
  bool help = false;
};

absl::StatusOr<Options> ParseOptions(int argc, char** argv);
std::string Usage();

}  // namespace pilotfish::bootstrap
