// CompiledRetryPolicy: a retry_policy's per-request work done once, at route table build.
#include "proxy/router/retry_policy.h"

#include "absl/strings/str_cat.h"
#include "proxy/common/str_util.h"

namespace pilotfish::router {
namespace {

struct Token {
  std::string_view name;
  uint32_t bit;
};
constexpr Token kTokens[] = {
    {"5xx", k5xx},
    {"gateway-error", kGatewayError},
    {"reset", kReset},
    {"connect-failure", kConnectFailure},
    {"retriable-4xx", kRetriable4xx},
    {"retriable-status-codes", kRetriableStatusCodes},
    {"retriable-headers", kRetriableHeaders},
    {"reset-before-request", kResetBeforeRequest},
    {"refused-stream", kRefusedStream},
    {"envoy-ratelimited", kEnvoyRateLimited},
    {"cancelled", kGrpcCancelled},
    {"deadline-exceeded", kGrpcDeadlineExceeded},
    {"resource-exhausted", kGrpcResourceExhausted},
    {"internal", kGrpcInternal},
    {"unavailable", kGrpcUnavailable},
};

absl::Status CompileAll(const std::vector<config::HeaderMatcher>& in, const char* field,
                        std::vector<HeaderMatcherImpl>* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    auto m = HeaderMatcherImpl::Create(in[i]);
    if (!m.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("retry_policy.", field, "[", i, "]: ", m.status().message()));
    }
    out->push_back(std::move(*m));
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t ParseRetryOn(std::string_view list) {
  uint32_t bits = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view token = TrimWhitespace(list.substr(0, comma));
    for (const Token& t : kTokens) {
      if (t.name == token) bits |= t.bit;
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return bits;
}

absl::StatusOr<CompiledRetryPolicy> CompiledRetryPolicy::Create(const config::RetryPolicy& config) {
  CompiledRetryPolicy p;
  p.config_ = &config;
  for (const std::string& t : config.retry_on) p.retry_on_ |= ParseRetryOn(t);
  if (!config.retriable_headers.empty() || !config.retriable_request_headers.empty()) {
    auto m = std::make_unique<Matchers>();
    if (auto s = CompileAll(config.retriable_headers, "retriable_headers", &m->response); !s.ok()) {
      return s;
    }
    if (auto s =
            CompileAll(config.retriable_request_headers, "retriable_request_headers", &m->request);
        !s.ok()) {
      return s;
    }
    p.matchers_ = std::move(m);
  }
  return p;
}

bool CompiledRetryPolicy::MatchesRetriableHeaders(const http::ResponseHeaders& response) const {
  if (matchers_ == nullptr) return false;
  for (const HeaderMatcherImpl& m : matchers_->response) {
    if (m.MatchesResponse(response)) return true;
  }
  return false;
}

bool CompiledRetryPolicy::RequestIsRetriable(const http::RequestHeaders& request) const {
  if (matchers_ == nullptr || matchers_->request.empty()) return true;
  for (const HeaderMatcherImpl& m : matchers_->request) {
    if (m.Matches(request)) return true;
  }
  return false;
}

}  // namespace pilotfish::router
