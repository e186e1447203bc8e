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
  // Access log files: written every interval, or once a file's buffer holds this many KiB.
  int file_flush_interval_msec = 10000;  // Envoy's default (Istio passes 1000)
  int file_flush_min_size_kb = 64;
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
