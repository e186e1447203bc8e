// Envoy's HeaderMatcher, compiled once (its string matcher from proxy/matcher) and matched per
// request. Used by routes and by retry policies.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proxy/config/types.h"
#include "proxy/http/header_map.h"
#include "proxy/matcher/string_matcher.h"

namespace pilotfish::router {

using ::pilotfish::matcher::CompileRegex;
using ::pilotfish::matcher::StringMatcherImpl;

class HeaderMatcherImpl {
 public:
  static absl::StatusOr<HeaderMatcherImpl> Create(const config::HeaderMatcher& m);
  bool Matches(const http::RequestHeaders& headers) const;
  // Same matcher against a response (retriable_headers); ":status" is the status code.
  bool MatchesResponse(const http::ResponseHeaders& headers) const;
  bool MatchesValue(const std::string* value) const;

 private:
  config::HeaderMatcher config_;
  std::optional<StringMatcherImpl> string_;
};

}  // namespace pilotfish::router
