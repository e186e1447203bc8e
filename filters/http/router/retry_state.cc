// RetryState: retry_on evaluation and back-off, as Envoy's router does it.
#include "filters/http/router/retry_state.h"

#include <algorithm>

#include "proxy/common/str_util.h"

namespace pilotfish::filters::router {
namespace {

void ParseCodes(std::string_view list, std::vector<uint32_t>* out) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    uint32_t code;
    if (ParseInt(TrimWhitespace(list.substr(0, comma)), &code)) out->push_back(code);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

bool Contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::unique_ptr<RetryState> RetryState::Create(const Policy* route_policy,
                                               const Policy* vhost_policy,
                                               http::RequestHeaders& headers, bool retry_headers) {
  const Policy* policy = route_policy != nullptr ? route_policy : vhost_policy;
  if (policy == nullptr && !retry_headers) return nullptr;
  static const config::RetryPolicy kNoConfig;
  static const Policy kNoPolicy = *Policy::Create(kNoConfig);
  // Built on the stack: most requests end up with no retry state, and then allocate nothing.
  RetryState s;
  s.policy_ = policy != nullptr ? policy : &kNoPolicy;
  if (policy != nullptr) {
    s.retry_on_ = policy->retry_on();
    s.retries_left_ = policy->config().num_retries;
    s.per_try_timeout_ = policy->config().per_try_timeout;
    // retriable_request_headers: only requests matching one of them are retried.
    if (!policy->RequestIsRetriable(headers)) s.retry_on_ = 0;
  }
  if (retry_headers) ApplyRetryHeaders(policy, headers, s);
  if (s.retry_on_ == 0 && !s.per_try_timeout_ && s.per_try_idle_timeout().count() == 0) {
    return nullptr;
  }
  return std::unique_ptr<RetryState>(new RetryState(std::move(s)));
}

void RetryState::ApplyRetryHeaders(const Policy* policy, http::RequestHeaders& headers,
                                   RetryState& s) {
  // The request headers Envoy honours (then strips): they enable retries without a policy.
  if (const std::string* on = headers.headers.Get("x-envoy-retry-on")) {
    s.retry_on_ |= ParseRetryOn(*on);
    if (policy == nullptr) s.retries_left_ = 1;
  }
  if (const std::string* codes = headers.headers.Get("x-envoy-retriable-status-codes")) {
    ParseCodes(*codes, &s.header_status_codes_);
  }
  if (const std::string* max = headers.headers.Get("x-envoy-max-retries")) {
    uint32_t n;
    if (ParseInt(std::string_view(*max), &n)) s.retries_left_ = n;
  }
  if (const std::string* t = headers.headers.Get("x-envoy-upstream-rq-per-try-timeout-ms")) {
    uint64_t ms;
    if (ParseInt(std::string_view(*t), &ms)) s.per_try_timeout_ = std::chrono::milliseconds(ms);
  }
  headers.headers.RemoveAll({"x-envoy-retry-on", "x-envoy-retriable-status-codes",
                             "x-envoy-max-retries", "x-envoy-upstream-rq-per-try-timeout-ms"});
}

bool RetryState::MatchesReset(Reset reset, bool request_sent) const {
  switch (reset) {
    case Reset::kOverflow:
      return false;
    case Reset::kConnectFailure:
      return (retry_on_ &
              (k5xx | kGatewayError | kReset | kConnectFailure | kResetBeforeRequest)) != 0;
    case Reset::kConnectionTermination:
      if ((retry_on_ & kResetBeforeRequest) != 0 && !request_sent) return true;
      return (retry_on_ & (k5xx | kGatewayError | kReset)) != 0;
    case Reset::kPerTryTimeout:
      return (retry_on_ & (k5xx | kGatewayError | kReset)) != 0;
  }
  return false;
}

bool RetryState::MatchesResponse(const http::ResponseHeaders& r) const {
  const int s = r.status;
  if ((retry_on_ & k5xx) && s >= 500 && s < 600) return true;
  if ((retry_on_ & kGatewayError) && (s == 502 || s == 503 || s == 504)) return true;
  if ((retry_on_ & kRetriable4xx) && s == 409) return true;
  if ((retry_on_ & kEnvoyRateLimited) && r.headers.Has("x-envoy-ratelimited")) return true;
  if ((retry_on_ & kRetriableStatusCodes) &&
      (Contains(config().retriable_status_codes, static_cast<uint32_t>(s)) ||
       Contains(header_status_codes_, static_cast<uint32_t>(s)))) {
    return true;
  }
  if ((retry_on_ & kRetriableHeaders) && policy_->MatchesRetriableHeaders(r)) return true;
  if (const std::string* g = r.headers.Get("grpc-status")) {
    int code;
    if (ParseInt(std::string_view(*g), &code)) {
      if ((retry_on_ & kGrpcCancelled) && code == 1) return true;
      if ((retry_on_ & kGrpcDeadlineExceeded) && code == 4) return true;
      if ((retry_on_ & kGrpcResourceExhausted) && code == 8) return true;
      if ((retry_on_ & kGrpcInternal) && code == 13) return true;
      if ((retry_on_ & kGrpcUnavailable) && code == 14) return true;
    }
  }
  return false;
}

std::chrono::milliseconds RetryState::ConsumeRetry(uint64_t random) {
  --retries_left_;
  ++taken_;
  const uint64_t base = static_cast<uint64_t>(std::max<int64_t>(1, config().base_interval.count()));
  const uint64_t cap =
      config().max_interval ? static_cast<uint64_t>(config().max_interval->count()) : base * 10;
  // Envoy's JitteredExponentialBackOffStrategy: uniform over the exponential window, capped.
  const uint32_t n = std::min<uint32_t>(taken_, 30);
  const uint64_t window = ((uint64_t{1} << n) - 1) * base;
  return std::chrono::milliseconds(std::min(random % window, cap));
}

}  // namespace pilotfish::filters::router
