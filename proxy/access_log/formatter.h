// An access log format compiled once (literal text and operator pieces, no regex per request):
// Envoy's text formats and json_format dictionaries, one line per call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/access_log/log_context.h"
#include "proxy/access_log/operators.h"

namespace pilotfish::access_log {

// Envoy's format when an access logger sets none.
inline constexpr std::string_view kEnvoyDefaultFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

// Parses Envoy's format string grammar: "%%" is a literal '%', an operator is
// %COMMAND(SUBCOMMAND):LENGTH% with COMMAND in [A-Z0-9_]. Errors name the operator or position.
absl::StatusOr<std::vector<Piece>> ParseFormat(std::string_view format);

class Formatter {
 public:
  // A text format; "" is Envoy's default. `omit_empty_values`: unset values print as "", not "-".
  static absl::StatusOr<std::unique_ptr<Formatter>> Text(std::string_view format,
                                                         bool omit_empty_values = false);
  // One JSON object a line, keys in the given order. `typed`: a value that is a single operator
  // keeps its type (numbers, null when unset); otherwise every value is a string ("-" unset).
  // `omit_empty_values` drops keys whose value is unset.
  static absl::StatusOr<std::unique_ptr<Formatter>> Json(
      const std::vector<std::pair<std::string, std::string>>& fields, bool typed,
      bool omit_empty_values = false);

  // Appends the line for `ctx` (text formats carry their own newline; JSON lines end in one).
  void Format(const LogContext& ctx, std::string& out) const;

 private:
  struct JsonField {
    std::string key;  // already escaped and quoted: "\"key\":"
    std::vector<Piece> pieces;
  };
  Formatter() = default;
  void AppendPieces(const std::vector<Piece>& pieces, const LogContext& ctx,
                    std::string& out) const;
  void FormatJson(const LogContext& ctx, std::string& out) const;

  bool json_ = false;
  bool typed_ = false;
  std::string_view empty_value_ = "-";
  std::vector<Piece> pieces_;      // text
  std::vector<JsonField> fields_;  // JSON
};

}  // namespace pilotfish::access_log
