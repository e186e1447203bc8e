// Admin /config_dump: Envoy's envoy.admin.v3.ConfigDump built from the loaded bootstrap and the
// accepted xDS resources, with Envoy's ?include_eds, ?resource=, ?mask= and ?name_regex=.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "bootstrap/dynamic_config.h"
#include "proxy/admin/admin_server.h"

namespace pilotfish::bootstrap {

struct ConfigDumpSource {
  const std::string* bootstrap_bytes = nullptr;  // a serialized envoy.config.bootstrap.v3.Bootstrap
  std::chrono::system_clock::time_point loaded_at;  // when the bootstrap was loaded
  const DynamicConfig* dynamic = nullptr;           // null: a static bootstrap
};

// The whole answer to GET /config_dump?<query>: 200 with the JSON dump, or Envoy's 400/404 text.
admin::AdminResponse HandleConfigDump(const ConfigDumpSource& source, std::string_view query);

}  // namespace pilotfish::bootstrap
