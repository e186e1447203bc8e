// A route's (or virtual host's) retry_policy compiled once, when its route table is built:
// retry_on as bits and the retriable header matchers (RE2 included) ready to run, so a request
// pays for none of that parsing.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/router/matchers.h"

namespace pilotfish::router {

// retry_on conditions, one bit each.
enum RetryOn : uint32_t {
  k5xx = 1u << 0,
  kGatewayError = 1u << 1,
  kReset = 1u << 2,
  kConnectFailure = 1u << 3,
  kRetriable4xx = 1u << 4,
  kRetriableStatusCodes = 1u << 5,
  kRetriableHeaders = 1u << 6,
  kResetBeforeRequest = 1u << 7,
  kRefusedStream = 1u << 8,
  kEnvoyRateLimited = 1u << 9,
  kGrpcCancelled = 1u << 10,
  kGrpcDeadlineExceeded = 1u << 11,
  kGrpcResourceExhausted = 1u << 12,
  kGrpcInternal = 1u << 13,
  kGrpcUnavailable = 1u << 14,
};

// Parses a comma-separated retry_on list; unknown tokens are ignored (Envoy's behaviour for the
// x-envoy-retry-on request header; the config translator rejects them in policies).
uint32_t ParseRetryOn(std::string_view list);

class CompiledRetryPolicy {
 public:
  // Fails (naming the field) when a retriable header matcher does not compile.
  static absl::StatusOr<CompiledRetryPolicy> Create(const config::RetryPolicy& config);

  // The policy it was compiled from, which must outlive it (the route table owns both).
  const config::RetryPolicy& config() const { return *config_; }
  uint32_t retry_on() const { return retry_on_; }
  // retriable_headers: a response matching any of them is retried (with retriable-headers).
  bool MatchesRetriableHeaders(const http::ResponseHeaders& response) const;
  // retriable_request_headers: true when the policy has none, or the request matches one.
  bool RequestIsRetriable(const http::RequestHeaders& request) const;

 private:
  const config::RetryPolicy* config_ = nullptr;
  uint32_t retry_on_ = 0;
  // Only policies with header matchers (rare: Istio sets none) pay for them.
  struct Matchers {
    std::vector<HeaderMatcherImpl> response;
    std::vector<HeaderMatcherImpl> request;
  };
  std::unique_ptr<const Matchers> matchers_;  // nullptr: none
};

}  // namespace pilotfish::router
