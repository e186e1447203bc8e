// AccessLogger; see access_logger.h.
#include "proxy/access_log/access_logger.h"

namespace pilotfish::access_log {

absl::StatusOr<std::unique_ptr<Formatter>> CreateFormatter(const config::AccessLog& config) {
  if (!config.json_format.empty()) {
    return Formatter::Json(config.json_format, config.json_typed, config.omit_empty_values);
  }
  return Formatter::Text(config.text_format, config.omit_empty_values);
}

absl::StatusOr<std::shared_ptr<const AccessLogger>> AccessLogger::Create(
    const config::AccessLog& config, FileManager& files) {
  std::optional<Filter> filter;
  if (config.filter) {
    auto f = Filter::Create(*config.filter);
    if (!f.ok()) return f.status();
    filter = *std::move(f);
  }
  auto formatter = CreateFormatter(config);
  if (!formatter.ok()) return formatter.status();
  auto sink = files.Open(config.path);
  if (!sink.ok()) return sink.status();
  return std::make_shared<const AccessLogger>(std::move(filter), *std::move(formatter),
                                              *std::move(sink));
}

AccessLogger::AccessLogger(std::optional<Filter> filter, std::unique_ptr<Formatter> formatter,
                           FileSinkSharedPtr sink)
    : filter_(std::move(filter)), formatter_(std::move(formatter)), sink_(std::move(sink)) {}

void AccessLogger::Log(const LogContext& ctx) const {
  if (filter_ && !filter_->Evaluate(ctx)) return;
  thread_local std::string line;
  line.clear();
  formatter_->Format(ctx, line);
  sink_->Write(line);
}

}  // namespace pilotfish::access_log
