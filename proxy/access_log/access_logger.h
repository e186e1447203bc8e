// One configured access log (an HCM's or tcp_proxy's access_log entry): filter, format, file.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/access_log/file_sink.h"
#include "proxy/access_log/filter.h"
#include "proxy/access_log/formatter.h"
#include "proxy/config/hcm.h"

namespace pilotfish::access_log {

class AccessLogger {
 public:
  // Compiles the filter and format and opens the file through `files`. Errors name what is
  // wrong (an unknown operator, a file that cannot be opened), not the field path.
  static absl::StatusOr<std::shared_ptr<const AccessLogger>> Create(const config::AccessLog& config,
                                                                    FileManager& files);
  AccessLogger(std::optional<Filter> filter, std::unique_ptr<Formatter> formatter,
               FileSinkSharedPtr sink);

  // Formats and hands the line to the file's buffer when the filter accepts the stream. Worker
  // threads; no I/O.
  void Log(const LogContext& ctx) const;

 private:
  std::optional<Filter> filter_;
  std::unique_ptr<Formatter> formatter_;
  FileSinkSharedPtr sink_;
};
using AccessLoggerSharedPtr = std::shared_ptr<const AccessLogger>;
using AccessLoggerList = std::vector<AccessLoggerSharedPtr>;

// Compiles a format (text or JSON) from its config, for validation and for AccessLogger.
absl::StatusOr<std::unique_ptr<Formatter>> CreateFormatter(const config::AccessLog& config);

inline void LogAll(const AccessLoggerList& loggers, const LogContext& ctx) {
  for (const auto& l : loggers) l->Log(ctx);
}

}  // namespace pilotfish::access_log
