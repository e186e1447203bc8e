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
#include "proxy/router/retry_policy.h"

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

  using Policy = ::pilotfish::router::CompiledRetryPolicy;
  // The route's retry_policy wins over the virtual host's (both compiled with their route
  // table, which outlives the request). Reads and removes the request's x-envoy-retry-on,
  // x-envoy-max-retries and x-envoy-retriable-status-codes headers, which enable or widen
  // retries on their own. nullptr when nothing asks for retries. `retry_headers` false: the
  // caller knows the request has no x-envoy-* header, so none is looked for.
  static std::unique_ptr<RetryState> Create(const Policy* route_policy, const Policy* vhost_policy,
                                            http::RequestHeaders& headers,
                                            bool retry_headers = true);

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
    return config().per_try_idle_timeout.value_or(std::chrono::milliseconds(0));
  }
  bool previous_hosts_predicate() const { return config().previous_hosts_predicate; }
  int64_t host_selection_max_attempts() const { return config().host_selection_retry_max_attempts; }

  // retry_on bits: RetryState::k5xx and the others.
  using enum ::pilotfish::router::RetryOn;
  static uint32_t ParseRetryOn(std::string_view list) {
    return ::pilotfish::router::ParseRetryOn(list);
  }
  uint32_t retry_on() const { return retry_on_; }

 private:
  RetryState() = default;
  const config::RetryPolicy& config() const { return policy_->config(); }
  // Create's part for the x-envoy-* retry request headers: applies them to `s`, strips them.
  static void ApplyRetryHeaders(const Policy* policy, http::RequestHeaders& headers, RetryState& s);

  // The route's (or virtual host's) policy, which the stream's route table keeps alive; a default
  // one when only request headers ask for retries. Not copied: Istio puts a policy on every route.
  const Policy* policy_ = nullptr;
  uint32_t retry_on_ = 0;
  uint32_t retries_left_ = 0;
  uint32_t taken_ = 0;
  std::vector<uint32_t> header_status_codes_;  // x-envoy-retriable-status-codes
  std::optional<std::chrono::milliseconds> per_try_timeout_;
};

}  // namespace pilotfish::filters::router
