// Access log sinks (file, stdout, stderr loggers) for the HCM, tcp_proxy and admin.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "proxy/config/hcm.h"

namespace pilotfish::xds {

// `path` names the repeated field, e.g. "...typed_config.access_log".
absl::StatusOr<std::vector<config::AccessLog>> TranslateAccessLogs(
    const google::protobuf::RepeatedPtrField<envoy::config::accesslog::v3::AccessLog>& logs,
    absl::string_view path, std::vector<std::string>* warnings);

}  // namespace pilotfish::xds
