// The admin endpoint's stats handlers: /stats (text, ?usedonly, ?filter=, ?type=,
// ?histogram_buckets=, ?format=json|prometheus), /stats/prometheus and POST /reset_counters.
// They run on the main loop and read the workers' shards without stopping them.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "proxy/admin/admin_server.h"
#include "proxy/stats/store.h"

namespace pilotfish::admin {

// `store` must outlive `admin`'s handler table.
void InstallStatsHandlers(AdminServer& admin, stats::Store& store);

// "a=1&b&c=%5E" -> {a: "1", b: "", c: "^"} (percent-decoded; a repeated key keeps the last).
std::map<std::string, std::string> ParseQuery(std::string_view query);

// The handlers' bodies, for tests: `path` is "/stats" or "/stats/prometheus".
AdminResponse HandleStats(stats::Store& store, std::string_view path, std::string_view query);

}  // namespace pilotfish::admin
