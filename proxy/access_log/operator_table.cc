// The command operator table (names, syntax, what each compiles to); see operators.h.
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "proxy/access_log/operators.h"
#include "proxy/common/str_util.h"

namespace pilotfish::access_log {
namespace {

// Envoy's CommandSyntaxChecker flags.
enum Syntax : uint8_t {
  kCommandOnly = 0,
  kParamsRequired = 1,
  kParamsOptional = 2,
  kLengthAllowed = 4,
};

struct Spec {
  std::string_view name;
  Op op;
  uint8_t syntax;
  AddressForm form = AddressForm::kWithPort;
};

using AF = AddressForm;
constexpr Spec kSpecs[] = {
    {"START_TIME", Op::kStartTime, kParamsOptional},
    {"REQ", Op::kRequestHeader, kParamsRequired | kLengthAllowed},
    {"RESP", Op::kResponseHeader, kParamsRequired | kLengthAllowed},
    {"TRAILER", Op::kResponseTrailer, kParamsRequired | kLengthAllowed},
    {"REQUEST_HEADERS_BYTES", Op::kRequestHeadersBytes, kCommandOnly},
    {"RESPONSE_HEADERS_BYTES", Op::kResponseHeadersBytes, kCommandOnly},
    {"RESPONSE_TRAILERS_BYTES", Op::kResponseTrailersBytes, kCommandOnly},
    {"RESPONSE_CODE", Op::kResponseCode, kCommandOnly},
    {"RESPONSE_CODE_DETAILS", Op::kResponseCodeDetails, kParamsOptional},
    {"CONNECTION_TERMINATION_DETAILS", Op::kConnectionTerminationDetails, kCommandOnly},
    {"RESPONSE_FLAGS", Op::kResponseFlags, kCommandOnly},
    {"BYTES_RECEIVED", Op::kBytesReceived, kCommandOnly},
    {"BYTES_SENT", Op::kBytesSent, kCommandOnly},
    {"DURATION", Op::kDuration, kCommandOnly},
    {"REQUEST_DURATION", Op::kRequestDuration, kCommandOnly},
    {"REQUEST_TX_DURATION", Op::kRequestTxDuration, kCommandOnly},
    {"RESPONSE_DURATION", Op::kResponseDuration, kCommandOnly},
    {"RESPONSE_TX_DURATION", Op::kResponseTxDuration, kCommandOnly},
    {"PROTOCOL", Op::kProtocol, kCommandOnly},
    {"UPSTREAM_PROTOCOL", Op::kUpstreamProtocol, kCommandOnly},
    {"UPSTREAM_HOST", Op::kUpstreamRemoteAddress, kCommandOnly},
    {"UPSTREAM_REMOTE_ADDRESS", Op::kUpstreamRemoteAddress, kCommandOnly},
    {"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", Op::kUpstreamRemoteAddress, kCommandOnly,
     AF::kWithoutPort},
    {"UPSTREAM_REMOTE_PORT", Op::kUpstreamRemoteAddress, kCommandOnly, AF::kPortOnly},
    {"UPSTREAM_LOCAL_ADDRESS", Op::kUpstreamLocalAddress, kCommandOnly},
    {"UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", Op::kUpstreamLocalAddress, kCommandOnly,
     AF::kWithoutPort},
    {"UPSTREAM_LOCAL_PORT", Op::kUpstreamLocalAddress, kCommandOnly, AF::kPortOnly},
    // No alt_stat_name in pilotfish: the observability name is the cluster's name.
    {"UPSTREAM_CLUSTER", Op::kUpstreamCluster, kCommandOnly},
    {"UPSTREAM_CLUSTER_RAW", Op::kUpstreamCluster, kCommandOnly},
    {"UPSTREAM_TRANSPORT_FAILURE_REASON", Op::kUpstreamTransportFailureReason, kCommandOnly},
    {"UPSTREAM_REQUEST_ATTEMPT_COUNT", Op::kUpstreamRequestAttemptCount, kCommandOnly},
    {"DOWNSTREAM_LOCAL_ADDRESS", Op::kDownstreamLocalAddress, kCommandOnly},
    {"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", Op::kDownstreamLocalAddress, kCommandOnly,
     AF::kWithoutPort},
    {"DOWNSTREAM_LOCAL_PORT", Op::kDownstreamLocalAddress, kCommandOnly, AF::kPortOnly},
    // Without trusted XFF hops the remote address is the peer's: both are the direct one.
    {"DOWNSTREAM_REMOTE_ADDRESS", Op::kDownstreamRemoteAddress, kCommandOnly},
    {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", Op::kDownstreamRemoteAddress, kCommandOnly,
     AF::kWithoutPort},
    {"DOWNSTREAM_REMOTE_PORT", Op::kDownstreamRemoteAddress, kCommandOnly, AF::kPortOnly},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS", Op::kDownstreamRemoteAddress, kCommandOnly},
    {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT", Op::kDownstreamRemoteAddress, kCommandOnly,
     AF::kWithoutPort},
    {"DOWNSTREAM_DIRECT_REMOTE_PORT", Op::kDownstreamRemoteAddress, kCommandOnly, AF::kPortOnly},
    {"ROUTE_NAME", Op::kRouteName, kCommandOnly},
    {"CONNECTION_ID", Op::kConnectionId, kCommandOnly},
    {"HOSTNAME", Op::kConstant, kCommandOnly},
    {"ENVIRONMENT", Op::kConstant, kParamsRequired | kLengthAllowed},
    // Values pilotfish never has: no TLS (SNI, certificates), metadata or filter state yet.
    {"REQUESTED_SERVER_NAME", Op::kUnset, kCommandOnly},
    {"VIRTUAL_CLUSTER_NAME", Op::kUnset, kCommandOnly},
    {"FILTER_STATE", Op::kUnset, kParamsOptional | kLengthAllowed},
    {"UPSTREAM_FILTER_STATE", Op::kUnset, kParamsOptional | kLengthAllowed},
    {"DYNAMIC_METADATA", Op::kUnset, kParamsRequired | kLengthAllowed},
    {"CLUSTER_METADATA", Op::kUnset, kParamsRequired | kLengthAllowed},
    {"UPSTREAM_METADATA", Op::kUnset, kParamsRequired | kLengthAllowed},
    {"DOWNSTREAM_TRANSPORT_FAILURE_REASON", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_URI_SAN", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_LOCAL_URI_SAN", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_SUBJECT", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_LOCAL_SUBJECT", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_ISSUER", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_CERT", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_SERIAL", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_FINGERPRINT_1", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_PEER_FINGERPRINT_256", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_TLS_VERSION", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_TLS_CIPHER", Op::kUnset, kCommandOnly},
    {"DOWNSTREAM_TLS_SESSION_ID", Op::kUnset, kCommandOnly},
    {"UPSTREAM_PEER_URI_SAN", Op::kUnset, kCommandOnly},
    {"UPSTREAM_PEER_SUBJECT", Op::kUnset, kCommandOnly},
    {"UPSTREAM_PEER_ISSUER", Op::kUnset, kCommandOnly},
    {"UPSTREAM_PEER_CERT", Op::kUnset, kCommandOnly},
    {"UPSTREAM_TLS_VERSION", Op::kUnset, kCommandOnly},
    {"UPSTREAM_TLS_CIPHER", Op::kUnset, kCommandOnly},
    {"UPSTREAM_TLS_SESSION_ID", Op::kUnset, kCommandOnly},
};

absl::Status ParseHeaders(std::string_view name, std::string_view sub, Piece* p) {
  const size_t q = sub.find('?');
  std::string_view main = sub.substr(0, q), alt;
  if (q != std::string_view::npos) {
    alt = sub.substr(q + 1);
    if (alt.find('?') != std::string_view::npos) {
      return absl::InvalidArgumentError(
          std::string(name) + ": more than one alternative header in '" + std::string(sub) + "'");
    }
  }
  if (main.empty() || (q != std::string_view::npos && alt.empty())) {
    return absl::InvalidArgumentError(std::string(name) + ": empty header name");
  }
  p->text = ToLower(main);
  p->alt = ToLower(alt);
  return absl::OkStatus();
}

void ResolveConstant(std::string_view command, std::string_view sub, Piece* p) {
  if (command == "HOSTNAME") {
    char name[HOST_NAME_MAX + 1] = {};
    p->flag = gethostname(name, sizeof(name) - 1) == 0;
    p->text = name;
    return;
  }
  // ENVIRONMENT(KEY): Envoy prints "-" (a string) when the variable is not set.
  const char* v = std::getenv(std::string(sub).c_str());
  p->flag = true;
  p->text = v != nullptr ? v : "-";
  if (p->text.size() > p->max_length) p->text.resize(p->max_length);
}

}  // namespace

absl::StatusOr<Piece> ParseOperator(std::string_view command, std::string_view subcommand,
                                    bool has_length, size_t max_length) {
  const std::string name = "%" + std::string(command) + "%";
  const Spec* spec = nullptr;
  for (const Spec& s : kSpecs) {
    if (s.name == command) spec = &s;
  }
  if (spec == nullptr) {
    return absl::InvalidArgumentError("unknown command operator " + name +
                                      " (not supported by pilotfish)");
  }
  if (spec->syntax == kCommandOnly && (!subcommand.empty() || has_length)) {
    return absl::InvalidArgumentError(name + " does not take parameters or a length");
  }
  if ((spec->syntax & kParamsRequired) != 0 && subcommand.empty()) {
    return absl::InvalidArgumentError(name + " requires a parameter, e.g. " + std::string(command) +
                                      "(...)");
  }
  if ((spec->syntax & kLengthAllowed) == 0 && has_length) {
    return absl::InvalidArgumentError(name + " does not take a length");
  }
  Piece p;
  p.op = spec->op;
  p.form = spec->form;
  if (has_length) p.max_length = max_length;
  switch (p.op) {
    case Op::kStartTime:
      p.time = std::make_shared<const TimeFormat>(subcommand);
      break;
    case Op::kRequestHeader:
    case Op::kResponseHeader:
    case Op::kResponseTrailer:
      if (auto s = ParseHeaders(name, subcommand, &p); !s.ok()) return s;
      break;
    case Op::kResponseCodeDetails:
      p.flag = subcommand == "ALLOW_WHITESPACES";
      break;
    case Op::kConstant:
      ResolveConstant(command, subcommand, &p);
      break;
    default:
      break;
  }
  return p;
}

}  // namespace pilotfish::access_log
