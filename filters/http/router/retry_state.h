// Envoy's retry decision for one request: which failures and responses are retried (retry_on,
// retriable status codes and headers, x-envoy-retry-on / x-envoy-max-retries), how many times,
// and the fully jittered exponential back-off between attempts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/router/route_table.h"

namespace pilotfish::filters::router {

class RetryState {
 public:
  // Failures that happen before a response arrives.
  enum class Reset {
    kConnectFailure,         // the TCP connect failed or timed out
    kConnectionTermination,  // the connection closed or reset before the response headers
    kPerTryTimeout,          // the attempt's per_try_timeout or per_try_idle_timeout fired
    kOverflow,               // a circuit breaker refused the attempt: never retried
  };

  // The route's retry_policy wins over the virtual host's. Reads and removes the request's
  // x-envoy-retry-on, x-envoy-max-retries and x-envoy-retriable-status-codes headers, which
  // enable or widen retries on their own. nullptr when nothing asks for retries.
  static std::unique_ptr<RetryState> Create(const config::RetryPolicy* route_policy,
                                            const config::RetryPolicy* vhost_policy,
                                            http::RequestHeaders& headers);

  // Whether retry_on covers this failure / response (regardless of retries left).
  bool MatchesReset(Reset reset, bool request_sent) const;
  bool MatchesResponse(const http::ResponseHeaders& response) const;
  bool retries_left() const { return retries_left_ > 0; }
  // No more retries (e.g. the request body outgrew the replay buffer).
  void DisableRetries() { retries_left_ = 0; }
  // Takes one retry; returns how long to wait before it: a random time in
  // [0, (2^n - 1) * base_interval) for the n-th retry, capped at max_interval (10x base).
  std::chrono::milliseconds ConsumeRetry(uint64_t random);
  uint32_t retries_taken() const { return taken_; }

  std::optional<std::chrono::milliseconds> per_try_timeout() const { return per_try_timeout_; }
  // Time an attempt may go without a response byte once its request is sent (0: none).
  std::chrono::milliseconds per_try_idle_timeout() const {
    return policy_->per_try_idle_timeout.value_or(std::chrono::milliseconds(0));
  }
  bool previous_hosts_predicate() const { return policy_->previous_hosts_predicate; }
  int64_t host_selection_max_attempts() const { return policy_->host_selection_retry_max_attempts; }

  // retry_on bits.
  enum : uint32_t {
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
  // Parses a comma-separated retry_on list; unknown tokens are ignored (Envoy's behaviour for
  // the request header; the config translator rejects them in policies).
  static uint32_t ParseRetryOn(std::string_view list);
  uint32_t retry_on() const { return retry_on_; }

 private:
  RetryState() = default;

  // The route's (or virtual host's) policy, which the stream's route table keeps alive; a default
  // one when only request headers ask for retries. Not copied: Istio puts a policy on every route.
  const config::RetryPolicy* policy_ = nullptr;
  uint32_t retry_on_ = 0;
  uint32_t retries_left_ = 0;
  uint32_t taken_ = 0;
  std::vector<uint32_t> header_status_codes_;  // x-envoy-retriable-status-codes
  std::vector<::pilotfish::router::HeaderMatcherImpl> retriable_headers_;
  std::optional<std::chrono::milliseconds> per_try_timeout_;
};

}  // namespace pilotfish::filters::router
