// Envoy's access log command operators (%RESPONSE_CODE%, %REQ(X?Y):N%, ...): parsing one
// operator into a compiled Piece, and evaluating a Piece against a LogContext.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proxy/access_log/log_context.h"
#include "proxy/access_log/time_format.h"

namespace pilotfish::access_log {

enum class Op : uint8_t {
  kLiteral,
  kStartTime,
  kRequestHeader,
  kResponseHeader,
  kResponseTrailer,
  kRequestHeadersBytes,
  kResponseHeadersBytes,
  kResponseTrailersBytes,
  kResponseCode,
  kResponseCodeDetails,
  kConnectionTerminationDetails,
  kResponseFlags,
  kBytesReceived,
  kBytesSent,
  kDuration,
  kRequestDuration,
  kRequestTxDuration,
  kResponseDuration,
  kResponseTxDuration,
  kProtocol,
  kUpstreamProtocol,
  kUpstreamRemoteAddress,  // %UPSTREAM_HOST%
  kUpstreamLocalAddress,
  kUpstreamCluster,
  kUpstreamTransportFailureReason,
  kUpstreamRequestAttemptCount,
  kDownstreamLocalAddress,
  kDownstreamRemoteAddress,
  kRouteName,
  kConnectionId,
  kConstant,  // %HOSTNAME%, %ENVIRONMENT(X)%: resolved once when parsed
  kUnset,     // operators whose value pilotfish never has (TLS, metadata, filter state): "-"
};

// How an address operator prints: "1.2.3.4:80", "1.2.3.4" or 80.
enum class AddressForm : uint8_t { kWithPort, kWithoutPort, kPortOnly };

// One compiled part of a format: literal text or an operator with its arguments.
struct Piece {
  Op op = Op::kLiteral;
  AddressForm form = AddressForm::kWithPort;
  bool flag = false;  // RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES); kConstant: has a value
  size_t max_length = std::string::npos;
  std::string text;  // literal text, main header name (lower case) or constant value
  std::string alt;   // alternative header name
  std::shared_ptr<const TimeFormat> time;
};

// An operator's value: unset ("-" in text, null in typed JSON), a string or a number.
struct Value {
  enum class Kind : uint8_t { kUnset, kString, kNumber };
  Kind kind = Kind::kUnset;
  std::string_view str;
  uint64_t number = 0;
};

// %COMMAND(subcommand):max_length% -> a Piece; `has_length` says whether ":N" was given. Errors
// name the operator (unknown operators, parameters or a length where none is allowed).
absl::StatusOr<Piece> ParseOperator(std::string_view command, std::string_view subcommand,
                                    bool has_length, size_t max_length);

// The value of an operator piece. Strings may point into `scratch` (overwritten by the next
// call) or into the context.
Value Evaluate(const Piece& piece, const LogContext& ctx, std::string& scratch);

// Appends the decimal digits of `n`.
void AppendNumber(uint64_t n, std::string& out);

}  // namespace pilotfish::access_log
