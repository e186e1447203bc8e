// The process's access log files (one writer thread for every file) and the runtime loggers
// built from an HCM's or tcp_proxy's translated access_log list.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/access_log/access_logger.h"
#include "proxy/access_log/file_sink.h"
#include "proxy/config/hcm.h"
#include "proxy/stats/store.h"

namespace pilotfish::bootstrap {

// Process-wide, created on first use and never destroyed (listeners built before the Server
// exists open their files here). main() sets the flush interval; Server flushes it at exit.
access_log::FileManager& AccessLogFiles();

// Envoy's access_log_file.* stats (and pilotfish's write_dropped), read from the files when the
// store is read.
void PublishAccessLogStats(stats::Store& store);

// `path` names the access_log field; an error names the entry ("<path>[1]: cannot open ...").
absl::StatusOr<access_log::AccessLoggerList> BuildAccessLoggers(
    const std::vector<config::AccessLog>& logs, const std::string& path);

}  // namespace pilotfish::bootstrap
